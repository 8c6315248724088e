import Foundation
import Methods
import Testing

@testable import Harness

/// `baseManifest` with `erm-drw` replaced by a focal-loss row whose γ the tests change.
func focalManifest(gamma: Double) -> String {
  baseManifest.replacingOccurrences(
    of: "  - id: erm-drw\n    loss: ce\n    reweight: {name: drw, start_epoch: 2}",
    with: "  - id: focal\n    loss: {name: focal, gamma: \(gamma)}")
}

/// A fake training whose top-1 error is seed + γ (0 for CE): a result shows which γ made it.
func gammaTrain(counter: CallCounter) -> Worker.Train {
  { spec, _, _ in
    counter.add("\(spec.method.id)/\(spec.seed)/\(spec.dataset.imbalance?.ratio ?? 0)")
    var out = fakeOutput(spec)
    out.overall["top1_error"] = Double(spec.seed) + (spec.method.loss.params["gamma"] ?? 0)
    return out
  }
}

@Suite("Current plan: orphans, status, gc, explain, export, expectations")
struct CurrentPlanTests {
  func run(_ workspace: Workspace, counter: CallCounter) async throws -> RunSummary {
    try await Commands.run(
      workspace, experiments: [], profile: "default", options: RunOptions(jobs: 2),
      executor: InProcessExecutor(train: gammaTrain(counter: counter)), progress: RecordingProgress())
  }

  /// Writes the demo experiment's `reference.yaml` with one lower-is-better top-1 claim.
  func writeClaim(in dir: TempDir, id: String, better: String, than: String, source: String) throws {
    try """
    claims:
      - {id: \(id), text: "\(better) beats \(than)", better: \(better), than: \(than), metric: top1_error,
         direction: lower, source: \(source)}
    """.write(toFile: "\(dir.path)/experiments/demo/reference.yaml", atomically: true, encoding: .utf8)
  }

  func calls(_ counter: CallCounter, method: String) -> Int {
    counter.all.filter { $0.key.hasPrefix("\(method)/") }.values.reduce(0, +)
  }

