import Foundation
import Testing
import _ReplicateTestSupport

@testable import Harness

@Suite struct DiffEvaluationTests {
  func toyDiff() throws -> (DiffReport, ReportTestWorkspace) {
    let ws = try ReportTestWorkspace()
    try ws.writeToy()
    return (try Diff.evaluate(profile: "default", resultsDir: ws.resultsDir, experimentsDir: ws.experimentsDir), ws)
  }

  @Test func referencesPassFailMissingAndOtherProfilesAreSkipped() throws {
    let (diff, ws) = try toyDiff()
    defer { ws.remove() }
    // Five references for `default`; the `paper` one is skipped, not missing.
    #expect(diff.references.map(\.status) == [.pass, .fail, .missing, .pass, .pass])
    let erm100 = diff.references[0]
    expectApprox(erm100.measuredMean!, 31)
    expectApprox(erm100.measuredStd!, 1)  // sample std of 30, 31, 32
    #expect(erm100.nSeeds == 3)
    expectApprox(erm100.delta!, 1)
    // The collapsed erm run (NaN) at ρ=10 does not enter: n = 3, mean 14.5.
    #expect(diff.references[1].nSeeds == 3)
    expectApprox(diff.references[1].measuredMean!, 14.5)
    let missing = diff.references[2]
    #expect(missing.measuredMean == nil && missing.delta == nil && missing.nSeeds == 0)
    // The failed ldam-drw seed is not averaged: n = 2; a nested setting mapping matched.
    #expect(diff.references[3].nSeeds == 2)
    expectApprox(diff.references[3].measuredStd!, 0.5.squareRoot())
    #expect(diff.failed)
  }

  @Test func toleranceEdgePassesAndJustBeyondFails() throws {
    func status(_ measured: [Double], reference: Double, tolerance: Double) -> DiffReport.ReferenceStatus {
      let runs = measured.enumerated().map { seed, x in
        Report.ExperimentResults.run(
          .object([
            ("spec", ReportTestWorkspace.spec(experiment: "e", method: "m", seed: seed, setting: [])),
            ("metrics", .object([("overall", .object([("top1_error", .double(x))]))])),
          ]), stem: "j\(seed)")
      }
      let ref = Diff.Reference(
        profile: "default", method: "m", setting: [], metric: "top1_error", value: reference, unit: nil,
        tolerance: tolerance, source: nil, verified: nil, line: 1)
      return Diff.evaluate(ref, experiment: "e", runs: runs).status
    }
    #expect(status([23.97], reference: 22.97, tolerance: 1.0) == .pass)  // |Δ| = 1 up to rounding
    #expect(status([12.0, 12.2, 12.4], reference: 11.2, tolerance: 1.0) == .pass)
    #expect(status([23.98], reference: 22.97, tolerance: 1.0) == .fail)
    #expect(status([21.97], reference: 22.97, tolerance: 1.0) == .pass)
    #expect(status([21.9], reference: 22.97, tolerance: 1.0) == .fail)
    #expect(status([5], reference: 5, tolerance: 0) == .pass)
  }

  @Test func toyClaimsInvalidContradictedAndNotRun() throws {
    let (diff, ws) = try toyDiff()
    defer { ws.remove() }
    #expect(diff.claims.map(\.id) == ["ldam-beats-erm", "gain-grows", "erm-beats-ldam", "focal-beats-erm"])
    // ρ=10: erm (the comparator) has a non-finite metric in seed 3 → invalid; ρ=100: ldam-drw diverged in seed
    // 2 → inconclusive, listed, never "missing".
    let c0 = diff.claims[0]
    #expect(c0.outcome == .invalid)
    #expect(c0.settings.map(\.outcome) == [.invalid, .inconclusive])
    #expect(c0.settings[1].degenerate.map(\.label) == ["ldam-drw seed 2 (diverged: loss is NaN at epoch 2)"])
    // erm-beats-ldam: contradicted at ρ=10 (d = −2, −2.3, −2.6), and Holm across 2 settings keeps it.
    let c2 = diff.claims[2]
    #expect(c2.settings[0].outcome == .contradicted && c2.settings[0].holmRejected)
    #expect(c2.outcome == .contradicted)
    #expect(diff.claims[3].outcome == .notRun)
    // A paper claim is contradicted: diff fails.
    #expect(diff.failed)
  }

