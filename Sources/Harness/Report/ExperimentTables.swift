import Foundation

extension Report {
  /// A column of the experiment's tables: one setting (a combination of grid values).
  struct Column {
    /// Canonical key (``Report/Run/settingKey``).
    let key: String
    /// The header (`setting_label`).
    let label: String
    /// The setting object.
    let setting: JSON
    /// File-name-safe identifier, unique within the experiment.
    var slug: String
  }

  /// The layout of one experiment's page: columns (settings), rows (methods) and the runs.
  struct ExperimentLayout {
    let results: ExperimentResults
    let manifest: ManifestSummary
    let columns: [Column]
    let methods: [String]
    /// The expected number of seeds per cell.
    let expectedSeeds: Int

    init(results: ExperimentResults, manifest: ManifestSummary) {
      self.results = results
      self.manifest = manifest
      // Columns: settings of the runs and of failures that name one, ordered by manifest grid order.
      var seen: [String: Column] = [:]
      var axes: [String] = []
      let settings =
        results.runs.map { ($0.settingKey, $0.settingLabel, $0.setting) }
        + results.failures.filter { !($0.setting.objectValue ?? []).isEmpty }.map {
          ($0.settingKey, $0.settingLabel, $0.setting)
        }
      for (key, label, setting) in settings where seen[key] == nil {
        seen[key] = Column(key: key, label: label, setting: setting, slug: "")
        for (axis, _) in setting.objectValue ?? [] where !axes.contains(axis) { axes.append(axis) }
      }
      let order = axes.map { manifest.gridValues(at: $0) }
      func rank(_ column: Column, _ i: Int) -> (Int, JSON?) {
        let v = column.setting[axes[i]]
        let index = v.flatMap { x in order[i]?.firstIndex { Diff.sameValue(x, $0) } }
        return (index ?? Int.max, v)
      }
      var columns = seen.values.sorted { a, b in
        for i in axes.indices {
          let (ra, va) = rank(a, i)
          let (rb, vb) = rank(b, i)
          if ra != rb { return ra < rb }
          if !Diff.sameOptional(va, vb) { return Diff.valueLess(va, vb) }
        }
        return a.key < b.key
      }
      var used: Set<String> = []
      for i in columns.indices {
        let base = Self.slug(columns[i].setting)
        var slug = base
        var n = 2
        while used.contains(slug) {
          slug = "\(base)-\(n)"
          n += 1
        }
        used.insert(slug)
        columns[i].slug = slug
      }
      self.columns = columns
      let found = Set(results.runs.map(\.method) + results.failures.map(\.method)).subtracting(["?"])
      methods = manifest.methods.filter { found.contains($0) } + found.subtracting(manifest.methods).sorted()
      let maxN = Dictionary(grouping: results.runs) { "\($0.method)#\($0.settingKey)" }.values.map(\.count).max() ?? 0
      expectedSeeds = manifest.seeds.isEmpty ? maxN : manifest.seeds.count
    }

    /// `exponential-100` from the setting's values; `all` when there is none.
    static func slug(_ setting: JSON) -> String {
      let values = (setting.objectValue ?? []).map(\.value.label)
      return values.isEmpty ? "all" : ReportSlug.make(values.joined(separator: "-"))
    }

    func runs(method: String, column: Column) -> [Run] {
      results.runs.filter { $0.method == method && $0.settingKey == column.key }
    }

    func failures(method: String, column: Column) -> [FailedRun] {
      results.failures.filter { $0.method == method && $0.settingKey == column.key }
    }

    /// The metrics shown: the manifest's list (primary first), else every metric of the runs, sorted.
    var metrics: [String] {
      if !manifest.metrics.isEmpty { return manifest.metrics }
      return Set(results.runs.flatMap { $0.overall.keys }).sorted()
    }

    /// The number of degenerate runs of a cell: degenerate results and diverged jobs (``Report/Degeneracy``).
    func degenerateCount(method: String, column: Column) -> Int {
      runs(method: method, column: column).filter { $0.degeneracy != nil }.count
        + failures(method: method, column: column).filter(\.isDegenerate).count
    }

