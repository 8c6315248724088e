import Foundation

extension Report {
  /// A plot of a report: its relative path under `reports/`, its heading and the SVG.
  struct PlotFile {
    let path: String
    let title: String
    let svg: String
  }

  /// The plots of one setting (column) of an experiment, in a fixed order: per-class accuracy against
  /// training count, training curves, reliability diagrams, then metric families.
  static func plots(for column: Column, in layout: ExperimentLayout) -> [PlotFile] {
    let name = layout.results.experiment
    let prefix = "plots/\(name)-\(column.slug)"
    let byMethod = layout.methods.map { ($0, layout.runs(method: $0, column: column)) }.filter { !$0.1.isEmpty }
    var files: [PlotFile] = []

    // Per-class accuracy against training count (log x), one series per method.
    let perClass = byMethod.compactMap { method, runs -> XYChart.Series? in
      let acc = meanVectors(runs.compactMap { $0.perClass["accuracy"] })
      let counts = meanVectors(runs.compactMap { $0.perClass["train_count"] })
      guard !acc.isEmpty, !counts.isEmpty else { return nil }
      return XYChart.Series(name: method, x: counts, y: acc, style: .markers)
    }
    if !perClass.isEmpty {
      let title = "\(name), \(column.label): per-class accuracy"
      let chart = XYChart(
        title: title, xAxis: PlotAxis(label: "training examples of the class", scale: .log),
        yAxis: PlotAxis(label: "test accuracy", unit: "%", domain: 0...100), series: perClass)
      files.append(
        PlotFile(path: "\(prefix)-per-class.svg", title: "Per-class accuracy vs training count", svg: chart.svg()))
    }

    // Training curves: mean over seeds per epoch.
    var curves: [(key: String, label: String, unit: String?)] = [
      ("train_loss", "training loss", nil), ("test_error", "test error", "%"),
    ]
    // Then every curve a component added (`susceptibility`, `cals_lambda_mean`, …), by name; the trainer's
    // own `lr` and `train_error` are left out.
    let standard: Set<String> = ["train_loss", "test_error", "train_error", "lr"]
    let keys = Set(byMethod.flatMap { $0.1.flatMap { $0.curves.keys } }).subtracting(standard)
    // Per-class families (`cdb_weight_0`, `cdb_weight_1`, …) would give one chart per class: left out.
    func familyPrefix(_ key: String) -> Substring? {
      guard let cut = key.lastIndex(of: "_"), Int(key[key.index(after: cut)...]) != nil else { return nil }
      return key[..<cut]
    }
    let familySizes = Dictionary(grouping: keys.compactMap(familyPrefix), by: { $0 }).mapValues(\.count)
    let extra = keys.filter { key in familyPrefix(key).map { (familySizes[$0] ?? 0) < 2 } ?? true }.sorted()
    curves += extra.map { ($0, $0.replacingOccurrences(of: "_", with: " "), nil) }
    for curve in curves {
      let series = byMethod.compactMap { method, runs -> XYChart.Series? in
        let mean = meanVectors(runs.compactMap { $0.curves[curve.key] })
        // Epochs without a value (a test set evaluated every few epochs) are left out, and the epochs
        // that have one are joined and marked.
        let epochs = mean.indices.filter { mean[$0].isFinite }
        guard !epochs.isEmpty else { return nil }
        return XYChart.Series(
          name: method, x: epochs.map { Double($0 + 1) }, y: epochs.map { mean[$0] },
          style: epochs.count < mean.count ? .lineAndMarkers : .line)
      }
      guard !series.isEmpty else { continue }
      let chart = XYChart(
        title: "\(name), \(column.label): \(curve.label) (mean over seeds)",
        xAxis: PlotAxis(label: "epoch", integerTicks: true), yAxis: PlotAxis(label: curve.label, unit: curve.unit),
        series: series)
      let slug = curve.key.replacingOccurrences(of: "_", with: "-")
      files.append(PlotFile(path: "\(prefix)-\(slug).svg", title: "Training curve: \(curve.label)", svg: chart.svg()))
    }

    // Reliability diagrams: bins pooled over seeds, one panel per method.
    let panels = byMethod.compactMap { method, runs in reliabilityPanel(method, runs) }
    if !panels.isEmpty {
      let diagram = ReliabilityDiagram(
        title: "\(name), \(column.label): reliability (pooled over seeds)", panels: panels)
      files.append(PlotFile(path: "\(prefix)-reliability.svg", title: "Reliability diagrams", svg: diagram.svg()))
    }

    // Metric families (`certified_accuracy_at_radius_0.25`, `error@5`): a line chart against the number.
    for family in metricFamilies(layout.results.runs) {
      let series = byMethod.compactMap { method, runs -> XYChart.Series? in
        let ys = family.members.map { member in
          SeedStatistics(runs.compactMap { $0.overall[member.metric] })?.mean ?? .nan
        }
        guard ys.contains(where: \.isFinite) else { return nil }
        return XYChart.Series(name: method, x: family.members.map(\.x), y: ys, style: .lineAndMarkers)
      }
      guard !series.isEmpty else { continue }
      let chart = XYChart(
        title: "\(name), \(column.label): \(family.yLabel) vs \(family.xLabel)", xAxis: PlotAxis(label: family.xLabel),
        yAxis: PlotAxis(label: family.yLabel), series: series)
      files.append(
        PlotFile(
          path: "\(prefix)-\(ReportSlug.make(family.prefix)).svg", title: "\(family.yLabel) vs \(family.xLabel)",
          svg: chart.svg()))
    }
    return files
  }