  /// One setting, methods a and b, per-seed top-1 errors (NaN: no result for that seed).
  func pairedWorkspace(
    _ a: [Double], _ b: [Double], claim: String, degenerate: [(method: String, seed: Int)] = [],
    diverged: [(method: String, seed: Int)] = []
  ) throws -> DiffReport {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.reference("pairs", claim)
    for (method, values) in [("a", a), ("b", b)] {
      for (seed, x) in values.enumerated() where x.isFinite {
        let collapsed = degenerate.contains { $0.method == method && $0.seed == seed }
        try ws.result(
          "pairs", job: "\(method)\(seed)", method: method, seed: seed, setting: [("dataset.noise.rate", .double(0.2))],
          label: "noise 0.2",
          overall: [
            ("top1_error", x), ("train_predicted_classes", collapsed ? 1 : 10), ("train_balanced_error", 20),
          ],
          perClass: ["train_count": Array(repeating: 100, count: 10)])
      }
    }
    for (method, seed) in diverged {
      try ws.failure(
        "pairs", job: "\(method)\(seed)x", method: method, seed: seed, setting: [("dataset.noise.rate", .double(0.2))],
        label: "noise 0.2", code: "non-finite-loss", message: "loss is nan at epoch 1")
    }
    return try Diff.evaluate(profile: "default", resultsDir: ws.resultsDir, experimentsDir: ws.experimentsDir)
  }

  static let betterClaim = """
    claims:
      - {id: a-beats-b, text: "A beats B", better: a, than: b, metric: top1_error, direction: lower, source: paper,
         quote: "Table 1"}
    """

  @Test func heldNeedsALowerBoundAboveZeroOnThreeHealthyPairs() throws {
    // d = 1, 2, 3: mean 2, s = 1, SE = 1/√3, t(0.95, 2) = 2.919986 → [0.3141, 3.6859].
    let held = try pairedWorkspace([9, 8, 7], [10, 10, 10], claim: Self.betterClaim).claims[0]
    #expect(held.outcome == .held)
    let i = try #require(held.settings[0].interval)
    #expect(i.n == 3)
    expectApprox(i.mean!, 2, abs: 1e-12)
    expectApprox(i.standardError!, 1 / 3.0.squareRoot(), abs: 1e-12)
    expectApprox(i.low!, 2 - 2.919985580354 / 3.0.squareRoot(), abs: 1e-9)
    expectApprox(i.high!, 2 + 2.919985580354 / 3.0.squareRoot(), abs: 1e-9)
    // The old rule's "mean and 2 of 3 seeds" (d = 1, 1, −1) is within noise: inconclusive.
    #expect(try pairedWorkspace([8, 8, 10], [9, 9, 9], claim: Self.betterClaim).claims[0].outcome == .inconclusive)
    // Two pairs, however large, are not enough to hold.
    let two = try pairedWorkspace([1, 1, .nan], [9, 9.5, 9], claim: Self.betterClaim).claims[0]
    #expect(two.outcome == .inconclusive)
    #expect(two.settings[0].notes.contains("not run: a seed 2"))
  }

  @Test func contradictedNeedsTheUpperBoundBelowZeroAndFailsOnlyForPaperClaims() throws {
    let paper = try pairedWorkspace([10, 10.2, 10.1], [9, 9, 9], claim: Self.betterClaim)
    #expect(paper.claims[0].outcome == .contradicted)
    #expect(paper.failed)
    let project = try pairedWorkspace(
      [10, 10.2, 10.1], [9, 9, 9],
      claim: Self.betterClaim.replacingOccurrences(
        of: "source: paper,\n     quote: \"Table 1\"", with: "source: project"))
    #expect(project.claims[0].outcome == .contradicted)
    #expect(!project.failed)
  }