    /// The methods × settings table of a metric: mean ± std over the healthy runs, `(n=…)` when fewer
    /// healthy seeds than expected, degenerate runs and errors counted in the cell (never averaged in), the
    /// best mean per column in bold among the cells without a degenerate run (ties at the shown precision
    /// all bold; only for metrics with a known direction).
    func table(metric: String) -> MetricTable {
      var stats: [[SeedStatistics?]] = []
      var degenerate: [[Int]] = []
      for method in methods {
        stats.append(
          columns.map { c in
            SeedStatistics(
              runs(method: method, column: c).filter { $0.degeneracy == nil }.compactMap { $0.overall[metric] })
          })
        degenerate.append(columns.map { degenerateCount(method: method, column: $0) })
      }
      let largest = stats.flatMap { $0.compactMap { $0.map { abs($0.mean) } } }.max() ?? 0
      let digits = Report.digits(forMagnitude: largest)
      let direction = Report.direction(of: metric)
      var best: [String?] = columns.map { _ in nil }
      if let direction {
        for j in columns.indices {
          let means = methods.indices.filter { degenerate[$0][j] == 0 }.compactMap { stats[$0][j]?.mean }
          let pick = direction == .lower ? means.min() : means.max()
          best[j] = pick.map { FixedDecimal.fixed($0, digits: digits) }
        }
      }
      var rows: [[String]] = []
      for (i, method) in methods.enumerated() {
        var cells = [method]
        for (j, c) in columns.enumerated() {
          let errors = failures(method: method, column: c).filter { !$0.isDegenerate }.count
          let bad = degenerate[i][j]
          var cell = "—"
          if let s = stats[i][j] {
            let mean = FixedDecimal.fixed(s.mean, digits: digits)
            cell = mean + " ± " + FixedDecimal.fixed(s.std, digits: digits)
            if best[j] == mean && methods.count > 1 && bad == 0 { cell = "**\(cell)**" }
            var notes: [String] = []
            if s.n != expectedSeeds { notes.append("n=\(s.n)") }
            if bad > 0 { notes.append("\(bad) degenerate") }
            if errors > 0 { notes.append("\(errors) failed") }
            if !notes.isEmpty { cell += " (\(notes.joined(separator: ", ")))" }
          } else if bad > 0 || errors > 0 {
            cell = [bad > 0 ? "\(bad) degenerate" : nil, errors > 0 ? "\(errors) failed" : nil].compactMap { $0 }
              .joined(separator: ", ")
          }
          cells.append(cell)
        }
        rows.append(cells)
      }
      let arrow = direction.map { $0 == .lower ? " (lower is better)" : " (higher is better)" } ?? ""
      return MetricTable(metric: metric, caption: metric + arrow, header: ["method"] + columns.map(\.label), rows: rows)
    }
  }

  /// A rendered methods × settings table.
  struct MetricTable {
    let metric: String
    let caption: String
    let header: [String]
    let rows: [[String]]

    var markdown: String {
      MarkdownTable.render(header: header, rows: rows, rightAligned: Set(1..<max(1, header.count)))
    }
  }

  /// Decimals for a table whose largest |mean| is `m`: 2 from 1 up, 3 from 0.1, else 4.
  static func digits(forMagnitude m: Double) -> Int {
    m >= 1 ? 2 : m >= 0.1 ? 3 : 4
  }

  /// Whether lower or higher values of a metric are better, from its name: errors, losses, NLL, ECE
  /// and Brier scores are lower-is-better; accuracies, AUC and radii higher-is-better; nil otherwise.
  public static func direction(of metric: String) -> Diff.Claim.Direction? {
    let m = metric.lowercased()
    for word in ["error", "loss", "nll", "ece", "brier"] where m.contains(word) { return .lower }
    for word in ["accuracy", "acc", "auc", "radius", "precision", "recall", "f1"] where m.contains(word) {
      return .higher
    }
    return nil
  }
}
