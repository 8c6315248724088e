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
        tolerance: tolerance, source: nil, line: 1)
      return Diff.evaluate(ref, experiment: "e", runs: runs).status
    }
    #expect(status([23.97], reference: 22.97, tolerance: 1.0) == .pass)  // |Δ| = 1 up to rounding
    #expect(status([12.0, 12.2, 12.4], reference: 11.2, tolerance: 1.0) == .pass)
    #expect(status([23.98], reference: 22.97, tolerance: 1.0) == .fail)
    #expect(status([21.97], reference: 22.97, tolerance: 1.0) == .pass)
    #expect(status([21.9], reference: 22.97, tolerance: 1.0) == .fail)
    #expect(status([5], reference: 5, tolerance: 0) == .pass)
  }

  @Test func claimsHeldFailedMissingAndProfileFilter() throws {
    let (diff, ws) = try toyDiff()
    defer { ws.remove() }
    #expect(diff.claims.map(\.id) == ["ldam-beats-erm", "gain-grows", "erm-beats-ldam", "focal-beats-erm"])
    #expect(diff.claims.map(\.status) == [.held, .held, .failed, .missing])
    #expect(
      diff.claims[0].detail
        == "ratio=10: ldam-drw 12.20 vs erm 14.50, seeds 3/3 held; ratio=100: ldam-drw 25.50 vs erm 31.00, seeds 2/2 held"
    )
    #expect(diff.claims[1].detail == "gain +2.30 at ratio=10, gain +5.50 at ratio=100 grows")
  }

  /// Results where A has the lower mean but loses on most paired seeds, and a setting where it wins both.
  func pairedWorkspace(_ a: [Double], _ b: [Double], claim: String) throws -> DiffReport {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.reference("pairs", claim)
    for (method, values) in [("a", a), ("b", b)] {
      for (seed, x) in values.enumerated() where x.isFinite {
        try ws.result(
          "pairs", job: "\(method)\(seed)", method: method, seed: seed, setting: [("dataset.noise.rate", .double(0.2))],
          label: "noise 0.2", overall: [("top1_error", x)])
      }
    }
    return try Diff.evaluate(profile: "default", resultsDir: ws.resultsDir, experimentsDir: ws.experimentsDir)
  }

  static let betterClaim = """
    claims:
      - {id: a-beats-b, text: "A beats B", better: a, than: b, metric: top1_error, direction: lower}
    """

  @Test func betterNeedsTheMeanAndAStrictMajorityOfPairedSeeds() throws {
    // Mean 8.67 < 9 and 2 of 3 seeds: held.
    #expect(try pairedWorkspace([8, 8, 10], [9, 9, 9], claim: Self.betterClaim).claims[0].status == .held)
    // Mean 6.67 < 9 but 1 of 3 seeds: failed.
    let minority = try pairedWorkspace([0, 10, 10], [9, 9, 9], claim: Self.betterClaim).claims[0]
    #expect(minority.status == .failed)
    #expect(minority.detail == "all settings: a 6.67 vs b 9.00, seeds 1/3 failed")
    // 2 of 4 seeds is not a strict majority.
    #expect(try pairedWorkspace([1, 1, 10, 10], [5, 5, 5, 5], claim: Self.betterClaim).claims[0].status == .failed)
    // A tie on a seed is not a win.
    #expect(try pairedWorkspace([9, 8, 9], [9, 9, 9], claim: Self.betterClaim).claims[0].status == .failed)
    // Only seeds present for both methods pair up: A's seed 2 has no partner.
    let unpaired = try pairedWorkspace([8, 10, 1], [9, 9, .nan], claim: Self.betterClaim).claims[0]
    #expect(unpaired.status == .failed)
    #expect(unpaired.detail.hasSuffix("seeds 1/2 failed"))
  }

  @Test func higherIsBetterDirection() throws {
    let claim = Self.betterClaim.replacingOccurrences(of: "direction: lower", with: "direction: higher")
    #expect(try pairedWorkspace([8, 8, 10], [9, 9, 9], claim: claim).claims[0].status == .failed)
    #expect(try pairedWorkspace([10, 10, 8], [9, 9, 9], claim: claim).claims[0].status == .held)
  }

  @Test func gainGrowsFailsWhenTheGainShrinks() throws {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.reference(
      "grow",
      """
      claims:
        - {id: grows, text: "gain grows with ratio", kind: gain-grows, better: a, than: b, metric: top1_error,
           direction: lower, along: dataset.imbalance.ratio}
      """)
    // Per profile (the other axis): exponential gains 1 → 3 (grows), step gains 4 → 2 (shrinks).
    let cells: [(String, Double, Double, Double)] = [
      ("exponential", 10, 10, 11), ("exponential", 100, 20, 23), ("step", 10, 10, 14), ("step", 100, 20, 22),
    ]
    for (i, (profile, ratio, a, b)) in cells.enumerated() {
      for (method, x) in [("a", a), ("b", b)] {
        try ws.result(
          "grow", job: "\(method)\(i)", method: method, seed: 0,
          setting: [("dataset.imbalance.profile", .string(profile)), ("dataset.imbalance.ratio", .double(ratio))],
          label: "\(profile) ρ=\(Int(ratio))", overall: [("top1_error", x)])
      }
    }
    let claim = try Diff.evaluate(profile: "default", resultsDir: ws.resultsDir, experimentsDir: ws.experimentsDir)
      .claims[0]
    #expect(claim.status == .failed)
    #expect(
      claim.detail
        == "profile=exponential: gain +1.00 at ratio=10, gain +3.00 at ratio=100 grows; "
        + "profile=step: gain +4.00 at ratio=10, gain +2.00 at ratio=100 does not grow")
  }

  @Test func gainGrowsNeedsTwoValuesOfItsAxis() throws {
    let claim = """
      claims:
        - {id: grows, text: "t", kind: gain-grows, better: a, than: b, metric: top1_error, direction: lower,
           along: dataset.noise.rate}
      """
    let diff = try pairedWorkspace([1], [2], claim: claim)
    #expect(diff.claims[0].status == .missing)
    #expect(diff.claims[0].detail.contains("(fewer than two values of rate)"))
  }

  @Test func jsonHasExactlyTheContractShape() throws {
    let (diff, ws) = try toyDiff()
    defer { ws.remove() }
    let json = try JSON(parsing: Data(diff.json().utf8))
    #expect(json.objectValue?.map(\.key) == ["references", "claims"])
    let refs = try #require(json["references"]?.arrayValue)
    #expect(refs.count == 5)
    for ref in refs {
      #expect(
        ref.objectValue?.map(\.key)
          == [
            "experiment", "method", "setting", "metric", "reference", "measured_mean", "measured_std", "n_seeds",
            "delta", "tolerance", "status",
          ])
    }
    #expect(refs[0]["setting"] == .object([("dataset.imbalance.ratio", .int(100))]))
    #expect(refs[0]["measured_mean"] == .int(31))
    #expect(refs[0]["status"] == .string("pass"))
    #expect(refs[2]["measured_mean"] == .null && refs[2]["delta"] == .null && refs[2]["n_seeds"] == .int(0))
    #expect(refs[2]["status"] == .string("missing"))
    let claims = try #require(json["claims"]?.arrayValue)
    for claim in claims { #expect(claim.objectValue?.map(\.key) == ["experiment", "id", "text", "status", "detail"]) }
    #expect(claims.map { $0["status"]?.stringValue ?? "" } == ["held", "held", "failed", "missing"])
    #expect(claims[0]["experiment"] == .string("toy"))
  }

  @Test func textAndMarkdownListEverything() throws {
    let (diff, ws) = try toyDiff()
    defer { ws.remove() }
    let text = diff.text()
    #expect(
      text.contains(
        "\n  toy         erm       ratio=100                    top1_error  30.00      31.00 ± 1.00  3  +1.00  1.00  pass\n"
      ))
    #expect(text.contains("  failed  toy/erm-beats-ldam: ERM beats LDAM-DRW\n"))
    #expect(text.hasSuffix("references: 3 pass, 1 fail, 1 missing; claims: 2 held, 1 failed, 1 missing\n"))
    let md = diff.markdown()
    #expect(md.contains("| toy | focal | ratio=100 | top1_error | 29.00 | — | 0 | — | 1.00 | missing |"))
    #expect(md.contains("| toy | gain-grows: The gain grows with the ratio | **held** |"))
  }

  @Test func missingDoesNotFail() {
    let report = DiffReport(
      profile: "default",
      references: [
        .init(
          experiment: "e", method: "m", setting: [], metric: "x", reference: 1, unit: nil, source: nil,
          measuredMean: nil, measuredStd: nil, nSeeds: 0, delta: nil, tolerance: 1, status: .missing)
      ],
      claims: [.init(experiment: "e", id: "c", text: "t", status: .missing, detail: "")])
    #expect(!report.failed)
    var failing = report
    failing.claims[0].status = .failed
    #expect(failing.failed)
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
      "references:\n  - {profile: default, method: erm, setting: {}, metric: m, value: 1, tolerance: 1, colour: red}\n",
      Diff.ReferenceFileError.Code.unknownKey, "references[0].colour", 2
    ),
    (
      "references:\n  - {profile: default, method: erm, setting: {}, metric: m, value: 1}\n",
      .missingKey, "references[0].tolerance", 2
    ),
    (
      "references:\n  - profile: default\n    method: erm\n    setting: {}\n    metric: m\n    value: abc\n    tolerance: 1\n",
      .wrongType, "references[0].value", 6
    ),
    (
      "references:\n  - {profile: default, method: erm, setting: {}, metric: m, value: 1, tolerance: -1}\n",
      .badValue, "references[0].tolerance", 2
    ),
    (
      "references:\n  - {profile: default, method: erm, setting: [a, b], metric: m, value: 1, tolerance: 1}\n",
      .wrongType, "references[0].setting", 2
    ),
    (
      "references:\n  - {profile: default, method: erm, setting: {a..b: 1}, metric: m, value: 1, tolerance: 1}\n",
      .badValue, "references[0].setting.a..b", 2
    ),
    (
      "references:\n  - {profile: default, method: erm, setting: {a: [1, 2]}, metric: m, value: 1, tolerance: 1}\n",
      .wrongType, "references[0].setting.a", 2
    ),
    ("references: {a: 1}\n", .wrongType, "references", 1),
    (
      "claims:\n  - {id: c, text: t, better: a, than: b, metric: m, direction: sideways}\n",
      .badValue, "claims[0].direction", 2
    ),
    (
      "claims:\n  - {id: c, text: t, kind: gain-grows, better: a, than: b, metric: m, direction: lower}\n",
      .missingKey, "claims[0].along", 2
    ),
    (
      "claims:\n  - {id: c, text: t, kind: shrinks, better: a, than: b, metric: m, direction: lower}\n",
      .badValue, "claims[0].kind", 2
    ),
    (
      "claims:\n  - {id: c, text: t, better: a, than: a, metric: m, direction: lower}\n",
      .badValue, "claims[0].than", 2
    ),
    (
      "claims:\n  - {id: c, text: t, better: a, than: b, metric: m, direction: lower, along: x}\n",
      .unknownKey, "claims[0].along", 2
    ),
    (
      "claims:\n  - {id: c, text: t, better: a, than: b, metric: m, direction: lower}\n  - {id: c, text: u, better: a, than: b, metric: m, direction: lower}\n",
      .duplicate, "claims[1].id", 3
    ),
    (
      "claims:\n  - {id: c, text: t, better: a, than: b, metric: m, direction: lower, per: x}\n",
      .wrongType, "claims[0].per", 2
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
        - {profile: default, method: erm, setting: {}, metric: m, value: x, tolerance: 1}
        - {profile: default, setting: {}, metric: m, value: 1, tolerance: 1}
      claims:
        - {id: c, text: t, better: a, than: b, metric: m, direction: up}
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