  @Test func aDegenerateComparatorMakesTheSettingInvalid() throws {
    // A is far better, but B collapsed (one predicted class on the training set) in seed 1.
    let collapsed = try pairedWorkspace([5, 5, 5], [9, 9, 9], claim: Self.betterClaim, degenerate: [("b", 1)])
    #expect(collapsed.claims[0].outcome == .invalid)
    // B diverged in seed 1 (a failure file): the same.
    let diverged = try pairedWorkspace([5, 5, 5], [9, .nan, 9], claim: Self.betterClaim, diverged: [("b", 1)])
    #expect(diverged.claims[0].outcome == .invalid)
    #expect(diverged.claims[0].settings[0].degenerate.map(\.method) == ["b"])
  }

  @Test func aDegenerateClaimedBetterMethodIsInconclusiveAndListed() throws {
    let some = try pairedWorkspace([5, 5, 5, 5], [9, 9, 9, 9], claim: Self.betterClaim, degenerate: [("a", 3)])
    #expect(some.claims[0].outcome == .inconclusive)
    #expect(some.claims[0].settings[0].interval?.n == 3)
    #expect(
      some.claims[0].settings[0].degenerate.map(\.label) == [
        "a seed 3 (collapsed: predicts 1 class on the training set)"
      ])
    // Every run of A diverged: inconclusive, not "missing" and not "not run".
    let all = try pairedWorkspace(
      [.nan, .nan, .nan], [9, 9, 9], claim: Self.betterClaim, diverged: [("a", 0), ("a", 1), ("a", 2)])
    #expect(all.claims[0].outcome == .inconclusive)
    #expect(all.claims[0].settings[0].interval?.n == 0)
  }

  @Test func higherIsBetterDirection() throws {
    let claim = Self.betterClaim.replacingOccurrences(of: "direction: lower", with: "direction: higher")
    #expect(try pairedWorkspace([8, 7, 6], [9, 9, 9], claim: claim).claims[0].outcome == .contradicted)
    #expect(try pairedWorkspace([10, 11, 12], [9, 9, 9], claim: claim).claims[0].outcome == .held)
  }

  @Test func minEffectRaisesTheBarForHeld() throws {
    let claim = Self.betterClaim.replacingOccurrences(of: "source: paper,", with: "min_effect: 1.0, source: paper,")
    // Lower bound 0.31 > 0 but below 1.0.
    #expect(try pairedWorkspace([9, 8, 7], [10, 10, 10], claim: claim).claims[0].outcome == .inconclusive)
    #expect(try pairedWorkspace([5, 5.1, 4.9], [10, 10, 10], claim: claim).claims[0].outcome == .held)
  }

  static let equalClaim = """
    claims:
      - {id: a-equals-b, text: "A and B are on par", kind: equal, better: a, than: b, metric: top1_error,
         direction: lower, margin: 1.0, source: paper, quote: "Sec. 3"}
    """

  @Test func equalIsTwoOneSidedTestsInsideTheMargin() throws {
    // d = 0.1, −0.1, 0: the 90% interval ±0.29 lies inside ±1.
    #expect(try pairedWorkspace([9.1, 8.9, 9], [9, 9, 9], claim: Self.equalClaim).claims[0].outcome == .held)
    // d = 3, 3.1, 2.9: the interval lies above +1: contradicted.
    #expect(
      try pairedWorkspace([12, 12.1, 11.9], [9, 9, 9], claim: Self.equalClaim).claims[0].outcome == .contradicted)
    // d = 1, −1, 0: s = 1, t·SE = 1.69 > margin: cannot pass at 3 pairs, and the page says so.
    let tight = try pairedWorkspace([10, 8, 9], [9, 9, 9], claim: Self.equalClaim).claims[0]
    #expect(tight.outcome == .inconclusive)
    #expect(tight.settings[0].notes.contains { $0.contains("TOST cannot pass at 3 pairs") })
  }

  @Test func holmStepsDownAcrossAClaimsSettings() {
    // Sorted p: 0.01 ≤ 0.05/4 rejects; 0.03 > 0.05/3 stops.
    #expect(Diff.holmRejections([(0.01, 0.05), (0.04, 0.05), (0.03, 0.05), (0.2, 0.05)]) == [0])
    #expect(Diff.holmRejections([(0.001, 0.05), (0.02, 0.05)]) == [0, 1])
    // A test without a p-value still counts in m.
    #expect(Diff.holmRejections([(0.03, 0.05), (nil, 0.05)]) == [])
    #expect(Diff.holmRejections([(0.02, 0.05)]) == [0])
  }

  @Test func aRawContradictionThatHolmDoesNotKeepIsInconclusive() throws {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.reference(
      "holm",
      Self.betterClaim.replacingOccurrences(
        of: "direction: lower,", with: "direction: lower, per: [dataset.noise.rate],"))
    // Four settings; in one, d = −1, −1.5, −0.8 (p ≈ 0.017 one-sided: contradicted alone, not after Holm
    // over 4, which needs 0.0125).
    let cells: [(Double, [Double], [Double])] = [
      (0.1, [10, 10.5, 9.8], [9, 9, 9]), (0.2, [9, 9, 9], [9, 9.5, 8.5]), (0.3, [9, 9, 9], [9, 9.5, 8.5]),
      (0.4, [9, 9, 9], [9, 9.5, 8.5]),
    ]
    for (rate, a, b) in cells {
      for (method, values) in [("a", a), ("b", b)] {
        for (seed, x) in values.enumerated() {
          try ws.result(
            "holm", job: "\(method)\(rate)-\(seed)", method: method, seed: seed,
            setting: [("dataset.noise.rate", .double(rate))], label: "noise \(rate)", overall: [("top1_error", x)])
        }
      }
    }
    let claim = try Diff.evaluate(profile: "default", resultsDir: ws.resultsDir, experimentsDir: ws.experimentsDir)
      .claims[0]
    #expect(claim.settings[0].outcome == .contradicted)
    #expect(!claim.settings[0].holmRejected)
    #expect(claim.outcome == .inconclusive)
  }

  @Test func gainGrowsJudgesTheStepOfThePairedGains() throws {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.reference(
      "grow",
      """
      claims:
        - {id: grows, text: "gain grows with ratio", kind: gain-grows, better: a, than: b, metric: top1_error,
           direction: lower, along: dataset.imbalance.ratio, source: project}
      """)
    // Per profile (the other axis), per seed: exponential gains 1 → 3 (grows), step gains 4 → 2 (shrinks).
    let cells: [(String, Double, Double, Double)] = [
      ("exponential", 10, 10, 11), ("exponential", 100, 20, 23), ("step", 10, 10, 14), ("step", 100, 20, 22),
    ]
    for (i, (profile, ratio, a, b)) in cells.enumerated() {
      for seed in 0..<3 {
        let jitter = 0.1 * Double(seed)
        for (method, x) in [("a", a + jitter), ("b", b + 2 * jitter)] {
          try ws.result(
            "grow", job: "\(method)\(i)-\(seed)", method: method, seed: seed,
            setting: [("dataset.imbalance.profile", .string(profile)), ("dataset.imbalance.ratio", .double(ratio))],
            label: "\(profile) ρ=\(Int(ratio))", overall: [("top1_error", x)])
        }
      }
    }
    let claim = try Diff.evaluate(profile: "default", resultsDir: ws.resultsDir, experimentsDir: ws.experimentsDir)
      .claims[0]
    #expect(claim.settings.map(\.label) == ["ratio 10 → 100 (profile=exponential)", "ratio 10 → 100 (profile=step)"])
    #expect(claim.settings.map(\.outcome) == [.held, .contradicted])
    expectApprox(claim.settings[0].interval!.mean!, 2, abs: 1e-9)
    #expect(claim.outcome == .contradicted)
  }

  @Test func gainGrowsNeedsTwoValuesOfItsAxis() throws {
    let claim = """
      claims:
        - {id: grows, text: "t", kind: gain-grows, better: a, than: b, metric: top1_error, direction: lower,
           along: dataset.noise.rate, source: project}
      """
    let diff = try pairedWorkspace([1], [2], claim: claim)
    #expect(diff.claims[0].outcome == .notRun)
    #expect(diff.claims[0].detail.contains("fewer than two values of rate"))
  }

  @Test func jsonCarriesTheStatisticsOfEverySetting() throws {
    let (diff, ws) = try toyDiff()
    defer { ws.remove() }
    let json = try JSON(parsing: Data(diff.json().utf8))
    #expect(json.objectValue?.map(\.key) == ["profile", "summary", "references", "claims"])
    let refs = try #require(json["references"]?.arrayValue)
    #expect(refs.count == 5)
    for ref in refs {
      #expect(
        ref.objectValue?.map(\.key)
          == [
            "experiment", "method", "setting", "metric", "reference", "measured_mean", "measured_std", "n_seeds",
            "delta", "tolerance", "status", "source", "verified",
          ])
    }
    #expect(refs[0]["setting"] == .object([("dataset.imbalance.ratio", .int(100))]))
    #expect(refs[0]["measured_mean"] == .int(31))
    #expect(refs[0]["verified"] == .bool(true) && refs[1]["verified"] == .null)
    #expect(refs[2]["measured_mean"] == .null && refs[2]["delta"] == .null && refs[2]["n_seeds"] == .int(0))
    let claims = try #require(json["claims"]?.arrayValue)
    #expect(claims.map { $0["outcome"]?.stringValue ?? "" } == ["invalid", "invalid", "contradicted", "not run"])
    #expect(claims[0]["source"] == .string("paper") && claims[0]["quote"] == .string("Table 1"))
    let setting = try #require(claims[2]["settings"]?.arrayValue?.first)
    #expect(
      setting.objectValue?.map(\.key)
        == [
          "setting", "outcome", "n", "mean_d", "se", "ci_low", "ci_high", "level_per_side", "t_critical",
          "p_contradicted", "holm_rejected", "look", "mean_better", "mean_than", "degenerate_runs", "notes",
        ])
    #expect(setting["n"] == .int(3) && setting["outcome"] == .string("contradicted"))
    let bad = try #require(claims[0]["settings"]?.arrayValue?[0]["degenerate_runs"]?.arrayValue?.first)
    #expect(bad["method"] == .string("erm") && bad["kind"] == .string("non-finite-metric"))
    #expect(json["summary"]?["paper_claims"]?["contradicted"] == .int(1))
  }

  @Test func textAndMarkdownListEverything() throws {
    let (diff, ws) = try toyDiff()
    defer { ws.remove() }
    let text = diff.text()
    #expect(
      text.contains(
        "\n  toy         erm       ratio=100                    top1_error  30.00      31.00 ± 1.00  3  +1.00  1.00  pass\n"
      ))
    #expect(text.contains("  contradicted toy/erm-beats-ldam [paper]: ERM beats LDAM-DRW\n"))
    #expect(text.contains("two-sided 90% Student-t interval"))
    #expect(
      text.hasSuffix(
        "paper claims: held 0, inconclusive 0, contradicted 1, invalid 1 of 2; "
          + "project claims: held 0, inconclusive 0, contradicted 0, invalid 1 of 2 (not run 1); "
          + "references: 3 pass, 1 fail, 1 missing\n"))
    let md = diff.markdown()
    #expect(md.contains("| toy | focal | ratio=100 | top1_error | 29.00 | — | 0 | — | 1.00 | missing |"))
    #expect(md.contains("| toy | `erm-beats-ldam`: ERM beats LDAM-DRW | paper | **contradicted** |"))
  }
}

