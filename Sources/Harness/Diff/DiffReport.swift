import Foundation

/// The outcome of comparing a profile's results with the reference files: one row per applicable
/// reference number and one per applicable claim. `replicate diff` prints it and exits 1 when
/// ``failed``; a missing result is reported but does not fail.
public struct DiffReport: Sendable {
  /// Pass when |measured mean − reference| ≤ tolerance; missing when no finite result matches.
  public enum ReferenceStatus: String, Sendable {
    /// Within tolerance.
    case pass
    /// Outside tolerance.
    case fail
    /// No result matches the reference.
    case missing
  }

  /// Whether a claim held across seeds.
  public enum ClaimStatus: String, Sendable {
    /// Held in every combination.
    case held
    /// Failed in at least one combination.
    case failed
    /// No failure, but some combination lacks results.
    case missing
  }

  /// One reference number against the measurement.
  public struct ReferenceResult: Sendable {
    /// The experiment.
    public var experiment: String
    /// The method id.
    public var method: String
    /// The reference's setting (key path → value), in file order.
    public var setting: [(key: String, value: JSON)]
    /// The metric.
    public var metric: String
    /// The paper's value.
    public var reference: Double
    /// The unit, if given.
    public var unit: String?
    /// The source, if given.
    public var source: String?
    /// Mean over seeds; nil when missing.
    public var measuredMean: Double?
    /// Sample standard deviation over seeds (0 for one seed); nil when missing.
    public var measuredStd: Double?
    /// Seeds (result files) that entered the mean.
    public var nSeeds: Int
    /// measured mean − reference; nil when missing.
    public var delta: Double?
    /// The tolerance.
    public var tolerance: Double
    /// The status.
    public var status: ReferenceStatus

    /// `key=value` pairs of the setting, last key path component only (`ratio=100`).
    public var settingLabel: String {
      setting.isEmpty ? "all" : setting.map { "\(lastComponent($0.key))=\($0.value.label)" }.joined(separator: " ")
    }
  }

  /// One claim's verdict.
  public struct ClaimResult: Sendable {
    /// The experiment.
    public var experiment: String
    /// The claim's id.
    public var id: String
    /// The claim in words.
    public var text: String
    /// The verdict.
    public var status: ClaimStatus
    /// Per combination: the means and seed wins (`better`), or the gains (`gain-grows`).
    public var detail: String
  }

  /// The output formats of `replicate diff --format`.
  public enum Format: String, Sendable, CaseIterable {
    /// Aligned plain text.
    case text
    /// Markdown tables.
    case markdown
    /// The JSON document of the CLI contract.
    case json
  }

  /// The profile compared.
  public var profile: String
  /// Reference rows, experiments sorted by name, file order within.
  public var references: [ReferenceResult]
  /// Claim rows, same order.
  public var claims: [ClaimResult]

  /// Creates a report.
  public init(profile: String, references: [ReferenceResult], claims: [ClaimResult]) {
    self.profile = profile
    self.references = references
    self.claims = claims
  }

  /// True when any reference fails or any claim failed (exit status 1). Missing does not fail.
  public var failed: Bool {
    references.contains { $0.status == .fail } || claims.contains { $0.status == .failed }
  }

  /// The report in a format.
  public func render(_ format: Format) -> String {
    switch format {
    case .text: return text()
    case .markdown: return markdown()
    case .json: return json()
    }
  }

  /// `{"references": [...], "claims": [...]}` with exactly the contract's keys, indented by two spaces,
  /// numbers at full precision, `null` for missing measurements; ends in a newline.
  public func json() -> String {
    let refs = references.map { r -> JSON in
      .object([
        ("experiment", .string(r.experiment)), ("method", .string(r.method)),
        ("setting", .object(r.setting)), ("metric", .string(r.metric)), ("reference", .double(r.reference)),
        ("measured_mean", r.measuredMean.map(JSON.double) ?? .null),
        ("measured_std", r.measuredStd.map(JSON.double) ?? .null),
        ("n_seeds", .int(r.nSeeds)), ("delta", r.delta.map(JSON.double) ?? .null),
        ("tolerance", .double(r.tolerance)), ("status", .string(r.status.rawValue)),
      ])
    }
    let claims = self.claims.map { c -> JSON in
      .object([
        ("experiment", .string(c.experiment)), ("id", .string(c.id)), ("text", .string(c.text)),
        ("status", .string(c.status.rawValue)), ("detail", .string(c.detail)),
      ])
    }
    return JSON.object([("references", .array(refs)), ("claims", .array(claims))]).pretty(indent: 2) + "\n"
  }

