import ArgumentParser
import Foundation
import Harness

/// `replicate report [--profile P] [--check]`.
struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Render the Markdown reports and SVG plots of a profile's results.",
    discussion: """
      Writes results/<profile>/reports/: index.md, one page per experiment, plots/*.svg. Output is byte-identical for the
      same results; --check exits 1 when the files on disk differ from what the results give.
      Example: replicate report --profile default --check
      """)

  @Flag(help: "Do not write; exit 1 when committed reports are stale, missing or extra.")
  var check = false

  @OptionGroup var profile: ProfileOption
  @OptionGroup var workspace: WorkspaceOptions

  func run() throws {
    let output = try Commands.report(workspace.workspace, profile: profile.profile, check: check)
    if output.status == 0 { Console.out(output.text) } else { Console.error(output.text) }
    if output.status != 0 { throw ExitCode(output.status) }
  }
}

/// `replicate diff [--profile P] [--format text|markdown|json]`.
struct DiffCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "diff",
    abstract: "Compare results with the papers' reference numbers and claims.",
    discussion: """
      Per reference: measured mean ± std over the healthy seeds, Δ, tolerance, pass/fail/missing. Per claim and
      setting: paired seed differences with a two-sided 90% Student-t interval; outcome held, inconclusive,
      contradicted (Holm across a claim's settings) or invalid (a degenerate comparator); not run is a status.
      --format json carries n, mean d, the interval, the degenerate runs and the design of every setting.
      Exit 1 when a reference is out of tolerance or a paper claim is contradicted.
      Example: replicate diff --profile default --format markdown
      """)

  @Option(help: "text, markdown, json, or verdicts (the expectation file --expect reads).")
  var format: DiffReport.Format = .text

  @Option(help: "Compare the verdicts with an expectation file (from --format verdicts): exit 1 when any changed.")
  var expect: String?

  @OptionGroup var profile: ProfileOption
  @OptionGroup var workspace: WorkspaceOptions

  func run() throws {
    let output = try reportingReferenceErrors {
      try Commands.diff(workspace.workspace, profile: profile.profile, format: format, expect: expect)
    }
    Console.out(output.text)
    if output.status != 0 { throw ExitCode(output.status) }
  }
}

/// Runs `body`; malformed reference files are printed, one problem a line, and exit 2.
func reportingReferenceErrors(_ body: () throws -> Commands.Output) throws -> Commands.Output {
  do {
    return try body()
  } catch let errors as Diff.ReferenceFileErrors {
    Console.error(errors.errors.map(\.description).joined(separator: "\n") + "\n")
    throw ExitCode(2)
  }
}

extension DiffReport.Format: ExpressibleByArgument {}
extension Commands.ExportFormat: ExpressibleByArgument {}

/// `replicate export`.
struct ExportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Write every table cell and every claim of a profile's current results as CSV or JSON.",
    discussion: """
      Cells: experiment, method, setting, metric, n, mean, std, per-seed values, seeds, job ids, degenerate and failed
      runs. Claims: every setting's n, mean d, interval, p, Holm and look. JSON goes to --output FILE or standard
      output; CSV needs --output DIR (cells.csv, claims.csv). Orphaned results are never exported.
      Example: replicate export --profile default --format csv --output /tmp/export
      """)

  @Option(help: "csv or json.")
  var format: Commands.ExportFormat = .json

  @Option(help: "JSON: a file (default: standard output); CSV: a folder.")
  var output: String?

  @OptionGroup var profile: ProfileOption
  @OptionGroup var workspace: WorkspaceOptions

  func run() throws {
    let result = try reportingReferenceErrors {
      try Commands.export(workspace.workspace, profile: profile.profile, format: format, output: output)
    }
    Console.out(result.text)
  }
}

/// `replicate conformance FILE…`.
struct ConformanceCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "conformance",
    abstract: "Check the implementations against vectors produced by the papers' official code.",
    discussion: """
      Reads files in the replicate-conformance/1 format; prints pass/fail per case with the largest error relative to
      its tolerance; exit 0 only if every case passes (unknown methods count as failures).
      Example: replicate conformance ../shared/conformance/vectors-public.json
      """)

  @Argument(help: "Vector files.")
  var files: [String]

  func validate() throws {
    if files.isEmpty { throw ValidationError("give at least one vector file") }
  }

  func run() throws {
    var all: [ConformanceResult] = []
    for file in files {
      do { all += try Conformance.evaluate(file: file) } catch {
        Console.error("\(error)\n")
        throw ExitCode(2)
      }
    }
    Console.out(Conformance.render(all))
    if !all.allSatisfy(\.passed) { throw ExitCode(1) }
  }
}
