import Foundation
import Methods
import Testing
import _ReplicateTestSupport

/// Student t CDF and quantile against closed forms (ν = 1, 2), SciPy's `t.ppf`/`t.cdf`, and the
/// normal limit.
@Suite struct StudentTTests {
  /// (p, ν, SciPy `t.ppf(p, ν)`); ν = 1 and 2 rows are also closed forms.
  static let quantiles: [(p: Double, nu: Double, expected: Double)] = [
    (0.95, 1, 6.313751514675037),
    (0.95, 2, 2.9199855803537242),
    (0.95, 4, 2.1318467863266495),
    (0.95, 7, 1.8945786050900062),
    (0.975, 2, 4.302652729749462),
    (0.975, 9, 2.262157162798205),
    (0.99, 30, 2.457261542400591),
    (0.999, 3, 10.214531852407383),
    (1e-10, 1, -3_183_098_861.8379064),
    (0.6, 2.5, 0.2814595127485477),
    (0.995, 0.5, 4113.964588804174),
    (0.9, 1e6, 1.281552412129939),
  ]

  @Test func quantilesMatchPublishedValues() {
    for (p, nu, expected) in Self.quantiles {
      expectApprox(
        Statistics.studentTQuantile(p, degreesOfFreedom: nu), expected, abs: 0, rel: 1e-12, "p \(p), ν \(nu)")
    }
    // Textbook tables (4–6 digits).
    expectApprox(Statistics.studentTQuantile(0.99, degreesOfFreedom: 30), 2.457261, abs: 1e-6, rel: 0)
    expectApprox(Statistics.studentTQuantile(0.975, degreesOfFreedom: 9), 2.262157162799, abs: 1e-11, rel: 0)
  }

  @Test func cdfMatchesSciPy() {
    let cases: [(t: Double, nu: Double, expected: Double)] = [
      (1.5, 3, 0.8847080673775886),
      (-2.0, 5.5, 0.04837719511559252),
      (0.3, 1, 0.5927735790777423),
      (10, 2, 0.9950737714883372),
      (-40, 4, 1.1670081613006339e-06),
      (0.01, 100, 0.5039793948827858),
      (3, 1e5, 0.9986497695579677),
    ]
    for (t, nu, expected) in cases {
      expectApprox(Statistics.studentTCDF(t, degreesOfFreedom: nu), expected, abs: 0, rel: 1e-12, "t \(t), ν \(nu)")
    }
  }

  /// ν = 1 (Cauchy): F(t) = 1/2 + atan(t)/π; ν = 2: F(t) = 1/2 + t / (2·√(2 + t²)).
  @Test(arguments: [1.0, 2.0]) func cdfAndQuantileMatchClosedForms(nu: Double) {
    func closedCDF(_ t: Double) -> Double {
      nu == 1 ? 0.5 + atan(t) / Double.pi : 0.5 + t / (2 * (2 + t * t).squareRoot())
    }
    func closedQuantile(_ p: Double) -> Double {
      nu == 1 ? tan(Double.pi * (p - 0.5)) : (2 * p - 1) / (2 * p * (1 - p)).squareRoot()
    }
    for t in stride(from: -30.0, through: 30.0, by: 0.37) {
      expectApprox(Statistics.studentTCDF(t, degreesOfFreedom: nu), closedCDF(t), abs: 1e-15, rel: 1e-13, "t \(t)")
    }
    for p in stride(from: 0.01, through: 0.99, by: 0.0123) {
      expectApprox(
        Statistics.studentTQuantile(p, degreesOfFreedom: nu), closedQuantile(p), abs: 1e-13, rel: 1e-12, "p \(p)")
    }
  }

  @Test func symmetryAndEdges() {
    for nu in [0.3, 1, 2, 4.5, 17, 300] {
      for t in [0.1, 0.9, 2.5, 7, 1e3] {
        let lower = Statistics.studentTCDF(-t, degreesOfFreedom: nu)
        let upper = Statistics.studentTCDF(t, degreesOfFreedom: nu)
        #expect(lower >= 0 && lower < 0.5 && upper == 1 - lower)  // the tail is computed once
      }
      for p in [0.5 + 1e-9, 0.51, 0.7, 0.99, 1 - 1e-8] {
        // 1 − p is exact for p ≥ 1/2, so both calls invert the same tail probability.
        #expect(
          Statistics.studentTQuantile(p, degreesOfFreedom: nu) == -Statistics.studentTQuantile(
            1 - p, degreesOfFreedom: nu))
      }
      #expect(Statistics.studentTCDF(0, degreesOfFreedom: nu) == 0.5)
      #expect(Statistics.studentTQuantile(0.5, degreesOfFreedom: nu) == 0)
      #expect(Statistics.studentTQuantile(0, degreesOfFreedom: nu) == -.infinity)
      #expect(Statistics.studentTQuantile(1, degreesOfFreedom: nu) == .infinity)
      #expect(Statistics.studentTCDF(.infinity, degreesOfFreedom: nu) == 1)
      #expect(Statistics.studentTCDF(-.infinity, degreesOfFreedom: nu) == 0)
      #expect(Statistics.studentTCDF(.nan, degreesOfFreedom: nu).isNaN)
      #expect(Statistics.studentTQuantile(.nan, degreesOfFreedom: nu).isNaN)
    }
  }

  /// CDF(quantile(p)) = p over a sweep of p (both tails, down to 1e-12) and ν (fractional, small, large).
  @Test(arguments: [0.5, 1, 1.5, 2, 3, 4, 7, 12.5, 30, 100, 1e4])
  func cdfInvertsQuantile(nu: Double) {
    let ps = [1e-12, 1e-6, 1e-3, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.49, 0.5, 0.51, 0.7, 0.9, 0.975, 0.999]
    for p in ps {
      let t = Statistics.studentTQuantile(p, degreesOfFreedom: nu)
      // Compare on the smaller tail, where the probability carries its full relative precision.
      let tail =
        p < 0.5 ? Statistics.studentTCDF(t, degreesOfFreedom: nu) : 1 - Statistics.studentTCDF(t, degreesOfFreedom: nu)
      expectApprox(tail, min(p, 1 - p), abs: 0, rel: 1e-11, "ν \(nu), p \(p), t \(t)")
    }
  }

  /// As ν → ∞ the t distribution tends to the normal: the quantile gap is O(1/ν) (Cornish–Fisher:
  /// t_p = z + (z³ + z)/(4ν) + (5z⁵ + 16z³ + 3z)/(96ν²) + O(ν⁻³)), and ν = ∞ is the normal itself.
  @Test func largeDegreesOfFreedomTendToNormal() {
    for p in [0.001, 0.05, 0.3, 0.8, 0.975] {
      let z = Statistics.normalQuantile(p)
      for nu in [1e3, 1e4, 1e5, 1e6] {
        let t = Statistics.studentTQuantile(p, degreesOfFreedom: nu)
        let z3 = z * z * z
        let cornishFisher = z + (z3 + z) / (4 * nu) + (5 * z3 * z * z + 16 * z3 + 3 * z) / (96 * nu * nu)
        // Rounding ν/(ν+t²) near 1 costs about ν·1e-16 (see studentTCDF).
        expectApprox(t, cornishFisher, abs: 1e-12 + nu * 1e-16 + 1e3 / (nu * nu * nu), rel: 0, "p \(p), ν \(nu)")
      }
      #expect(Statistics.studentTQuantile(p, degreesOfFreedom: .infinity) == z)
      #expect(Statistics.studentTCDF(z, degreesOfFreedom: .infinity) == Statistics.normalCDF(z))
    }
  }
}
