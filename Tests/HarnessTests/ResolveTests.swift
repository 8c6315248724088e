import Foundation
import Methods
import Testing
import _ReplicateTestSupport

@testable import Harness

@Suite struct ResolveTests {
  /// `baseManifest` with a design for the default profile.
  static let designed = baseManifest.replacingOccurrences(
    of: "\nprofiles:\n", with: "\nprofiles:\n  default:\n    resolve: {looks: [3, 5, 8], boundary: pocock}\n")

  func errors(_ yaml: String) -> [ManifestError] {
    do {
      _ = try ManifestLoader.parse(yaml: yaml, file: "m.yaml", folderName: "demo")
      return []
    } catch let e as ManifestErrors {
      return e.errors
    } catch {
      return []
    }
  }

  @Test func aProfileDeclaresItsDesign() throws {
    let m = try ManifestLoader.parse(yaml: Self.designed, file: "m.yaml", folderName: "demo")
    #expect(m.design(profile: "default") == SequentialDesign(looks: [3, 5, 8], boundary: .pocock))
    #expect(m.design(profile: "smoke") == nil)
    // The design does not change the jobs or their ids.
    #expect(try plannedJobs(Self.designed).map(\.id) == plannedJobs().map(\.id))
  }

  @Test func badDesignsNameTheKey() {
    let notFirst = Self.designed.replacingOccurrences(of: "looks: [3, 5, 8]", with: "looks: [2, 5, 8]")
    #expect(errors(notFirst).map(\.keyPath) == ["profiles.default.resolve.looks"])
    #expect(errors(notFirst).first?.message.contains("the profile runs 3 seeds") == true)
    let decreasing = Self.designed.replacingOccurrences(of: "looks: [3, 5, 8]", with: "looks: [3, 5, 4]")
    #expect(errors(decreasing).first?.message.contains("strictly increasing") == true)
    let boundary = Self.designed.replacingOccurrences(of: "pocock", with: "haybittle")
    #expect(errors(boundary).map(\.keyPath) == ["profiles.default.resolve.boundary"])
    let key = Self.designed.replacingOccurrences(of: "boundary: pocock", with: "boundary: pocock, alpha: 0.1")
    #expect(errors(key).count == 1)
  }

  func workspace(_ resolveYAML: String?) throws -> ReportTestWorkspace {
    let ws = try ReportTestWorkspace()
    try ws.manifest("demo", Self.designed)
    if let resolveYAML { try ws.write(resolveYAML, to: "experiments/demo/resolve.yaml") }
    return ws
  }

  @Test func addedSeedsArePartOfThePlan() throws {
    var seeds = ResolveSeeds()
    seeds.add(
      profile: "default", methods: ["erm-drw", "erm"], setting: .object([("dataset.imbalance.ratio", .int(10))]),
      seeds: [4, 3])
    let ws = try workspace(seeds.yaml())
    defer { ws.remove() }
    let m = try ManifestLoader.load(file: "\(ws.experimentsDir)/demo/manifest.yaml")
    #expect(m.addedSeeds == seeds)
    let jobs = m.jobs(profile: "default")
    #expect(jobs.count == 12 + 4)
    let added = jobs.suffix(4).map { "\($0.spec.method.id)/\($0.setting.label)/\($0.spec.seed)" }
    #expect(added == ["erm/ρ=10/3", "erm/ρ=10/4", "erm-drw/ρ=10/3", "erm-drw/ρ=10/4"])
    #expect(m.jobs(profile: "smoke").count == 4)
    // The text round-trips.
    #expect(try ResolveSeeds.load(path: "\(ws.experimentsDir)/demo/resolve.yaml", manifest: m) == seeds)
  }

