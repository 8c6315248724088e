import Foundation

/// The outcome of comparing a profile's results with the reference files: one row per applicable
/// reference number and one per applicable claim. `replicate diff` prints it and exits 1 when
/// ``failed`` (a reference out of tolerance or a paper claim contradicted); a missing result is
/// reported but does not fail.
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

  /// The verdict on a claim or on one of its settings (DESIGN.md, Verdicts).
  public enum Outcome: String, Sendable, CaseIterable {
    /// Setting: ≥ 3 healthy pairs, the interval's lower bound > 0 (and ≥ `min_effect`), A healthy wherever
    /// B is (`equal`: the interval inside ±margin). Claim: every setting held.
    case held
    /// Neither held nor contradicted nor invalid (a claimed-better method that degenerated included).
    case inconclusive
    /// Setting: the interval's upper bound < 0 (`equal`: the interval outside ±margin). Claim: some setting
    /// contradicted after Holm's correction across the claim's settings.
    case contradicted
    /// Setting: the comparator is degenerate in some seed (`equal`: either method). Claim: some setting
    /// invalid and none contradicted.
    case invalid
    /// Not a verdict: a status. The jobs have not run (or only errors to rerun exist).
    case notRun = "not run"
  }

  /// A run excluded from a comparison because it is degenerate.
  public struct DegenerateRun: Sendable {
    /// The method id.
    public var method: String
    /// The seed.
    public var seed: Int
    /// The job id.
    public var job: String
    /// Why it is degenerate.
    public var degeneracy: Report.Degeneracy

    /// `cb-rw seed 1 (diverged: loss is nan at epoch 2, step 3)`.
    public var label: String { "\(method) seed \(seed) (\(degeneracy))" }
  }

  /// The verdict on one setting of a claim (one combination of its `per` axes; for `gain-grows`, one
  /// adjacent step along its axis).
  public struct SettingVerdict: Sendable {
    /// `profile=exponential ratio=100`, or `ratio 10 → 100 (profile=step)`.
    public var label: String
    /// The setting's outcome before Holm (see ``holmRejected``).
    public var outcome: Outcome
    /// The one-sided level of each side of its interval (0.05: the two-sided 90% interval).
    public var level: Double = Diff.fixedLevel
    /// The paired analysis; nil when not run.
    public var interval: Diff.PairedInterval? = nil
    /// The healthy runs' means of A and B (nil for gain-grows steps).
    public var meanBetter: Double? = nil, meanThan: Double? = nil
    /// The degenerate runs of A and B in this setting.
    public var degenerate: [DegenerateRun] = []
    /// Notes for a person: seeds not run, a margin too tight for TOST, Holm.
    public var notes: [String] = []
    /// The one-sided p-value of the contradicting direction; nil without an interval.
    public var pContradicted: Double? = nil
    /// Whether a `contradicted` outcome survives Holm's correction across the claim's settings.
    public var holmRejected = false
    /// The 0-based look of the group-sequential design the setting is judged at; nil for a fixed design.
    public var look: Int? = nil
    /// The paired seeds of the design's next look; nil at the last look or for a fixed design.
    public var nextLookSeeds: Int? = nil
    /// The grid settings (result files' `setting` objects) of the runs the setting compares.
    public var gridSettings: [JSON] = []

    /// Creates a verdict.
    public init(label: String, outcome: Outcome, level: Double = Diff.fixedLevel, notes: [String] = []) {
      self.label = label
      self.outcome = outcome
      self.level = level
      self.notes = notes
    }

    /// `90%`: the two-sided coverage of the interval.
    public var coverage: String { FixedDecimal.fixed(100 * (1 - 2 * level), digits: level == 0.05 ? 0 : 1) + "%" }

    /// `n=3 d=+1.26 90% [+0.71, +1.81]`, or what is missing.
    public var statistics: String {
      guard let i = interval, i.n > 0, let m = i.mean else { return "n=0" }
      var out = "n=\(i.n) d=\(FixedDecimal.signed(m, digits: 2))"
      if let lo = i.low, let hi = i.high {
        out += " \(coverage) [\(FixedDecimal.signed(lo, digits: 2)), \(FixedDecimal.signed(hi, digits: 2))]"
      }
      return out
    }
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
    /// Whether someone read the number in the paper (nil: unknown).
    public var verified: Bool?
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
    /// The claim as declared.
    public var claim: Diff.Claim
    /// The verdict.
    public var outcome: Outcome
    /// Per setting: outcome and statistics.
    public var settings: [SettingVerdict]
    /// The test and level used, in words.
    public var design: String

    /// The claim's id.
    public var id: String { claim.id }
    /// The claim in words.
    public var text: String { claim.text }
    /// Whether the paper states it.
    public var isPaperClaim: Bool { claim.source == .paper }

    /// One line per setting: `profile=step ratio=100: held n=3 d=+1.26 90% [+0.71, +1.81] (ldam-drw 17.06 vs
    /// ldam 18.32); degenerate: …; notes`.
    public var settingLines: [String] {
      settings.map { s in
        var line = "\(s.label): \(s.outcome.rawValue)"
        if s.outcome != .notRun || s.interval != nil { line += " " + s.statistics }
        if let a = s.meanBetter, let b = s.meanThan {
          line += " (\(claim.better) \(Diff.fmt(a)) vs \(claim.than) \(Diff.fmt(b)))"
        }
        if !s.degenerate.isEmpty { line += "; degenerate: " + s.degenerate.map(\.label).joined(separator: ", ") }
        if !s.notes.isEmpty { line += "; " + s.notes.joined(separator: "; ") }
        return line
      }
    }

    /// The setting lines joined by `; ` … as one string.
    public var detail: String { settingLines.joined(separator: " · ") }
  }

  /// The output formats of `replicate diff --format`.
  public enum Format: String, Sendable, CaseIterable {
    /// Aligned plain text.
    case text
    /// Markdown tables.
    case markdown
    /// The JSON document of the CLI contract.
    case json
    /// One tab-separated line per claim, claim setting and reference with its outcome: the expectation
    /// file `diff --expect` compares with (``verdictLines``).
    case verdicts
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

  /// True when a reference is out of tolerance or a paper claim is contradicted (exit status 1). Missing
  /// references, project claims and claims not run do not fail.
  public var failed: Bool {
    references.contains { $0.status == .fail } || claims.contains { $0.isPaperClaim && $0.outcome == .contradicted }
  }

  /// The report in a format.
  public func render(_ format: Format) -> String {
    switch format {
    case .text: return text()
    case .markdown: return markdown()
    case .json: return json()
    case .verdicts: return verdictLines
    }
  }

  /// The verdicts as an expectation file: a comment naming the profile, then one tab-separated line per
  /// claim (`claim`, `experiment/id`, outcome), per claim setting (`claim`, `experiment/id`, `[setting]`,
  /// outcome) and per reference (`reference`, `experiment/method`, `[setting]`, metric, source, status).
  public var verdictLines: String {
    var lines = ["# replicate diff --format verdicts --profile \(profile): claim and reference outcomes"]
    for c in claims {
      lines.append(["claim", "\(c.experiment)/\(c.id)", c.outcome.rawValue].joined(separator: "\t"))
      for s in c.settings {
        lines.append(["claim", "\(c.experiment)/\(c.id)", "[\(s.label)]", s.outcome.rawValue].joined(separator: "\t"))
      }
    }
    for r in references {
      lines.append(
        ["reference", "\(r.experiment)/\(r.method)", "[\(r.settingLabel)]", r.metric, r.source ?? "-", r.status.rawValue]
          .joined(separator: "\t"))
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// How these verdicts differ from an expectation file in the ``verdictLines`` format: one line per
  /// verdict that changed, appeared or disappeared, in expectation order then new ones; empty when equal.
  public func changes(fromExpected expected: String) -> [String] {
    // Keys are everything but the outcome; a key that repeats (two rows alike) is numbered in file order.
    func entries(_ text: String) -> [(key: String, value: String)] {
      var seen: [String: Int] = [:]
      return text.split(separator: "\n").compactMap { line in
        let t = line.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty, !t.hasPrefix("#") else { return nil }
        let fields = t.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        let key = fields.dropLast().joined(separator: " ")
        seen[key, default: 0] += 1
        return (seen[key]! == 1 ? key : "\(key) #\(seen[key]!)", fields.last ?? "")
      }
    }
    let old = entries(expected)
    let new = entries(verdictLines)
    let newByKey = Dictionary(new.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    let oldKeys = Set(old.map(\.key))
    var out: [String] = []
    for (key, value) in old {
      if let now = newByKey[key] {
        if now != value { out.append("changed  \(key): expected \(value), now \(now)") }
      } else {
        out.append("gone     \(key): expected \(value), now absent")
      }
    }
    for (key, value) in new where !oldKeys.contains(key) { out.append("new      \(key): \(value), not expected") }
    return out
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
        ("source", r.source.map(JSON.string) ?? .null), ("verified", r.verified.map(JSON.bool) ?? .null),
      ])
    }
    let claims = self.claims.map(Self.claimJSON)
    return JSON.object([
      ("profile", .string(profile)), ("summary", summaryJSON), ("references", .array(refs)), ("claims", .array(claims)),
    ]).pretty(indent: 2) + "\n"
  }

  static func number(_ x: Double?) -> JSON { x.map { $0.isFinite ? JSON.double($0) : .null } ?? .null }

  /// A claim with its settings' statistics: outcome, n, mean d, standard error, the interval and its level,
  /// the p-value of the contradicting side, Holm, the degenerate runs and notes.
  static func claimJSON(_ c: ClaimResult) -> JSON {
    let settings = c.settings.map { s -> JSON in
      let i = s.interval
      return .object([
        ("setting", .string(s.label)), ("outcome", .string(s.outcome.rawValue)), ("n", .int(i?.n ?? 0)),
        ("mean_d", number(i?.mean)), ("se", number(i?.standardError)), ("ci_low", number(i?.low)),
        ("ci_high", number(i?.high)), ("level_per_side", .double(s.level)), ("t_critical", number(i?.critical)),
        ("p_contradicted", number(s.pContradicted)), ("holm_rejected", .bool(s.holmRejected)),
        ("look", s.look.map { JSON.int($0 + 1) } ?? .null),
        ("mean_better", number(s.meanBetter)), ("mean_than", number(s.meanThan)),
        (
          "degenerate_runs",
          .array(
            s.degenerate.map {
              .object([
                ("method", .string($0.method)), ("seed", .int($0.seed)), ("job", .string($0.job)),
                ("kind", .string($0.degeneracy.kind.rawValue)), ("message", .string($0.degeneracy.message)),
              ])
            })
        ),
        ("notes", .array(s.notes.map(JSON.string))),
      ])
    }
    let claim = c.claim
    return .object([
      ("experiment", .string(c.experiment)), ("id", .string(c.id)), ("text", .string(c.text)),
      ("kind", .string(claim.kind.rawValue)), ("source", .string(claim.source.rawValue)),
      ("quote", claim.quote.map(JSON.string) ?? .null), ("better", .string(claim.better)),
      ("than", .string(claim.than)), ("metric", .string(claim.metric)),
      ("direction", .string(claim.direction.rawValue)), ("min_effect", number(claim.minEffect)),
      ("margin", number(claim.margin)), ("outcome", .string(c.outcome.rawValue)), ("design", .string(c.design)),
      ("settings", .array(settings)),
    ])
  }

  /// Counts by outcome of the paper claims and of the project claims, and of the references.
  var summaryJSON: JSON {
    func counts(_ claims: [ClaimResult]) -> JSON {
      .object(
        [("total", .int(claims.count))]
          + Outcome.allCases.map { o in (o.rawValue, JSON.int(claims.filter { $0.outcome == o }.count)) })
    }
    return .object([
      ("paper_claims", counts(claims.filter(\.isPaperClaim))),
      ("project_claims", counts(claims.filter { !$0.isPaperClaim })),
      (
        "references",
        .object(
          [ReferenceStatus.pass, .fail, .missing].map { s in
            (s.rawValue, JSON.int(references.filter { $0.status == s }.count))
          })
      ),
    ])
  }

  /// Counts, e.g. `paper claims: held 3, inconclusive 2, contradicted 0, invalid 1 of 6 (not run 0); project
  /// claims: …; references: 3 pass, 1 fail, 1 missing`.
  public var summary: String {
    let r = [ReferenceStatus.pass, .fail, .missing].map { s in
      "\(references.filter { $0.status == s }.count) \(s.rawValue)"
    }
    return "\(Self.claimCounts(claims.filter(\.isPaperClaim), label: "paper claims")); "
      + "\(Self.claimCounts(claims.filter { !$0.isPaperClaim }, label: "project claims")); "
      + "references: \(r.joined(separator: ", "))"
  }

  /// `paper claims: held 3, inconclusive 2, contradicted 0, invalid 1 of 6` plus `(not run 2)` when some are.
  public static func claimCounts(_ claims: [ClaimResult], label: String) -> String {
    func n(_ o: Outcome) -> Int { claims.filter { $0.outcome == o }.count }
    var out =
      "\(label): held \(n(.held)), inconclusive \(n(.inconclusive)), contradicted \(n(.contradicted)), "
      + "invalid \(n(.invalid)) of \(claims.count)"
    if n(.notRun) > 0 { out += " (not run \(n(.notRun)))" }
    return out
  }

  /// How claims are judged, in one paragraph (printed by `diff` and on every report page).
  public static let rules = """
    Claims are judged per setting on paired seeds: d = A − B per seed (oriented so d > 0 favours the claim) over \
    the seeds where both runs are healthy, with a two-sided 90% Student-t interval (n − 1 degrees of freedom), so \
    each side is a one-sided 5% test. held: ≥ 3 healthy pairs, lower bound > 0 (and ≥ any min_effect), the \
    claimed-better method healthy wherever the comparator is; contradicted: upper bound < 0, and a claim is \
    contradicted only if a setting stays so after Holm's correction across the claim's settings; invalid: the \
    comparator is degenerate in some seed (such a setting is no test: it counts in Holm's m but is never \
    contradicted); otherwise inconclusive. equal claims: two one-sided tests, the same 90% \
    interval inside ±margin. gain-grows claims: per seed, the gain's change between adjacent values of the axis. A \
    run is degenerate when its loss or a metric went non-finite or its final training predictions collapsed (one \
    class, fewer than half of the classes, or a balanced training error within 2 points of chance); degeneracy is \
    judged on training quantities only. At 5% per test, a few false outcomes are expected among some 80 claims.
    """

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
        "  \(c.outcome.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \(c.experiment)/\(c.id) "
        + "[\(c.claim.source.rawValue)]: \(c.text)\n"
      for line in c.settingLines { out += "               \(line)\n" }
    }
    out += "\n" + Self.rules.split(separator: "\n").joined(separator: " ") + "\n"
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
      out += Self.rules.split(separator: "\n").joined(separator: " ") + "\n\n"
      out += MarkdownTable.render(
        header: ["experiment", "claim", "source", "outcome", "settings"],
        rows: claims.map {
          [
            $0.experiment, "`\($0.id)`: \($0.text)", $0.claim.source.rawValue, "**\($0.outcome.rawValue)**",
            $0.settingLines.joined(separator: "<br>"),
          ]
        })
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
