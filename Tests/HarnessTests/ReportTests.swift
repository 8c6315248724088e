import Foundation
import Testing
import _ReplicateTestSupport

@testable import Harness

@Suite struct ReportTests {
  func render(_ ws: ReportTestWorkspace, profile: String = "default") throws -> [String: String] {
    try Report.render(
      profile: profile, resultsDir: ws.resultsDir, experimentsDir: ws.experimentsDir,
      templatesDir: ReportTestWorkspace.templatesDir)
  }

  @Test func tableShowsMeanStdSeedsFailuresAndBest() throws {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.writeToy()
    let page = try #require(try render(ws)["toy.md"])
    #expect(page.hasPrefix("# toy\n\n**Paper:** Doe et al. 2024, A Toy Paper\n"))
    #expect(page.contains("## top1_error (lower is better)"))
    // Columns in manifest order (ratio: [100, 10]); n shown below the 3 expected seeds; degenerate runs
    // counted, never averaged; bold only among cells without a degenerate run (erm at ρ=100, although
    // ldam-drw's healthy mean is lower there).
    #expect(page.contains("| method | ρ=100 | ρ=10 |\n|---|---:|---:|\n"))
    #expect(page.contains("| erm | **31.00 ± 1.00** | 14.50 ± 0.50 (1 degenerate) |\n"))
    #expect(page.contains("| ldam-drw | 25.50 ± 0.71 (n=2, 1 degenerate) | **12.20 ± 0.20** |\n"))
    // The second metric gets its own table, with more decimals for small values.
    #expect(page.contains("### ece (lower is better)"))
    #expect(page.contains("| erm | **0.0600 ± 0.0100** |"))
  }