  @Test func aResolveFileNamingNoJobIsAnError() throws {
    let ws = try workspace(
      "default:\n  - {methods: [focal], setting: {\"dataset.imbalance.ratio\": 50}, seeds: [3]}\n")
    defer { ws.remove() }
    #expect {
      try ManifestLoader.load(file: "\(ws.experimentsDir)/demo/manifest.yaml")
    } throws: { error in
      let errors = (error as? ManifestErrors)?.errors ?? []
      return errors.map(\.keyPath) == ["default[0].methods", "default[0].setting"]
        && errors.allSatisfy { $0.file.hasSuffix("demo/resolve.yaml") && $0.line == 2 }
    }
  }

  @Test func resolveAddsTheNextLookToInconclusiveSettingsOnly() throws {
    let ws = try workspace(nil)
    defer { ws.remove() }
    try ws.reference(
      "demo",
      """
      claims:
        - {id: drw-beats-erm, text: t, better: erm-drw, than: erm, metric: top1_error, direction: lower,
           per: [dataset.imbalance.ratio], source: paper, quote: "Table 1"}
      """)
    // ρ=100: d = 5, 5.1, 4.9 (held at the first look); ρ=10: d = 1, −1, 0.5 (inconclusive).
    let cells: [(Int, [Double], [Double])] = [
      (100, [10, 10, 10], [15, 15.1, 14.9]), (10, [10, 10, 10], [11, 9, 10.5]),
    ]
    for (ratio, drw, erm) in cells {
      for (method, values) in [("erm-drw", drw), ("erm", erm)] {
        for (seed, x) in values.enumerated() {
          try ws.result(
            "demo", job: "\(method)-\(ratio)-\(seed)", method: method, seed: seed,
            setting: [("dataset.imbalance.ratio", .int(ratio))], label: "ρ=\(ratio)", overall: [("top1_error", x)])
        }
      }
    }
    let claim = try Diff.evaluate(profile: "default", resultsDir: ws.resultsDir, experimentsDir: ws.experimentsDir)
      .claims[0]
    #expect(claim.settings.map(\.outcome) == [.inconclusive, .held])  // ratio 10, then 100
    #expect(claim.design.hasPrefix("Pocock group-sequential design, looks at 3, 5, 8"))
    #expect(claim.settings[0].notes.last == "look 1 of 3: `replicate all --resolve` adds seeds up to 5")
    let additions = try Diff.resolveAdditions(
      profile: "default", resultsDir: ws.resultsDir, experimentsDir: ws.experimentsDir)
    #expect(additions.count == 1)
    #expect(additions[0].seeds.entries.map(\.seeds) == [[3, 4]])
    #expect(additions[0].seeds.entries.map(\.methods) == [["erm", "erm-drw"]])
    #expect(additions[0].seeds.entries[0].setting == .object([("dataset.imbalance.ratio", .int(10))]))
    #expect(additions[0].lines == ["demo/drw-beats-erm [ratio=10]: erm-drw and erm to 5 seeds (adds 3, 4)"])
  }

  @Test func seedListsExtendTheProfilesSeeds() {
    #expect(Diff.seedList(base: [0, 1, 2], count: 5) == [0, 1, 2, 3, 4])
    #expect(Diff.seedList(base: [0, 1, 2], count: 2) == [0, 1])
    #expect(Diff.seedList(base: [5, 9], count: 4) == [5, 9, 10, 11])
  }

  /// `replicate all --resolve` end to end: a setting that stays inconclusive gets its looks up to the design's
  /// last, and a loss that diverges on the way (an outcome, not an error) does not stop the design.
  @Test func resolveRunsEveryLookPastADivergence() async throws {
    let dir = TempDir()
    try dir.writeManifest(Self.designed)
    try """
    claims:
      - {id: drw-beats-erm, text: t, better: erm-drw, than: erm, metric: top1_error, direction: lower,
         per: [dataset.imbalance.ratio], source: paper, quote: "Table 1"}
    """.write(toFile: "\(dir.path)/experiments/demo/reference.yaml", atomically: true, encoding: .utf8)
    let counter = CallCounter()
    // ρ=100: ERM 5 points worse (held at the first look). ρ=10: d = ∓1 by seed (never decided); erm-drw's
    // seed 3 diverges.
    let train: Worker.Train = { spec, _, _ in
      let ratio = spec.dataset.imbalance?.ratio ?? 0
      counter.add("\(spec.method.id)/\(spec.seed)/\(ratio)")
      if spec.method.id == "erm-drw" && ratio == 10 && spec.seed == 3 {
        throw JobFailure(.nonFiniteLoss, "loss is nan at epoch 1")
      }
      var out = fakeOutput(spec)
      let drw = spec.method.id == "erm-drw"
      out.overall["top1_error"] =
        ratio == 100 ? (drw ? 10 : 15 + 0.1 * Double(spec.seed)) : (drw ? 10 + (spec.seed % 2 == 0 ? 1 : -1) : 10)
      return out
    }
    var lines: [String] = []
    let summary = try await Commands.resolve(
      dir.workspace, profile: "default", options: RunOptions(jobs: 2),
      executor: InProcessExecutor(train: train), progress: RecordingProgress(), report: { lines.append($0) })
    // The divergence is reported in the exit status (3, as `run`), and the looks went on past it.
    #expect(summary.exitCode == 3 && summary.failed.map(\.seed) == [3])
    #expect(counter.all["erm-drw/7/10.0"] == 1 && counter.all["erm/7/10.0"] == 1, "\(counter.all.keys.sorted())")
    #expect(counter.all["erm/3/100.0"] == nil)
    #expect(lines.contains { $0.contains("to 8 seeds") }, "\(lines)")
    #expect(lines.last?.contains("no inconclusive setting can take more seeds") == true, "\(lines)")
    let resolve = try String(contentsOfFile: "\(dir.path)/experiments/demo/resolve.yaml", encoding: .utf8)
    #expect(resolve.contains("[3, 4, 5, 6, 7]"), "\(resolve)")
  }
}
