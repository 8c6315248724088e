import Foundation
import Mustache

extension Report {
  /// Why reports could not be rendered or written.
  public struct RenderError: Error, CustomStringConvertible, Sendable {
    /// The kind of problem.
    public enum Code: String, Sendable {
      /// A template file is absent.
      case missingTemplate = "missing-template"
      /// A template does not parse.
      case badTemplate = "bad-template"
      /// A report file could not be written or removed.
      case io
    }
    /// The kind of problem.
    public var code: Code
    /// The file concerned.
    public var path: String
    /// What was expected.
    public var message: String
    public var description: String { "\(path): \(message) [\(code.rawValue)]" }
  }

  /// The templates a report needs, by name, in `report-templates/`.
  public static let templateNames = ["experiment", "index"]

  /// The default templates folder: `report-templates/` beside the experiments folder.
  public static func defaultTemplatesDir(experimentsDir: String) -> String {
    let parent = (experimentsDir as NSString).deletingLastPathComponent
    return (parent.isEmpty ? "." : parent as NSString).appendingPathComponent("report-templates")
  }

  /// The folder reports of `profile` live in: `<resultsDir>/<profile>/reports`.
  public static func reportsDir(profile: String, resultsDir: String) -> String {
    (resultsDir as NSString).appendingPathComponent("\(profile)/reports")
  }

  /// Renders every report page of a profile: `index.md`, `<experiment>.md` per experiment (those with
  /// a manifest and those with results), and `plots/*.svg`. Keys are paths relative to the reports
  /// folder; the result is a pure function of the result files, manifests, reference files and
  /// templates (no clock, no environment, no file-system order). With a `plan` (what commands pass),
  /// only the results of its jobs are read and only its experiments get pages (``CurrentPlan``). Throws
  /// ``Diff/ReferenceFileErrors`` for a malformed reference file and ``RenderError`` for templates.
  public static func render(
    profile: String, resultsDir: String, experimentsDir: String, templatesDir: String? = nil, plan: CurrentPlan? = nil
  ) throws -> [String: String] {
    let templates = try loadTemplates(templatesDir ?? defaultTemplatesDir(experimentsDir: experimentsDir))
    let referenceFiles = Dictionary(
      uniqueKeysWithValues: try Diff.loadReferenceFiles(experimentsDir: experimentsDir).map { ($0.0, $0.1) })
    var files: [String: String] = [:]
    var summaries: [[String: Any]] = []
    var allClaims: [DiffReport.ClaimResult] = []
    let manifests = Diff.loadableManifests(experimentsDir: experimentsDir)
    let designs = Diff.designs(manifests)
    for experiment in experimentNames(
      profile: profile, resultsDir: resultsDir, experimentsDir: experimentsDir, planned: plan != nil)
    {
      let results = ExperimentResults.load(experiment: experiment, profile: profile, resultsDir: resultsDir, plan: plan)
      let manifest = ManifestSummary.load(experiment: experiment, profile: profile, experimentsDir: experimentsDir)
      let layout = ExperimentLayout(results: results, manifest: manifest)
      let diff = referenceFiles[experiment].map {
        Diff.evaluate(
          $0, experiment: experiment, profile: profile, results: results, design: designs[experiment]?[profile])
      }
      allClaims += diff?.claims ?? []
      var context = experimentContext(layout, profile: profile, diff: diff)
      var groups: [[String: Any]] = []
      for column in layout.columns {
        let plots = Report.plots(for: column, in: layout)
        for plot in plots { files[plot.path] = plot.svg }
        if !plots.isEmpty {
          groups.append(["label": column.label, "plots": plots.map { ["title": $0.title, "path": $0.path] }])
        }
      }
      context["plotGroups"] = groups
      context["hasPlots"] = !groups.isEmpty
      files["\(experiment).md"] = normalizeMarkdown(templates["experiment"]!.render(context))
      summaries.append(
        indexEntry(
          layout, diff: diff,
          protocols: ProtocolSummary.describe(manifest: manifests[experiment], profile: profile))
      )
    }
    let index: [String: Any] = [
      "profile": profile, "experiments": summaries, "hasExperiments": !summaries.isEmpty,
      "totals": "**All experiments:** "
        + DiffReport.claimCounts(allClaims.filter(\.isPaperClaim), label: "paper claims")
        + "; " + DiffReport.claimCounts(allClaims.filter { !$0.isPaperClaim }, label: "project claims") + ".",
    ]
    files["index.md"] = normalizeMarkdown(templates["index"]!.render(index))
    return files
  }

