import Foundation
import Methods
import Testing
import _ReplicateTestSupport

@testable import Harness

/// A Monte Carlo rate with its standard error.
private struct Rate {
  var hits: Int
  var replications: Int
  var value: Double { Double(hits) / Double(replications) }
  var standardError: Double { (value * (1 - value) / Double(replications)).squareRoot() }
}

/// Simulates paired differences d ~ N(0, 1) under the null, cumulative over `looks`, and counts the
/// replications where `crosses(look, n, sum, sumOfSquares)` holds at some look.
private func nullRate(
  looks: [Int], replications: Int, seed: UInt64, crosses: (Int, Int, Double, Double) -> Bool
) -> Rate {
  var normals = TestNormals(seed: seed)
  var hits = 0
  for _ in 0..<replications {
    var (sum, squares, n) = (0.0, 0.0, 0)
    var crossed = false
    for (k, look) in looks.enumerated() {
      while n < look {
        let d = normals.nextNormal()
        sum += d
        squares += d * d
        n += 1
      }
      if !crossed && crosses(k, n, sum, squares) { crossed = true }
    }
    if crossed { hits += 1 }
  }
  return Rate(hits: hits, replications: replications)
}

/// The one-sample t statistic mean / SE from the sum and the sum of squares of n values.
private func tStatistic(n: Int, sum: Double, squares: Double) -> Double {
  let mean = sum / Double(n)
  let variance = (squares - sum * mean) / Double(n - 1)
  return mean / (variance / Double(n)).squareRoot()
}

@Suite struct GroupSequentialTests {
  /// One row of Jennison & Turnbull (2000), Tables 2.1 (Pocock C_P) and 2.3 (O'Brien–Fleming C_B, the
  /// final boundary), equally spaced looks; one-sided α = 0.025 and 0.05 are their two-sided 0.05 and
  /// 0.10 (the double-crossing probability is far below the third decimal).
  struct Published: Sendable, CustomTestStringConvertible {
    var alpha: Double
    var boundary: SequentialDesign.Boundary
    var looks: Int
    var constant: Double
    var testDescription: String { "\(boundary.rawValue) K=\(looks) α=\(alpha)" }
  }

  static let published: [Published] = [
    .init(alpha: 0.025, boundary: .pocock, looks: 2, constant: 2.178),
    .init(alpha: 0.025, boundary: .pocock, looks: 3, constant: 2.289),
    .init(alpha: 0.025, boundary: .pocock, looks: 4, constant: 2.361),
    .init(alpha: 0.025, boundary: .pocock, looks: 5, constant: 2.413),
    .init(alpha: 0.025, boundary: .obrienFleming, looks: 2, constant: 1.977),
    .init(alpha: 0.025, boundary: .obrienFleming, looks: 3, constant: 2.004),
    .init(alpha: 0.025, boundary: .obrienFleming, looks: 4, constant: 2.024),
    .init(alpha: 0.025, boundary: .obrienFleming, looks: 5, constant: 2.040),
    .init(alpha: 0.05, boundary: .pocock, looks: 2, constant: 1.875),
    .init(alpha: 0.05, boundary: .pocock, looks: 3, constant: 1.992),
    .init(alpha: 0.05, boundary: .pocock, looks: 4, constant: 2.067),
    .init(alpha: 0.05, boundary: .pocock, looks: 5, constant: 2.122),
    .init(alpha: 0.05, boundary: .obrienFleming, looks: 2, constant: 1.678),
    .init(alpha: 0.05, boundary: .obrienFleming, looks: 3, constant: 1.710),
    .init(alpha: 0.05, boundary: .obrienFleming, looks: 4, constant: 1.733),
    .init(alpha: 0.05, boundary: .obrienFleming, looks: 5, constant: 1.751),
  ]