@Suite struct DuplicateClaimTests {
  @Test func twoClaimsComparingTheSameNumbersAreRejected() throws {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.reference(
      "dup",
      """
      claims:
        - {id: top1, text: t, better: a, than: b, metric: top1_error, direction: lower, source: paper, quote: "T1"}
        - {id: balanced, text: t, better: a, than: b, metric: balanced_error, direction: lower, source: project}
        - {id: ece, text: t, better: a, than: b, metric: ece, direction: lower, source: project}
      """)
    // On a balanced test set top-1 and balanced error are the same number up to rounding; ECE is not.
    for (method, base) in [("a", 10.0), ("b", 12.0)] {
      for seed in 0..<3 {
        let x = base + Double(seed)
        try ws.result(
          "dup", job: "\(method)\(seed)", method: method, seed: seed, setting: [], label: "all",
          overall: [("top1_error", x), ("balanced_error", x + 3e-14), ("ece", x / 100 + 0.001 * Double(seed))])
      }
    }
    let files = try Diff.loadReferenceFiles(experimentsDir: ws.experimentsDir)
    let errors = Diff.duplicateClaims(files, resultsDir: ws.resultsDir, profiles: ["default"])
    #expect(errors.count == 1)
    #expect(errors.first?.code == .duplicate)
    #expect(errors.first?.keyPath == "claims (balanced)")
    #expect(errors.first?.message.contains("not the same test as 'top1'") == true)
    // Without results nothing can be compared.
    #expect(Diff.duplicateClaims(files, resultsDir: ws.resultsDir, profiles: ["paper"]).isEmpty)
  }
}

