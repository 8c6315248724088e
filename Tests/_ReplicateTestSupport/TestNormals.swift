import Foundation

/// A seeded SplitMix64 stream with Box–Muller normals, for Monte Carlo tests: the tests own the mapping
/// from bits to floats (the standard library's `random(in:using:)` mapping is unspecified).
public struct TestNormals {
  var state: UInt64
  var spare: Double?

  /// A stream from `seed`.
  public init(seed: UInt64) { state = seed }

  /// The next 64 random bits (SplitMix64).
  public mutating func nextBits() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform on (0, 1]: 53 random bits.
  public mutating func nextUniform() -> Double { (Double(nextBits() >> 11) + 1) * 0x1p-53 }

  /// A standard normal (Box–Muller; the second value of each pair is kept for the next call).
  public mutating func nextNormal() -> Double {
    if let z = spare {
      spare = nil
      return z
    }
    let radius = (-2 * log(nextUniform())).squareRoot()
    let angle = 2 * Double.pi * nextUniform()
    spare = radius * sin(angle)
    return radius * cos(angle)
  }
}