  @Test(arguments: published)
  func constantsMatchJennisonTurnbull(_ row: Published) {
    let design = SequentialDesign(looks: Array(1...row.looks).map { 2 * $0 }, boundary: row.boundary, alpha: row.alpha)
    let z = design.zBoundaries()
    // The published constants are rounded to three decimals.
    expectApprox(z.last!, row.constant, abs: 0.0005, rel: 0)
    if row.boundary == .pocock { #expect(Set(z).count == 1) }
  }

  /// Seven-digit constants (our recursion at a finer grid, whose crossing probabilities SciPy's
  /// multivariate normal CDF confirms to 4e-8), including unequal looks.
  @Test func constantsToSevenDigits() {
    let cases: [([Int], SequentialDesign.Boundary, Double, Double)] = [
      ([3, 5, 8], .pocock, 0.05, 1.983_490_953),
      ([3, 5, 8], .obrienFleming, 0.05, 1.705_408_442),
      ([3, 6], .pocock, 0.05, 1.875_423_280),
      ([3, 6], .obrienFleming, 0.05, 1.677_952_743),
      ([2, 4, 6, 8, 10, 12], .pocock, 0.05, 2.163_583_303),
      ([2, 4, 6, 8, 10, 12], .obrienFleming, 0.05, 1.764_891_501),
    ]
    for (looks, boundary, alpha, constant) in cases {
      let z = SequentialDesign(looks: looks, boundary: boundary, alpha: alpha).zBoundaries()
      expectApprox(z.last!, constant, abs: 1e-6, rel: 0, "\(looks) \(boundary)")
    }
    let k6 = SequentialDesign(looks: [2, 4, 6, 8, 10, 12], boundary: .pocock, alpha: 0.025).zBoundaries()
    expectApprox(k6[0], 2.453_217_785, abs: 1e-6, rel: 0)
    let obf6 = SequentialDesign(looks: [2, 4, 6, 8, 10, 12], boundary: .obrienFleming, alpha: 0.025).zBoundaries()
    expectApprox(obf6.last!, 2.052_793_083, abs: 1e-6, rel: 0)
  }

  @Test func boundaryShapesAndNominalLevels() {
    let obf = SequentialDesign(looks: [3, 5, 8], boundary: .obrienFleming)
    let z = obf.zBoundaries()
    let t = obf.informationFractions
    #expect(t == [3.0 / 8, 5.0 / 8, 1])
    for k in z.indices { expectApprox(z[k] * t[k].squareRoot(), z.last!, abs: 1e-12, rel: 0) }
    expectApprox(obf.nominalLevels(), z.map { Statistics.normalCDF(-$0) }, abs: 0, rel: 1e-15)
    // The crossing probability at the boundaries is alpha.
    for design in [obf, SequentialDesign(looks: [3, 5, 8], boundary: .pocock)] {
      let p = SequentialDesign.upperCrossingProbability(
        boundaries: design.zBoundaries(), fractions: design.informationFractions)
      expectApprox(p, 0.05, abs: 1e-12, rel: 0)
    }
  }

  @Test(arguments: [0.01, 0.025, 0.05, 0.1])
  func oneLookIsTheNormalQuantile(alpha: Double) {
    for boundary in SequentialDesign.Boundary.allCases {
      let design = SequentialDesign(looks: [5], boundary: boundary, alpha: alpha)
      #expect(design.zBoundaries() == [Statistics.normalQuantile(1 - alpha)])
      expectApprox(design.nominalLevels()[0], alpha, abs: 0, rel: 1e-12)
      // With one look the t-test at level α is already exact.
      expectApprox(
        design.criticalT(look: 0, pairs: 5), Statistics.studentTQuantile(1 - alpha, degreesOfFreedom: 4),
        abs: 0, rel: 1e-12)
    }
  }

  /// Doubling the grid density moves the crossing probability by less than 1e-8; K = 6 stays well
  /// under the 50 ms budget (about 5 ms in a release build) and the result is deterministic.
  @Test func accurateFastAndDeterministic() {
    for boundary in SequentialDesign.Boundary.allCases {
      let design = SequentialDesign(looks: [3, 5, 8], boundary: boundary)
      let b = design.zBoundaries()
      let t = design.informationFractions
      let fine = SequentialDesign.upperCrossingProbability(boundaries: b, fractions: t, refinement: 24)
      expectApprox(fine, 0.05, abs: 1e-8, rel: 0, "\(boundary)")
    }
    let six = SequentialDesign(looks: [2, 4, 6, 8, 10, 12], boundary: .obrienFleming)
    let clock = ContinuousClock()
    var first: [Double] = []
    let elapsed = clock.measure { first = six.zBoundaries() }
    #expect(six.zBoundaries() == first)
    #expect(elapsed < .seconds(1), "debug-build time \(elapsed)")
  }

  /// The standardised statistics Z_k = S_k/√n_k of iid N(0, 1) differences are exactly the canonical
  /// process, so a seeded simulation must cross the upper boundary with probability alpha.
  @Test(arguments: SequentialDesign.Boundary.allCases)
  func monteCarloCrossingRateIsAlpha(boundary: SequentialDesign.Boundary) {
    let design = SequentialDesign(looks: [3, 5, 8], boundary: boundary)
    let z = design.zBoundaries()
    let rate = nullRate(looks: design.looks, replications: 60_000, seed: 20_240_611) { k, n, sum, _ in
      sum / Double(n).squareRoot() >= z[k]
    }
    #expect(abs(rate.value - 0.05) <= 4 * rate.standardError, "rate \(rate.value) ± \(rate.standardError)")
  }

  @Test func summaryAndValidation() {
    #expect(
      SequentialDesign(looks: [3, 5, 8], boundary: .pocock).summary
        == "Pocock group-sequential design, looks at 3, 5, 8 paired seeds, 5% per side over all looks"
        + " (t-tests at nominal one-sided level 2.12% per look)")
    #expect(
      SequentialDesign(looks: [3, 5, 8], boundary: .obrienFleming, alpha: 0.025).summary
        == "O'Brien–Fleming group-sequential design, looks at 3, 5, 8 paired seeds, 2.5% per side over all looks"
        + " (t-tests at nominal one-sided levels 0.047%, 0.52%, 2.15%)")
    #expect(SequentialDesign.Boundary(rawValue: "obrien-fleming") == .obrienFleming)
    #expect(SequentialDesign.problem(looks: [3, 5, 8], alpha: 0.05) == nil)
    #expect(SequentialDesign.problem(looks: [], alpha: 0.05) != nil)
    #expect(SequentialDesign.problem(looks: [1, 5], alpha: 0.05)?.contains("at least 2") == true)
    #expect(SequentialDesign.problem(looks: [3, 3], alpha: 0.05)?.contains("strictly increasing") == true)
    #expect(SequentialDesign.problem(looks: [3, 6], alpha: 0.5)?.contains("alpha") == true)
  }

  // MARK: t-based decisions

  static let tDesigns: [SequentialDesign] = [[3, 5, 8], [3, 6]].flatMap { looks in
    SequentialDesign.Boundary.allCases.map { SequentialDesign(looks: looks, boundary: $0) }
  }

  /// The chain that gives the t-based procedure's exact rate agrees with a 16-million-replication
  /// simulation of the uncalibrated significance-level approach (t quantile at the z design's nominal
  /// level): 5.519%, 5.374% (looks 3, 5, 8: Pocock, O'Brien–Fleming) and 5.353%, 5.272% (looks 3, 6),
  /// each ± 0.006%.
  @Test func tChainMatchesLargeSimulationOfTheNominalApproach() {
    let simulated = [0.055_188_1, 0.053_744_1, 0.053_525_9, 0.052_717_1]
    for (design, rate) in zip(Self.tDesigns, simulated) {
      let critical = design.nominalLevels().enumerated().map { k, level in
        -Statistics.studentTQuantile(level, degreesOfFreedom: Double(design.looks[k] - 1))
      }
      let exact = SequentialDesign.tCrossingProbability(looks: design.looks, criticalValues: critical)
      expectApprox(exact, rate, abs: 2e-4, rel: 0, design.summary)
    }
  }

  /// The calibrated critical values make the chain's rate alpha, and they are stricter than the
  /// uncalibrated ones.
  @Test(arguments: tDesigns)
  func calibratedCriticalValuesSpendExactlyAlpha(design: SequentialDesign) {
    let critical = design.looks.indices.map { design.criticalT(look: $0, pairs: design.looks[$0]) }
    expectApprox(
      SequentialDesign.tCrossingProbability(looks: design.looks, criticalValues: critical), 0.05, abs: 1e-9, rel: 0)
    for (calibrated, nominal) in zip(design.calibratedNominalLevels(), design.nominalLevels()) {
      #expect(calibrated < nominal)
    }
    // A look reached with a seed short keeps the look's level at the lower degrees of freedom.
    #expect(design.criticalT(look: 1, pairs: design.looks[1] - 1) > design.criticalT(look: 1, pairs: design.looks[1]))
    #expect(design.criticalT(look: 0, pairs: 1) == .infinity)
  }

  /// The real one-sided rate P(held at some look) of the t-based decisions under the null, simulated
  /// with a seeded generator, must not exceed alpha beyond Monte Carlo error (nor fall far below it).
  ///
  /// Measured here (40,000 replications, SE 0.11%): 5.16%, 5.18% (looks 3, 5, 8: Pocock,
  /// O'Brien–Fleming) and 5.06%, 5.12% (looks 3, 6); the same replications with the uncalibrated
  /// critical values give 5.65%, 5.55%, 5.42%, 5.39%, all above the 3-SE bound. Over 4 million
  /// replications: calibrated 4.996%, 5.004%, 5.018%, 5.004%; uncalibrated 5.515%, 5.378%, 5.366%,
  /// 5.276% (SE 0.011%).
  @Test(arguments: tDesigns)
  func tDecisionsHoldAlphaUnderTheNull(design: SequentialDesign) {
    let critical = design.looks.indices.map { design.criticalT(look: $0, pairs: design.looks[$0]) }
    let rate = nullRate(looks: design.looks, replications: 40_000, seed: 7_919) { k, n, sum, squares in
      tStatistic(n: n, sum: sum, squares: squares) >= critical[k]
    }
    #expect(rate.value <= 0.05 + 3 * rate.standardError, "rate \(rate.value) ± \(rate.standardError)")
    #expect(rate.value >= 0.05 - 4 * rate.standardError, "rate \(rate.value) ± \(rate.standardError)")
  }
}