  @Test("a hyper-parameter change reruns only that method; reports read only the new results; gc removes the old")
  func hyperParameterRoundTrip() async throws {
    let dir = TempDir()
    try dir.writeManifest(focalManifest(gamma: 1))
    let workspace = dir.workspace
    let counter = CallCounter()
    #expect(try await run(workspace, counter: counter).count(.done) == 12)

    // γ 1 → 2: `plan --explain` names the key, and only focal's six jobs would run.
    try dir.writeManifest(focalManifest(gamma: 2))
    let explained = try Commands.plan(
      workspace, experiments: [], profile: "default", emit: .list, parallel: 1, explain: true)
    #expect(explained.text.contains("6 jobs would run: 6 spec-changed"), "\(explained.text)")
    #expect(explained.text.contains("method.loss.gamma"), "\(explained.text)")
    #expect(!explained.text.contains(" erm "), "\(explained.text)")
    #expect(try await run(workspace, counter: counter).count(.done) == 6)
    #expect(calls(counter, method: "focal") == 12 && calls(counter, method: "erm") == 6)

    // Reports and diff read the current plan: focal's cell is seeds 0, 1, 2 plus γ = 2 (mean 3, std 1),
    // not the mixture with γ = 1 (mean 2.5 over six runs).
    let plan = try workspace.currentPlan(profile: "default")
    let results = Report.ExperimentResults.load(
      experiment: "demo", profile: "default", resultsDir: workspace.resultsDir, plan: plan)
    let focal = results.runs.filter { $0.method == "focal" }.compactMap { $0.overall["top1_error"] }
    #expect(focal.count == 6 && focal.allSatisfy { $0 >= 2 }, "\(focal)")
    let pages = try Report.render(
      profile: "default", resultsDir: workspace.resultsDir, experimentsDir: workspace.experimentsDir,
      templatesDir: ReportTestWorkspace.templatesDir, plan: plan)
    let page = try #require(pages["demo.md"])
    let focalRow = try #require(page.split(separator: "\n").first { $0.contains("focal") && $0.contains("±") })
    #expect(focalRow.contains("3.00 ± 1.00") && !focalRow.contains("2.50"), "\(focalRow)")
    #expect(!focalRow.contains("(n="), "\(focalRow)")

    // The six γ = 1 results are orphans: status counts them, gc lists them, `--apply` removes them.
    let before = try Commands.statuses(workspace, profile: "default")
    #expect(
      before == [
        Commands.ExperimentStatus(
          experiment: "demo", planned: 12, done: 12, degenerate: 0, failed: 0, pending: 0, orphans: 6)
      ])
    let dry = try Commands.gc(workspace, profile: "default", apply: false, archive: nil)
    #expect(dry.text.contains("6 orphaned files") && dry.text.contains("dry run"), "\(dry.text)")
    #expect(try workspace.currentPlan(profile: "default").orphans(in: workspace.store).count == 6)
    let archive = "\(dir.path)/archive"
    let applied = try Commands.gc(workspace, profile: "default", apply: true, archive: archive)
    #expect(applied.text.contains("6 orphaned files"), "\(applied.text)")
    #expect(files(under: archive) { $0.hasSuffix(".json") }.count == 6)
    #expect(try Commands.statuses(workspace, profile: "default")[0].orphans == 0)
    #expect(try Commands.status(workspace, profile: "default").text.contains("demo        12       12"))
  }

  @Test("a version bump gives new ids to the jobs of that unit only, and explain says which version moved")
  func versionBumpRerunsOnlyItsJobs() async throws {
    let dir = TempDir()
    try dir.writeManifest(focalManifest(gamma: 1))
    let counter = CallCounter()
    #expect(try await run(dir.workspace, counter: counter).count(.done) == 12)
    var bumped = dir.workspace
    bumped.identity = JobIdentity(
      engine: "engine-test",
      versions: { spec in
        var v = MethodVersions.of(spec)
        if v["loss/focal"] != nil { v["loss/focal"] = 2 }
        return v
      }, fingerprint: { _ in "test-data" })
    let explained = try Commands.plan(
      bumped, experiments: [], profile: "default", emit: .list, parallel: 1, explain: true)
    #expect(explained.text.contains("6 jobs would run: 6 version-bumped"), "\(explained.text)")
    #expect(explained.text.contains("loss/focal 1 → 2"), "\(explained.text)")
    #expect(try await run(bumped, counter: counter).count(.done) == 6)
    #expect(calls(counter, method: "focal") == 12 && calls(counter, method: "erm") == 6)
  }

  @Test("show: planned but not run, done with provenance, orphan")
  func show() async throws {
    let dir = TempDir()
    try dir.writeManifest(focalManifest(gamma: 1))
    let workspace = dir.workspace
    let job = try workspace.jobs(profile: "default")[0]
    let planned = try Commands.show(workspace, id: String(job.id.prefix(12)))
    #expect(planned.text.contains("planned, not run yet"), "\(planned.text)")
    #expect(planned.text.contains("\"seed\": \(job.seed)"), "\(planned.text)")
    _ = try await run(workspace, counter: CallCounter())
    let done = try Commands.show(workspace, id: job.id)
    #expect(done.text.contains("status      done"), "\(done.text)")
    #expect(done.text.contains("plan        current"), "\(done.text)")
    // The project commit (40 hex digits) or `unknown` outside a checkout; never "not recorded" for a new result.
    let commit = try #require(done.text.split(separator: "\n").first { $0.hasPrefix("commit") })
    let hash = commit.split(separator: " ").dropFirst().first.map(String.init) ?? ""
    #expect(hash == "unknown" || (hash.count == 40 && hash.allSatisfy(\.isHexDigit)), "\(commit)")
    #expect(done.text.contains("command     replicate"), "\(done.text)")
    try dir.writeManifest(focalManifest(gamma: 3))
    let orphanJob = try #require(workspace.store.results(profile: "default").first { $0.method == "focal" })
    let orphan = try Commands.show(workspace, id: orphanJob.job)
    #expect(orphan.text.contains("plan        orphan"), "\(orphan.text)")
    #expect(throws: HarnessError.self) { try Commands.show(workspace, id: "ffffffffffff") }
  }

  @Test("export writes every cell and claim of the current plan, byte for byte the same each time")
  func exportIsStable() async throws {
    let dir = TempDir()
    try dir.writeManifest(focalManifest(gamma: 1))
    try writeClaim(in: dir, id: "focal-beats-erm", better: "focal", than: "erm", source: "project")
    let workspace = dir.workspace
    _ = try await run(workspace, counter: CallCounter())
    try dir.writeManifest(focalManifest(gamma: 2))
    _ = try await run(workspace, counter: CallCounter())
    let orphanIDs = try workspace.currentPlan(profile: "default").orphans(in: workspace.store).map(\.id)
    #expect(orphanIDs.count == 6)

    let json = try Commands.export(workspace, profile: "default", format: .json, output: nil).text
    #expect(json == (try Commands.export(workspace, profile: "default", format: .json, output: nil).text))
    #expect(!orphanIDs.contains { json.contains($0) })
    let document = try JSON(parsing: Data(json.utf8))
    let cells = try #require(document["cells"]?.arrayValue)
    // 2 methods × 2 settings × the fake output's metrics.
    let focalTop1 = try #require(
      cells.first { $0["method"]?.stringValue == "focal" && $0["metric"]?.stringValue == "top1_error" })
    #expect(focalTop1["values"]?.arrayValue?.compactMap(\.doubleValue) == [2, 3, 4])
    #expect(focalTop1["seeds"]?.arrayValue?.compactMap(\.intValue) == [0, 1, 2])
    #expect(focalTop1["jobs"]?.arrayValue?.count == 3)
    #expect(focalTop1["mean"]?.doubleValue == 3 && focalTop1["std"]?.doubleValue == 1)
    let claim = try #require(document["claims"]?.arrayValue?.first)
    // A claim without a setting pools the pairs of every setting.
    #expect(claim["id"]?.stringValue == "focal-beats-erm" && claim["settings"]?.arrayValue?.count == 1)

    let out = "\(dir.path)/export"
    _ = try Commands.export(workspace, profile: "default", format: .csv, output: out)
    let cellsCSV = try String(contentsOfFile: "\(out)/cells.csv", encoding: .utf8)
    let claimsCSV = try String(contentsOfFile: "\(out)/claims.csv", encoding: .utf8)
    _ = try Commands.export(workspace, profile: "default", format: .csv, output: out)
    #expect(try String(contentsOfFile: "\(out)/cells.csv", encoding: .utf8) == cellsCSV)
    #expect(try String(contentsOfFile: "\(out)/claims.csv", encoding: .utf8) == claimsCSV)
    #expect(cellsCSV.hasPrefix("experiment,method,setting,metric,n,mean,std,values,seeds,jobs,"))
    #expect(cellsCSV.contains(",top1_error,3,3,1,2;3;4,0;1;2,"), "\(cellsCSV)")
    #expect(claimsCSV.split(separator: "\n").count == 2)
    #expect(
      claimsCSV.contains(
        "demo,focal-beats-erm,project,better,focal,erm,top1_error,contradicted,all settings,contradicted,6,"))
    #expect(throws: HarnessError.self) { try Commands.export(workspace, profile: "default", format: .csv, output: nil) }
  }

  @Test("diff --expect: equal verdicts pass, a changed verdict fails naming it")
  func diffExpectation() async throws {
    let dir = TempDir()
    try dir.writeManifest(focalManifest(gamma: 1))
    try writeClaim(in: dir, id: "erm-beats-focal", better: "erm", than: "focal", source: "paper, quote: \"Table 1\"")
    let workspace = dir.workspace
    _ = try await run(workspace, counter: CallCounter())
    let expectation = "\(dir.path)/verdicts.txt"
    let lines = try Commands.diff(workspace, profile: "default", format: .verdicts, expect: nil).text
    #expect(lines.contains("claim\tdemo/erm-beats-focal\t[all settings]\theld"), "\(lines)")
    try lines.write(toFile: expectation, atomically: true, encoding: .utf8)
    let same = try Commands.diff(workspace, profile: "default", format: .text, expect: expectation)
    #expect(same.status == 0 && same.text.contains("verdicts as expected"), "\(same.text)")

    // ERM's error is seed + 0 against focal's seed + γ: held at γ = 1; with γ = 0 the two are equal.
    #expect(lines.contains("claim\tdemo/erm-beats-focal\theld"), "\(lines)")
    try dir.writeManifest(focalManifest(gamma: 0))
    _ = try await run(workspace, counter: CallCounter())
    let changed = try Commands.diff(workspace, profile: "default", format: .text, expect: expectation)
    #expect(changed.status == 1, "\(changed.text)")
    #expect(changed.text.contains("changed  claim demo/erm-beats-focal: expected held, now"), "\(changed.text)")
    #expect(throws: HarnessError.self) {
      try Commands.diff(workspace, profile: "default", format: .text, expect: "\(dir.path)/absent.txt")
    }
  }

  @Test("without the data files, commands that read or remove results refuse instead of orphaning them all")
  func absentDataIsAnErrorNotOrphans() async throws {
    let dir = TempDir()
    try dir.writeManifest(focalManifest(gamma: 1))
    _ = try await run(dir.workspace, counter: CallCounter())
    var elsewhere = dir.workspace
    elsewhere.identity = JobIdentity(engine: "engine-test") { _ in "absent" }
    for command in [
      { try Commands.gc(elsewhere, profile: "default", apply: true, archive: nil) },
      { try Commands.report(elsewhere, profile: "default", check: true) },
      { try Commands.diff(elsewhere, profile: "default", format: .text, expect: nil) },
    ] {
      #expect {
        _ = try command()
      } throws: { error in
        (error as? HarnessError)?.code == .dataAbsent && "\(error)".contains("fashion-mnist")
      }
    }
    #expect(try Commands.status(elsewhere, profile: "default").text.contains("data absent here: fashion-mnist"))
    // Run from the wrong folder (no manifest), or with a broken manifest: nothing is treated as orphaned.
    var lost = dir.workspace
    lost.experimentsDir = "\(dir.path)/nowhere"
    #expect(throws: HarnessError.self) { try Commands.gc(lost, profile: "default", apply: true, archive: nil) }
    try dir.writeManifest(focalManifest(gamma: 1) + "unknown_key: 1\n")
    #expect(throws: ManifestErrors.self) { try Commands.gc(dir.workspace, profile: "default", apply: true, archive: nil) }
    #expect(dir.workspace.store.results(profile: "default").count == 12)
  }
}
