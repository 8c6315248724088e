import Foundation

extension Commands {
  // MARK: report

  /// `replicate report [--profile P] [--check]`: renders the reports from the current plan's results
  /// (orphans are never read); with `check`, exit 1 when the files on disk differ.
  public static func report(_ workspace: Workspace, profile: String, check: Bool) throws -> Output {
    let plan = try workspace.checkedPlan(profile: profile)
    if check {
      let problems = try Report.check(
        profile: profile, resultsDir: workspace.resultsDir, experimentsDir: workspace.experimentsDir, plan: plan)
      if problems.isEmpty { return Output("reports are up to date\n") }
      return Output(
        problems.joined(separator: "\n") + "\nrun `replicate report --profile \(profile)` to regenerate\n", status: 1)
    }
    let written = try Report.write(
      profile: profile, resultsDir: workspace.resultsDir, experimentsDir: workspace.experimentsDir, plan: plan)
    let n = written.count
    return Output(
      "\(n) file\(n == 1 ? "" : "s") changed in \(Report.reportsDir(profile: profile, resultsDir: workspace.resultsDir))\n"
    )
  }

  // MARK: diff

  /// The current plan's verdicts and reference rows of `profile`.
  public static func diffReport(_ workspace: Workspace, profile: String) throws -> DiffReport {
    try Diff.evaluate(
      profile: profile, resultsDir: workspace.resultsDir, experimentsDir: workspace.experimentsDir,
      plan: try workspace.checkedPlan(profile: profile))
  }

  /// `replicate diff [--format F] [--expect FILE]`. Without `expect`: the report in `format`, exit 1 when a
  /// reference is out of tolerance or a paper claim is contradicted. With `expect` (a file in the
  /// `--format verdicts` form): exit 0 when every verdict equals the expectation, 1 listing those that
  /// changed, appeared or disappeared.
  public static func diff(
    _ workspace: Workspace, profile: String, format: DiffReport.Format, expect: String?
  ) throws -> Output {
    let report = try diffReport(workspace, profile: profile)
    guard let expect else {
      let rendered = report.render(format)
      return Output(rendered.hasSuffix("\n") ? rendered : rendered + "\n", status: report.failed ? 1 : 0)
    }
    guard let data = FileManager.default.contents(atPath: expect) else {
      throw HarnessError(
        .io, "cannot read the expectation file \(expect) (expected `replicate diff --format verdicts` output)")
    }
    let changes = report.changes(fromExpected: String(decoding: data, as: UTF8.self))
    let count = report.verdictLines.split(separator: "\n").count - 1
    if changes.isEmpty { return Output("verdicts as expected: \(count) lines equal \(expect)\n") }
    return Output(
      changes.joined(separator: "\n")
        + "\n\(changes.count) verdict\(changes.count == 1 ? "" : "s") differ from \(expect); if intended, regenerate it: "
        + "replicate diff --profile \(profile) --format verdicts > \(expect)\n",
      status: 1)
  }

  // MARK: export

  /// How `export` writes.
  public enum ExportFormat: String, CaseIterable, Sendable {
    /// `cells.csv` and `claims.csv` in a folder.
    case csv
    /// One JSON document with the cells and the claims.
    case json
  }

  /// `replicate export [--profile P] [--format csv|json] [--output PATH]`: every table cell (experiment,
  /// method, setting, metric, n, mean, std, per-seed values, seeds, job ids, degenerate and failed runs) and
  /// every claim with its per-setting statistics, from the current plan's results. JSON goes to `output`
  /// or standard output; CSV needs `output`, a folder that receives `cells.csv` and `claims.csv`.
  public static func export(
    _ workspace: Workspace, profile: String, format: ExportFormat, output: String?
  ) throws -> Output {
    let plan = try workspace.checkedPlan(profile: profile)
    let cells = Report.Export.cells(
      plan: plan, resultsDir: workspace.resultsDir, experimentsDir: workspace.experimentsDir)
    let diff = try Diff.evaluate(
      profile: profile, resultsDir: workspace.resultsDir, experimentsDir: workspace.experimentsDir, plan: plan)
    func write(_ text: String, _ path: String) throws {
      do { _ = try AtomicFile.write(Data(text.utf8), to: path) } catch {
        throw HarnessError(.io, "cannot write \(path): \(error)")
      }
    }
    switch format {
    case .json:
      let text = Report.Export.json(profile: profile, cells: cells, diff: diff)
      guard let output else { return Output(text) }
      try write(text, output)
      return Output("wrote \(output): \(cells.count) cells, \(diff.claims.count) claims\n")
    case .csv:
      guard let output else {
        throw HarnessError(.io, "--format csv writes two files: give --output DIR (cells.csv and claims.csv go there)")
      }
      try write(Report.Export.cellsCSV(cells), "\(output)/cells.csv")
      try write(Report.Export.claimsCSV(diff), "\(output)/claims.csv")
      return Output(
        "wrote \(output)/cells.csv (\(cells.count) cells) and \(output)/claims.csv (\(diff.claims.count) claims)\n")
    }
  }
}