@Suite struct DegeneracyTests {
  func judge(_ predicted: Double?, _ balanced: Double?, classes: Int? = 10) -> Report.Degeneracy.Kind? {
    var overall: [String: Double] = [:]
    if let predicted { overall["train_predicted_classes"] = predicted }
    if let balanced { overall["train_balanced_error"] = balanced }
    return Report.Degeneracy.judge(overall: overall, classes: classes)?.kind
  }

  @Test func theRuleOnTrainingPredictions() {
    #expect(judge(10, 12) == nil)
    #expect(judge(1, 90) == .collapsed)
    #expect(judge(1, nil, classes: nil) == .collapsed)
    // Chance is 90 for 10 classes: within 2 points counts as chance.
    #expect(judge(10, 88.0) == .chance)
    #expect(judge(10, 87.9) == nil)
    // Partial collapse: fewer than half of the classes predicted, whatever the error (4 of 10 at 65%).
    #expect(judge(4, 65) == .partialCollapse)
    #expect(judge(5, 65) == nil)
    #expect(judge(49, 30, classes: 100) == .partialCollapse)
    #expect(judge(50, 30, classes: 100) == nil)
    // Chance for two classes is 50.
    #expect(judge(2, 48.5, classes: 2) == .chance)
    // Results without training predictions are judged by their failure files only.
    #expect(judge(nil, nil) == nil)
  }

