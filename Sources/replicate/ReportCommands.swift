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
    let w = workspace
    if check {
      let problems = try Report.check(
        profile: profile.profile, resultsDir: w.results, experimentsDir: w.experiments)
      if problems.isEmpty {
        Console.out("reports are up to date\n")
        return
      }
      Console.error(
        problems.joined(separator: "\n") + "\nrun `replicate report --profile \(profile.profile)` to regenerate\n")
      throw ExitCode(1)
    }
    let written = try Report.write(profile: profile.profile, resultsDir: w.results, experimentsDir: w.experiments)
    Console.out(
      "\(written.count) file\(written.count == 1 ? "" : "s") changed in \(Report.reportsDir(profile: profile.profile, resultsDir: w.results))\n"
    )
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

  enum Format: String, ExpressibleByArgument, CaseIterable { case text, markdown, json }

  @Option(help: "text, markdown or json.")
  var format: Format = .text

  @OptionGroup var profile: ProfileOption
  @OptionGroup var workspace: WorkspaceOptions

  func run() throws {
    let report: DiffReport
    do {
      report = try Diff.evaluate(
        profile: profile.profile, resultsDir: workspace.results, experimentsDir: workspace.experiments)
    } catch let errors as Diff.ReferenceFileErrors {
      Console.error(errors.errors.map(\.description).joined(separator: "\n") + "\n")
      throw ExitCode(2)
    }
    let rendered: String
    switch format {
    case .text: rendered = report.render(.text)
    case .markdown: rendered = report.render(.markdown)
    case .json: rendered = report.render(.json)
    }
    Console.out(rendered.hasSuffix("\n") ? rendered : rendered + "\n")
    if report.failed { throw ExitCode(1) }
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