  /// Counts, e.g. `references: 3 pass, 1 fail, 1 missing; claims: 1 held, 0 failed, 1 missing`.
  public var summary: String {
    let r = [ReferenceStatus.pass, .fail, .missing].map { s in
      "\(references.filter { $0.status == s }.count) \(s.rawValue)"
    }
    let c = [ClaimStatus.held, .failed, .missing].map { s in "\(claims.filter { $0.status == s }.count) \(s.rawValue)" }
    return "references: \(r.joined(separator: ", ")); claims: \(c.joined(separator: ", "))"
  }

  /// Rows of formatted reference cells (shared by the text and Markdown renderers and by reports).
  static func referenceCells(_ r: ReferenceResult, includeExperiment: Bool = true) -> [String] {
    let digits = 2
    let measured: String
    if let m = r.measuredMean, let s = r.measuredStd {
      measured = FixedDecimal.fixed(m, digits: digits) + " ± " + FixedDecimal.fixed(s, digits: digits)
    } else {
      measured = "—"
    }
    var cells = includeExperiment ? [r.experiment] : []
    cells += [
      r.method, r.settingLabel, r.metric, FixedDecimal.fixed(r.reference, digits: digits), measured, String(r.nSeeds),
      r.delta.map { FixedDecimal.signed($0, digits: digits) } ?? "—", FixedDecimal.fixed(r.tolerance, digits: digits),
      r.status.rawValue,
    ]
    return cells
  }

  /// Aligned plain text: a references table, then each claim with its detail, then the summary line.
  public func text() -> String {
    var out = "replicate diff — profile \(profile)\n\nReferences\n"
    if references.isEmpty {
      out += "  (none for this profile)\n"
    } else {
      let header = [
        "experiment", "method", "setting", "metric", "reference", "measured", "n", "delta", "tol", "status",
      ]
      out += alignedRows([header] + references.map { Self.referenceCells($0) })
    }
    out += "\nClaims\n"
    if claims.isEmpty { out += "  (none for this profile)\n" }
    for c in claims {
      out +=
        "  \(c.status.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(c.experiment)/\(c.id): \(c.text)\n"
      if !c.detail.isEmpty { out += "          \(c.detail)\n" }
    }
    out += "\n\(summary)\n"
    return out
  }

  /// Markdown: a references table, a claims table, and the summary.
  public func markdown() -> String {
    var out = "# Diff against references — profile `\(profile)`\n\n## References\n\n"
    if references.isEmpty {
      out += "No reference numbers for this profile.\n"
    } else {
      out += MarkdownTable.render(
        header: [
          "experiment", "method", "setting", "metric", "reference", "measured", "n", "Δ", "tolerance", "status",
        ],
        rows: references.map { Self.referenceCells($0) }, rightAligned: [4, 5, 6, 7, 8])
    }
    out += "\n## Claims\n\n"
    if claims.isEmpty {
      out += "No claims for this profile.\n"
    } else {
      out += MarkdownTable.render(
        header: ["experiment", "claim", "status", "detail"],
        rows: claims.map { [$0.experiment, "\($0.id): \($0.text)", "**\($0.status.rawValue)**", $0.detail] })
    }
    out += "\n\(summary)\n"
    return out
  }

  private func alignedRows(_ rows: [[String]]) -> String {
    let columns = rows.map(\.count).max() ?? 0
    var widths = [Int](repeating: 0, count: columns)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    var out = ""
    for row in rows {
      var line = ""
      for (i, cell) in row.enumerated() {
        line += "  " + (i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count))
      }
      out += line + "\n"
    }
    return out
  }
}

/// GitHub-flavoured Markdown tables with escaped cells.
enum MarkdownTable {
  /// `|`-separated rows; `|` and newlines inside cells are escaped; columns in `rightAligned` align right.
  static func render(header: [String], rows: [[String]], rightAligned: Set<Int> = []) -> String {
    var out = "| " + header.map(escape).joined(separator: " | ") + " |\n"
    out += "|" + header.indices.map { rightAligned.contains($0) ? "---:|" : "---|" }.joined() + "\n"
    for row in rows { out += "| " + row.map(escape).joined(separator: " | ") + " |\n" }
    return out
  }

  static func escape(_ cell: String) -> String {
    cell.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
  }
}