  @Test func degenerateAndFailedRunsAreListedNotAveraged() throws {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.writeToy()
    let page = try #require(try render(ws)["toy.md"])
    #expect(page.contains("## Degenerate and failed runs"))
    #expect(
      page.contains(
        "| ldam-drw | ρ=100 | 2 | `ldam-drw-100` | degenerate | non-finite-loss | loss is NaN at epoch 2 |"))
    #expect(
      page.contains(
        "| erm | ρ=10 | 3 | `erm-10-s3` | degenerate | non-finite-metric | metric top1_error is not a finite number |"))
    #expect(page.contains("11 results, 2 failed"))
  }

  @Test func referencesClaimsFingerprintAndPlotsAreOnThePage() throws {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.writeToy()
    let files = try render(ws)
    let page = try #require(files["toy.md"])
    #expect(
      page.contains("| erm | ratio=100 | top1_error | 30.00 | 31.00 ± 1.00 | 3 | +1.00 | 1.00 | **pass** | Table 1 |"))
    #expect(page.contains("| focal | ratio=100 | top1_error | 29.00 | — | 0 | — | 1.00 | **missing** |  |"))
    #expect(!page.contains("cifar10"))  // the paper-profile reference is skipped
    #expect(page.contains("### invalid: `ldam-beats-erm`\n\nLDAM-DRW has lower error than ERM"))
    #expect(page.contains("Source: paper — Table 1\n"))
    #expect(page.contains("### contradicted: `erm-beats-ldam`"))
    #expect(page.contains("| ratio=10 | contradicted | 3 | -2.30 | 90% [-2.81, -1.79] | 14.50 | 12.20 |"))
    #expect(page.contains("**Paper claims: held 0, inconclusive 0, contradicted 1, invalid 1 of 2**"))
    #expect(page.contains("`dataset.seed` = 0. Varying `dataset.seed`"))
    #expect(!page.contains("paper-only"))
    #expect(page.contains("| ρ=100 | `sha-100` | 1000,100,10 | many_threshold=100 |"))
    let plots = files.keys.filter { $0.hasPrefix("plots/") }.sorted()
    #expect(
      plots == [
        "plots/toy-10-per-class.svg", "plots/toy-10-reliability.svg", "plots/toy-10-test-error.svg",
        "plots/toy-10-train-loss.svg", "plots/toy-100-per-class.svg", "plots/toy-100-reliability.svg",
        "plots/toy-100-test-error.svg", "plots/toy-100-train-loss.svg",
      ])
    for plot in plots { #expect(page.contains("](\(plot))")) }
    #expect(page.contains("- `dataset.imbalance.ratio`: 100, 10"))
    #expect(page.contains("| `dataset.name` | fashion-mnist |"))
    for plot in plots { #expect(xmlError(files[plot]!) == nil, "\(plot)") }
  }

  @Test func indexSummarisesEveryExperiment() throws {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.writeToy()
    try ws.manifest("pending", "name: pending\npaper: Someone 2023\nseeds: [0]\nmetrics: [top1_error]\n")
    let files = try render(ws)
    let index = try #require(files["index.md"])
    #expect(index.hasPrefix("# Results: profile `default`\n"))
    #expect(index.contains("| [pending](pending.md) | Someone 2023 | — | — | — | — | — | 0 | 0 |\n"))
    #expect(
      index.contains(
        "| [toy](toy.md) | Doe et al. 2024, A Toy Paper | — | — | contradicted 1, invalid 1 of 2 | 2 | 3 / 1 / 1 | 11 | 2 |\n"
      ))
    #expect(index.contains("**All experiments:** paper claims: held 0, inconclusive 0, contradicted 1, invalid 1 of 2"))
    #expect(files["pending.md"]?.contains("No results yet for this profile") == true)
  }

  @Test func theProtocolLineIsDerivedFromTheExpandedJobs() throws {
    let experiments = URL(fileURLWithPath: ReportTestWorkspace.templatesDir).deletingLastPathComponent()
      .appendingPathComponent("experiments").path
    let ldam = Report.ProtocolSummary.describe(experiment: "ldam-drw", profile: "default", experimentsDir: experiments)
    // The manifest's own seeds; seeds `--resolve` added (resolve.yaml) are noted after it, not counted.
    #expect(ldam.run.hasPrefix("default: fashion-mnist-LT exponential/step ρ 10/100; mlp 256-256; 20 epochs; 3 seeds"))
    #expect(ldam.paper == "paper: cifar10/cifar100-LT exponential/step ρ 10/100; resnet32; 200 epochs; 3 seeds")
    let missing = Report.ProtocolSummary.describe(experiment: "nope", profile: "default", experimentsDir: experiments)
    #expect(missing.run == "—" && missing.paper == nil)
  }

  @Test func rerenderingIsByteIdentical() throws {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.writeToy()
    let first = try render(ws)
    let second = try render(ws)
    #expect(first == second)
    // Timing and environment never enter a report: rewrite them and render again.
    let folder = (ws.resultsDir as NSString).appendingPathComponent("default/toy")
    for name in try FileManager.default.contentsOfDirectory(atPath: folder) where !name.contains("failed") {
      let path = (folder as NSString).appendingPathComponent(name)
      let text = try String(contentsOfFile: path, encoding: .utf8)
      try text.replacingOccurrences(of: "\"h-", with: "\"other-host-").write(
        toFile: path, atomically: true, encoding: .utf8)
    }
    #expect(try render(ws) == first)
  }

  @Test func checkDetectsStaleMissingAndExtraFiles() throws {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.writeToy()
    let args = (profile: "default", results: ws.resultsDir, experiments: ws.experimentsDir)
    func check() throws -> [String] {
      try Report.check(
        profile: args.profile, resultsDir: args.results, experimentsDir: args.experiments,
        templatesDir: ReportTestWorkspace.templatesDir)
    }
    #expect(try check().count == 10)  // nothing written yet: all missing
    let written = try Report.write(
      profile: args.profile, resultsDir: args.results, experimentsDir: args.experiments,
      templatesDir: ReportTestWorkspace.templatesDir)
    #expect(written.count == 10)
    #expect(try check() == [])
    let reports = Report.reportsDir(profile: "default", resultsDir: ws.resultsDir)
    let page = (reports as NSString).appendingPathComponent("toy.md")
    try (try String(contentsOfFile: page, encoding: .utf8) + " ").write(toFile: page, atomically: true, encoding: .utf8)
    try FileManager.default.removeItem(
      atPath: (reports as NSString).appendingPathComponent("plots/toy-10-per-class.svg"))
    try ws.write("<svg/>", to: "results/default/reports/plots/old.svg")
    #expect(
      try check() == [
        "extra: \(reports)/plots/old.svg", "missing: \(reports)/plots/toy-10-per-class.svg", "stale: \(reports)/toy.md",
      ])
    // Writing again repairs exactly those files.
    let repaired = try Report.write(
      profile: args.profile, resultsDir: args.results, experimentsDir: args.experiments,
      templatesDir: ReportTestWorkspace.templatesDir)
    #expect(repaired == ["plots/old.svg", "plots/toy-10-per-class.svg", "toy.md"])
    #expect(try check() == [])
  }

  @Test func aNewResultMakesTheReportStale() throws {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.writeToy()
    try Report.write(
      profile: "default", resultsDir: ws.resultsDir, experimentsDir: ws.experimentsDir,
      templatesDir: ReportTestWorkspace.templatesDir)
    try ws.result(
      "toy", job: "ldam-drw-100-s2", method: "ldam-drw", seed: 2, setting: [("dataset.imbalance.ratio", .int(100))],
      label: "ρ=100", overall: [("top1_error", 27), ("ece", 0.02)])
    let problems = try Report.check(
      profile: "default", resultsDir: ws.resultsDir, experimentsDir: ws.experimentsDir,
      templatesDir: ReportTestWorkspace.templatesDir)
    #expect(problems.contains { $0.hasPrefix("stale: ") && $0.hasSuffix("/toy.md") })
    #expect(problems.contains { $0.hasSuffix("/index.md") })
  }

  @Test func profileOverlayChangesExpectedSeeds() throws {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.manifest("toy", ReportTestWorkspace.toyManifest)
    for method in ["erm", "ldam-drw"] {
      try ws.result(
        "toy", profile: "smoke", job: "\(method)-s0", method: method, seed: 0,
        setting: [("dataset.imbalance.ratio", .int(100))], label: "ρ=100", overall: [("top1_error", 20)])
    }
    let page = try #require(try render(ws, profile: "smoke")["toy.md"])
    // One seed expected under smoke: no "(n=1)"; equal means are both best.
    #expect(page.contains("| erm | **20.00 ± 0.00** |"))
    #expect(page.contains("| ldam-drw | **20.00 ± 0.00** |"))
  }

  @Test func missingTemplateIsAnError() throws {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.writeToy()
    #expect(throws: Report.RenderError.self) {
      try Report.render(
        profile: "default", resultsDir: ws.resultsDir, experimentsDir: ws.experimentsDir, templatesDir: ws.root)
    }
  }

  @Test func malformedReferenceFileStopsTheReport() throws {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.writeToy(withReference: false)
    try ws.reference("toy", "references:\n  - {profile: default, method: erm}\n")
    #expect(throws: Diff.ReferenceFileErrors.self) { try render(ws) }
  }

  @Test func metricFamiliesCollapsedRunsAndSubsetCounts() throws {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.manifest("robust", "name: robust\nmethods: [{id: smooth}, {id: plain}]\nseeds: [0, 1]\n")
    for (method, seed, base, predicted) in [
      ("smooth", 0, 60.0, 10.0), ("smooth", 1, 62.0, 10.0), ("plain", 0, 50.0, 1.0), ("plain", 1, 52.0, 10.0),
    ] {
      try ws.result(
        "robust", job: "\(method)\(seed)", method: method, seed: seed, setting: [], label: "clean",
        overall: [
          ("certified_accuracy_at_radius_0", base), ("certified_accuracy_at_radius_0.25", base - 10),
          ("certified_accuracy_at_radius_0.5", base - 30), ("train_predicted_classes", predicted),
          ("train_balanced_error", 30),
        ],
        perClass: ["accuracy": Array(repeating: base, count: 10)],
        data: [("subset_sha256", "abc"), ("subset_counts", "5,4,3")])
    }
    let files = try render(ws)
    let page = try #require(files["robust.md"])
    // Manifest order of methods; no metrics list: every metric, sorted; the run whose training predictions
    // collapsed is listed and not averaged in.
    #expect(page.contains("| smooth | **61.00 ± 1.41** |"))
    #expect(page.contains("| plain | 52.00 ± 0.00 (n=1, 1 degenerate) |"))
    #expect(page.contains("## Degenerate and failed runs"))
    #expect(
      page.contains(
        "| plain | clean | 0 | `plain0` | degenerate | collapsed | predicts 1 class on the training set; not averaged in |"
      ))
    #expect(page.contains("| clean | `abc` | 5,4,3 | — |"))
    let plot = try #require(files["plots/robust-all-certified-accuracy-at-radius.svg"])
    #expect(page.contains("](plots/robust-all-certified-accuracy-at-radius.svg)"))
    #expect(plot.contains(">radius</text>") && plot.contains(">certified accuracy</text>"))
    #expect(plot.contains(">0.25</text>") || plot.contains(">0.2</text>"))
    #expect(xmlError(plot) == nil)
  }
}

extension ReportTests {
  /// A curve recorded every few epochs (`null` between) is drawn through the epochs that have a value,
  /// with markers, instead of vanishing into one-point segments.
  @Test func sparseCurvesJoinTheEpochsWithValues() throws {
    let ws = try ReportTestWorkspace()
    defer { ws.remove() }
    try ws.manifest("toy", ReportTestWorkspace.toyManifest)
    for seed in 0..<3 {
      try ws.result(
        "toy", job: "erm-10-s\(seed)", method: "erm", seed: seed, setting: [("dataset.imbalance.ratio", .double(10))],
        label: "ρ=10", overall: [("top1_error", 14)],
        curves: ["train_loss": [2, 1.5, 1, 0.8], "test_error": [.nan, 40, .nan, Double(20 + seed)]])
    }
    let svg = try #require(try render(ws)["plots/toy-10-test-error.svg"])
    let polylines = svg.components(separatedBy: "<polyline").count - 1
    #expect(polylines == 1)
    #expect(svg.contains("<circle"))
    #expect(xmlError(svg) == nil)
  }
}