  @Test func failureCodesSplitIntoOutcomesAndErrors() {
    func failed(_ code: String) -> Report.FailedRun {
      Report.FailedRun(
        job: "j", method: "m", seed: 0, setting: .object([]), settingLabel: "all", code: code, message: "x")
    }
    #expect(failed("non-finite-loss").degeneracy?.kind == .diverged)
    #expect(failed("non-finite-metric").degeneracy?.kind == .nonFiniteMetric)
    #expect(failed("bad-data").degeneracy == nil && !failed("bad-data").isDegenerate)
    #expect(!failed("unreadable").isDegenerate)
  }
}

@Suite struct DiffReferenceFileTests {
  func errors(_ yaml: String) -> [Diff.ReferenceFileError] {
    do {
      _ = try Diff.ReferenceFile.parse(yaml, path: "experiments/x/reference.yaml")
      return []
    } catch let e as Diff.ReferenceFileErrors {
      return e.errors
    } catch {
      return [Diff.ReferenceFileError(.syntax, file: "?", keyPath: "?", line: -1, "\(error)")]
    }
  }

  @Test func aValidFileParses() throws {
    let file = try Diff.ReferenceFile.parse(ReportTestWorkspace.toyReference, path: "r.yaml")
    #expect(file.references.count == 6)
    #expect(file.references[4].setting.map(\.0) == ["dataset.imbalance.ratio"])
    #expect(file.references[5].setting.map(\.0) == ["dataset.imbalance.ratio", "dataset.name"])
    #expect(file.references[0].line == 2)
    #expect(file.claims.count == 5)
    #expect(file.claims[1].kind == .gainGrows && file.claims[1].along == "dataset.imbalance.ratio")
    #expect(file.claims[0].profiles == nil && file.claims[1].profiles == ["default"])
  }

