import Foundation
import Methods

extension Diff {
  /// A paired Student-t analysis of per-seed differences d₁…dₙ: mean, standard error and a two-sided
  /// interval whose sides are each a one-sided test at ``level``.
  ///
  /// With `level` = 0.05 the interval is the two-sided 90% interval mean ± t₀.₉₅,ₙ₋₁·s/√n: its lower
  /// bound above 0 is a one-sided 5% test of "d > 0", its upper bound below 0 one of "d < 0". Group-
  /// sequential looks use a smaller nominal level (``SequentialDesign/nominalLevels()``).
  public struct PairedInterval: Sendable, Equatable {
    /// The number of differences.
    public var n: Int
    /// Their mean; nil when n = 0.
    public var mean: Double?
    /// s/√n (sample standard deviation, n − 1 in the denominator); nil when n < 2.
    public var standardError: Double?
    /// The one-sided level of each side.
    public var level: Double
    /// The t critical value t₁₋ₗₑᵥₑₗ,ₙ₋₁; nil when n < 2.
    public var critical: Double?
    /// The interval's bounds; nil when n < 2.
    public var low: Double?, high: Double?

    /// The analysis of `differences` at one-sided `level` per side; `critical` overrides the t quantile
    /// (a group-sequential look's calibrated value, ``SequentialDesign/criticalT(look:pairs:)``).
    public init(_ differences: [Double], level: Double = 0.05, critical given: Double? = nil) {
      n = differences.count
      self.level = level
      guard n > 0 else { return }
      let m = differences.reduce(0, +) / Double(n)
      mean = m
      guard n > 1 else { return }
      let variance = differences.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n - 1)
      let se = (variance / Double(n)).squareRoot()
      let t = given ?? Statistics.studentTQuantile(1 - level, degreesOfFreedom: Double(n - 1))
      standardError = se
      critical = t
      low = m - t * se
      high = m + t * se
    }

    /// The one-sided p-value of "the true mean is ≤ `threshold`" against "> threshold":
    /// P(T ≥ (mean − threshold)/SE); nil when n < 2. A zero standard error gives 0 or 1 (or 0.5 at equality).
    public func pAbove(_ threshold: Double = 0) -> Double? {
      guard let mean, let se = standardError else { return nil }
      let diff = mean - threshold
      if se == 0 { return diff > 0 ? 0 : diff < 0 ? 1 : 0.5 }
      return 1 - Statistics.studentTCDF(diff / se, degreesOfFreedom: Double(n - 1))
    }

    /// The one-sided p-value of "the true mean is ≥ `threshold`" against "< threshold".
    public func pBelow(_ threshold: Double = 0) -> Double? {
      guard let mean, let se = standardError else { return nil }
      let diff = mean - threshold
      if se == 0 { return diff < 0 ? 0 : diff > 0 ? 1 : 0.5 }
      return Statistics.studentTCDF(diff / se, degreesOfFreedom: Double(n - 1))
    }
  }

  /// Holm's step-down procedure over one-sided tests, each with its own level (all 0.05 for fixed-seed
  /// settings; a look's nominal level for group-sequential ones): sort by p/level ascending and reject
  /// the j-th (1-based) while p ≤ level/(m − j + 1). `m` counts every test, including those without a
  /// p-value (they are never rejected), so a claim's settings cannot be thinned to weaken the correction.
  /// Returns the indices rejected.
  public static func holmRejections(_ tests: [(p: Double?, level: Double)]) -> Set<Int> {
    let m = tests.count
    let ordered = tests.indices.filter { tests[$0].p != nil }.sorted { a, b in
      let ra = tests[a].p! / tests[a].level
      let rb = tests[b].p! / tests[b].level
      return ra != rb ? ra < rb : a < b
    }
    var rejected: Set<Int> = []
    for (j, i) in ordered.enumerated() {
      guard tests[i].p! <= tests[i].level / Double(m - j) else { break }
      rejected.insert(i)
    }
    return rejected
  }
}
