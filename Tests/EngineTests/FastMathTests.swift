import Engine
import Foundation
import Testing
import _ReplicateTestSupport

@Suite("FastMath")
struct FastMathTests {
  /// log2 over every binade of the normal floats (16 mantissas each) against Foundation in double.
  @Test func log2AcrossTheNormalRange() {
    var worst = 0.0
    for e in -126...127 {
      let values = (0..<16).map { Float(sign: .plus, exponent: e, significand: 1 + Float($0) / 16) }
      for half in [values[0..<8], values[8..<16]] {
        let got = FastMath.log2(FastMath.Lanes(half))
        for (k, v) in half.enumerated() {
          let exact = Foundation.log2(Double(v))
          worst = max(worst, abs(Double(got[k]) - exact) / max(abs(exact), 1))
        }
      }
    }
    #expect(worst < 3e-7, "worst relative error \(worst)")
  }

  /// exp2 on [−126, 0] in steps of 1/64, against Foundation; below −126 it is 0.
  @Test func exp2OnTheNegativeHalfLine() {
    var worst = 0.0
    for start in stride(from: -126.0, to: 0, by: 8.0 / 64) {
      let ys = (0..<8).map { Float(start + Double($0) / 64) }
      let got = FastMath.exp2(FastMath.Lanes(ys))
      for k in 0..<8 {
        let exact = Foundation.exp2(Double(ys[k]))
        worst = max(worst, abs(Double(got[k]) - exact) / exact)
      }
    }
    #expect(worst < 3e-7, "worst relative error \(worst)")
    #expect(FastMath.exp2(FastMath.Lanes(repeating: -127)) == FastMath.Lanes(repeating: 0))
    #expect(FastMath.exp2(FastMath.Lanes(repeating: 0)) == FastMath.Lanes(repeating: 1))
  }

  /// r^q for r ∈ [0, 1] and the orders of the ℓp schedule, within |q·log2 r|·2⁻²³ plus a few ulps.
  @Test(arguments: [0.0, 0.5, 1.5, 7.0, 63.5, 999.0])
  func pow01MatchesPow(q: Double) {
    var s = RandomKey(seed: 3).stream()
    for _ in 0..<2000 {
      let r = s.nextFloat()
      let got = Double(FastMath.pow01(r, Float(q)))
      let exact = r == 0 ? 0 : Foundation.pow(Double(r), q)
      guard exact > 1e-30 else {
        #expect(got < 1e-29)
        continue
      }
      let bound = 4e-7 + abs(q * Foundation.log2(Double(r))) * 1.2e-7
      #expect(abs(got - exact) / exact < bound, "r \(r) q \(q): \(got) vs \(exact)")
    }
    #expect(FastMath.pow01(0, Float(q)) == 0)
    #expect(FastMath.pow01(1, Float(q)) == 1)
  }
}