  /// Element-wise mean over vectors (over the vectors long enough at each index; non-finite skipped).
  static func meanVectors(_ vectors: [[Double]]) -> [Double] {
    let length = vectors.map(\.count).max() ?? 0
    return (0..<length).map { i in SeedStatistics(vectors.compactMap { i < $0.count ? $0[i] : nil })?.mean ?? .nan }
  }

  /// Pools reliability bins over runs: counts add, accuracy and confidence are count-weighted means.
  /// Values above 1 mean the run stored percentages; they are divided by 100.
  static func reliabilityPanel(_ method: String, _ runs: [Run]) -> ReliabilityDiagram.Panel? {
    var count: [Double] = []
    var accSum: [Double] = []
    var confSum: [Double] = []
    for run in runs {
      guard let c = run.reliability["count"], let a = run.reliability["accuracy"], let f = run.reliability["confidence"]
      else { continue }
      let scale = (a + f).contains { $0.isFinite && $0 > 1 + 1e-9 } ? 0.01 : 1
      let bins = min(c.count, a.count, f.count)
      if count.isEmpty {
        count = Array(repeating: 0, count: bins)
        accSum = count
        confSum = count
      }
      for b in 0..<min(bins, count.count) where c[b].isFinite && c[b] > 0 {
        count[b] += c[b]
        accSum[b] += c[b] * a[b] * scale
        confSum[b] += c[b] * f[b] * scale
      }
    }
    guard !count.isEmpty else { return nil }
    return ReliabilityDiagram.Panel(
      name: method, confidence: count.indices.map { count[$0] > 0 ? confSum[$0] / count[$0] : .nan },
      accuracy: count.indices.map { count[$0] > 0 ? accSum[$0] / count[$0] : .nan }, count: count)
  }

  /// A family of scalar metrics that differ only in a trailing number.
  struct MetricFamily {
    let prefix: String
    let xLabel: String
    let yLabel: String
    let members: [(metric: String, x: Double)]
  }

  /// Metrics named `<prefix>@<number>` or `<prefix>_<number>`, grouped by prefix, kept when a prefix
  /// has at least two numbers. Labels: for `a_at_b`, y = "a", x = "b" (underscores as spaces); else
  /// y = the prefix, x = `k` for `@` and `value` otherwise.
  static func metricFamilies(_ runs: [Run]) -> [MetricFamily] {
    var groups: [String: [(String, Double)]] = [:]
    var usesAt: [String: Bool] = [:]
    for metric in Set(runs.flatMap { $0.overall.keys }) {
      guard let cut = metric.lastIndex(where: { $0 == "@" || $0 == "_" }) else { continue }
      let number = metric[metric.index(after: cut)...]
      guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }), let x = Double(number) else { continue }
      let prefix = String(metric[..<cut])
      groups[prefix, default: []].append((metric, x))
      usesAt[prefix] = metric[cut] == "@"
    }
    return groups.keys.sorted().compactMap { prefix in
      let members = groups[prefix]!.sorted { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
      guard members.count >= 2 else { return nil }
      let words = { (s: Substring) in s.replacingOccurrences(of: "_", with: " ") }
      let x: String
      let y: String
      if let range = prefix.range(of: "_at_") {
        y = words(prefix[..<range.lowerBound])
        x = words(prefix[range.upperBound...])
      } else {
        y = words(prefix[...])
        x = usesAt[prefix]! ? "k" : "value"
      }
      return MetricFamily(prefix: prefix, xLabel: x, yLabel: y, members: members.map { (metric: $0.0, x: $0.1) })
    }
  }
}

/// File-name-safe slugs: lowercase ASCII letters, digits and dots, other runs as one `-`.
enum ReportSlug {
  static func make(_ text: String) -> String {
    var out = ""
    for scalar in text.lowercased().unicodeScalars {
      if (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") || scalar == "." {
        out.unicodeScalars.append(scalar)
      } else if !out.isEmpty && !out.hasSuffix("-") {
        out += "-"
      }
    }
    while out.hasSuffix("-") { out.removeLast() }
    return out.isEmpty ? "plot" : out
  }
}