  /// Renders and writes the reports into `<resultsDir>/<profile>/reports/`, rewriting only files whose
  /// bytes change and removing `.md`/`.svg` files there that the results no longer give. Returns the
  /// relative paths written or removed, sorted.
  @discardableResult
  public static func write(
    profile: String, resultsDir: String, experimentsDir: String, templatesDir: String? = nil, plan: CurrentPlan? = nil
  ) throws -> [String] {
    let files = try render(
      profile: profile, resultsDir: resultsDir, experimentsDir: experimentsDir, templatesDir: templatesDir, plan: plan)
    let root = reportsDir(profile: profile, resultsDir: resultsDir)
    let fm = FileManager.default
    var changed: [String] = []
    for (path, text) in files.sorted(by: { $0.key < $1.key }) {
      let full = (root as NSString).appendingPathComponent(path)
      let data = Data(text.utf8)
      if fm.contents(atPath: full) == data { continue }
      do {
        try fm.createDirectory(
          atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: full), options: .atomic)
      } catch {
        throw RenderError(code: .io, path: full, message: "a writable file (\(error))")
      }
      changed.append(path)
    }
    for path in existingReportFiles(root) where files[path] == nil {
      let full = (root as NSString).appendingPathComponent(path)
      do {
        try fm.removeItem(atPath: full)
      } catch {
        throw RenderError(code: .io, path: full, message: "a removable file (\(error))")
      }
      changed.append(path)
    }
    return changed.sorted()
  }

  /// Compares the reports on disk with what the results give (`replicate report --check`): one line per
  /// difference, `stale: <path>`, `missing: <path>` or `extra: <path>`, sorted by path; empty when the
  /// committed reports are up to date.
  public static func check(
    profile: String, resultsDir: String, experimentsDir: String, templatesDir: String? = nil, plan: CurrentPlan? = nil
  ) throws -> [String] {
    let files = try render(
      profile: profile, resultsDir: resultsDir, experimentsDir: experimentsDir, templatesDir: templatesDir, plan: plan)
    let root = reportsDir(profile: profile, resultsDir: resultsDir)
    var problems: [(String, String)] = []
    for (path, text) in files {
      let full = (root as NSString).appendingPathComponent(path)
      guard let data = FileManager.default.contents(atPath: full) else {
        problems.append((path, "missing: \(full)"))
        continue
      }
      if data != Data(text.utf8) { problems.append((path, "stale: \(full)")) }
    }
    for path in existingReportFiles(root) where files[path] == nil {
      problems.append((path, "extra: \((root as NSString).appendingPathComponent(path))"))
    }
    return problems.sorted { $0.0 < $1.0 }.map(\.1)
  }

  /// Collapses runs of blank lines (left by sections that render nothing) into one and ends the page
  /// with exactly one newline; trailing spaces on lines are removed.
  static func normalizeMarkdown(_ text: String) -> String {
    var lines: [Substring] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      var l = line
      while l.last == " " { l = l.dropLast() }
      if l.isEmpty && (lines.last?.isEmpty ?? true) { continue }
      lines.append(l)
    }
    while lines.last?.isEmpty == true { lines.removeLast() }
    return lines.joined(separator: "\n") + "\n"
  }

  /// `.md` files in the reports folder and `.svg` files in its `plots/`, relative, sorted.
  static func existingReportFiles(_ root: String) -> [String] {
    let fm = FileManager.default
    let pages = ((try? fm.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasSuffix(".md") }
    let plotsDir = (root as NSString).appendingPathComponent("plots")
    let plots = ((try? fm.contentsOfDirectory(atPath: plotsDir)) ?? []).filter { $0.hasSuffix(".svg") }
      .map { "plots/\($0)" }
    return (pages + plots).sorted()
  }

  /// Experiments with a manifest or (unless `planned`: orphans only) with result files under the profile, in name
  /// order.
  static func experimentNames(profile: String, resultsDir: String, experimentsDir: String, planned: Bool = false)
    -> [String]
  {
    let fm = FileManager.default
    var names: Set<String> = []
    for name in (try? fm.contentsOfDirectory(atPath: experimentsDir)) ?? [] {
      let manifest = (experimentsDir as NSString).appendingPathComponent("\(name)/manifest.yaml")
      if fm.fileExists(atPath: manifest) { names.insert(name) }
    }
    let profileDir = (resultsDir as NSString).appendingPathComponent(profile)
    if planned { return names.sorted() }
    for name in (try? fm.contentsOfDirectory(atPath: profileDir)) ?? [] where name != "reports" && name != "logs" {
      let folder = (profileDir as NSString).appendingPathComponent(name)
      if ((try? fm.contentsOfDirectory(atPath: folder)) ?? []).contains(where: { $0.hasSuffix(".json") }) {
        names.insert(name)
      }
    }
    return names.sorted()
  }

  static func loadTemplates(_ dir: String) throws -> [String: MustacheTemplate] {
    var templates: [String: MustacheTemplate] = [:]
    for name in templateNames {
      let path = (dir as NSString).appendingPathComponent("\(name).mustache")
      guard let data = FileManager.default.contents(atPath: path) else {
        throw RenderError(code: .missingTemplate, path: path, message: "the report template \(name).mustache")
      }
      let text = String(decoding: data, as: UTF8.self)
      guard text.hasPrefix("{{% CONTENT_TYPE: TEXT}}") else {
        throw RenderError(
          code: .badTemplate, path: path,
          message: "a first line {{% CONTENT_TYPE: TEXT}} (else values are HTML-escaped)")
      }
      do {
        templates[name] = try MustacheTemplate(string: text)
      } catch {
        throw RenderError(code: .badTemplate, path: path, message: "a valid Mustache template (\(error))")
      }
    }
    return templates
  }
}