  @Test(arguments: [
    // (yaml, code, key path, line)
    (
      "references:\n  - {profile: default, method: erm, setting: {}, metric: m, value: 1, tolerance: 1, colour: red, verified: null}\n",
      Diff.ReferenceFileError.Code.unknownKey, "references[0].colour", 2
    ),
    (
      "references:\n  - {profile: default, method: erm, setting: {}, metric: m, value: 1, verified: null}\n",
      .missingKey, "references[0].tolerance", 2
    ),
    (
      "references:\n  - profile: default\n    method: erm\n    setting: {}\n    metric: m\n    value: abc\n    tolerance: 1\n    verified: true\n",
      .wrongType, "references[0].value", 6
    ),
    (
      "references:\n  - {profile: default, method: erm, setting: {}, metric: m, value: 1, tolerance: -1, verified: null}\n",
      .badValue, "references[0].tolerance", 2
    ),
    (
      "references:\n  - {profile: default, method: erm, setting: [a, b], metric: m, value: 1, tolerance: 1, verified: null}\n",
      .wrongType, "references[0].setting", 2
    ),
    (
      "references:\n  - {profile: default, method: erm, setting: {a..b: 1}, metric: m, value: 1, tolerance: 1, verified: null}\n",
      .badValue, "references[0].setting.a..b", 2
    ),
    (
      "references:\n  - {profile: default, method: erm, setting: {a: [1, 2]}, metric: m, value: 1, tolerance: 1, verified: null}\n",
      .wrongType, "references[0].setting.a", 2
    ),
    ("references: {a: 1}\n", .wrongType, "references", 1),
    (
      "claims:\n  - {id: c, text: t, better: a, than: b, metric: m, direction: sideways, source: project}\n",
      .badValue, "claims[0].direction", 2
    ),
    (
      "claims:\n  - {id: c, text: t, kind: gain-grows, better: a, than: b, metric: m, direction: lower, source: project}\n",
      .missingKey, "claims[0].along", 2
    ),
    (
      "claims:\n  - {id: c, text: t, kind: shrinks, better: a, than: b, metric: m, direction: lower, source: project}\n",
      .badValue, "claims[0].kind", 2
    ),
    (
      "claims:\n  - {id: c, text: t, better: a, than: a, metric: m, direction: lower, source: project}\n",
      .badValue, "claims[0].than", 2
    ),
    (
      "claims:\n  - {id: c, text: t, better: a, than: b, metric: m, direction: lower, along: x, source: project}\n",
      .unknownKey, "claims[0].along", 2
    ),
    (
      "claims:\n  - {id: c, text: t, better: a, than: b, metric: m, direction: lower, source: project}\n  - {id: c, text: u, better: a, than: b, metric: m, direction: lower, source: project}\n",
      .duplicate, "claims[1].id", 3
    ),
    (
      "claims:\n  - {id: c, text: t, better: a, than: b, metric: m, direction: lower, per: x, source: project}\n",
      .wrongType, "claims[0].per", 2
    ),
    (
      "claims:\n  - {id: c, text: t, better: a, than: b, metric: m, direction: lower}\n",
      .missingKey, "claims[0].source", 2
    ),
    (
      "claims:\n  - {id: c, text: t, better: a, than: b, metric: m, direction: lower, source: blog}\n",
      .badValue, "claims[0].source", 2
    ),
    (
      "claims:\n  - {id: c, text: t, better: a, than: b, metric: m, direction: lower, source: paper}\n",
      .missingKey, "claims[0].quote", 2
    ),
    (
      "claims:\n  - {id: c, text: t, kind: equal, better: a, than: b, metric: m, direction: lower, source: project}\n",
      .missingKey, "claims[0].margin", 2
    ),
    (
      "claims:\n  - {id: c, text: t, kind: equal, better: a, than: b, metric: m, direction: lower, margin: 0, source: project}\n",
      .badValue, "claims[0].margin", 2
    ),
    (
      "claims:\n  - {id: c, text: t, better: a, than: b, metric: m, direction: lower, margin: 1, source: project}\n",
      .unknownKey, "claims[0].margin", 2
    ),
    (
      "claims:\n  - {id: c, text: t, better: a, than: b, metric: m, direction: lower, min_effect: -1, source: project}\n",
      .badValue, "claims[0].min_effect", 2
    ),
    (
      "references:\n  - {profile: default, method: erm, setting: {}, metric: m, value: 1, tolerance: 1, verified: maybe}\n",
      .wrongType, "references[0].verified", 2
    ),
    (
      "references:\n  - {profile: default, method: erm, setting: {}, metric: m, value: 1, tolerance: 1}\n",
      .missingKey, "references[0].verified", 2
    ),
    ("references: []\nreferences: []\n", .duplicate, "references", 2),
    ("refs: []\n", .unknownKey, "refs", 1),
    ("references:\n  - {profile: default, method: erm\n", .syntax, "", 3),
  ])
  func malformedFilesNameKeyPathAndLine(yaml: String, code: Diff.ReferenceFileError.Code, keyPath: String, line: Int) {
    let found = errors(yaml)
    #expect(found.count == 1, "\(found)")
    #expect(found.first?.code == code, "\(found)")
    #expect(found.first?.keyPath == keyPath, "\(found)")
    #expect(found.first?.line == line, "\(found)")
    #expect(found.first?.description.hasPrefix("experiments/x/reference.yaml:\(line): ") == true)
  }

  @Test func everyProblemIsReportedAtOnce() {
    let yaml = """
      references:
        - {profile: default, method: erm, setting: {}, metric: m, value: x, tolerance: 1, verified: true}
        - {profile: default, setting: {}, metric: m, value: 1, tolerance: 1, verified: false}
      claims:
        - {id: c, text: t, better: a, than: b, metric: m, direction: up, source: project}
      """
    let found = errors(yaml)
    #expect(found.map(\.keyPath) == ["references[0].value", "references[1].method", "claims[0].direction"])
    #expect(found.map(\.line) == [2, 3, 5])
  }

  @Test func evaluateThrowsForAnyMalformedFileBeforeComparing() throws {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.writeToy()
    try ws.reference("broken", "claims:\n  - {id: c}\n")
    #expect(throws: Diff.ReferenceFileErrors.self) {
      try Diff.evaluate(profile: "default", resultsDir: ws.resultsDir, experimentsDir: ws.experimentsDir)
    }
  }
}
