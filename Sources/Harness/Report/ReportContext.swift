import Foundation

extension Report {
  typealias DiffOutcome = (references: [DiffReport.ReferenceResult], claims: [DiffReport.ClaimResult])

  /// The Mustache context of an experiment page (keys documented in `report-templates/README.md`).
  static func experimentContext(_ layout: ExperimentLayout, profile: String, diff: DiffOutcome?) -> [String: Any] {
    let m = layout.manifest
    let results = layout.results
    var c: [String: Any] = ["name": results.experiment, "title": m.name, "profile": profile]
    if let paper = m.paper { c["paper"] = paper }
    c["hasPaper"] = m.paper != nil
    if let d = m.description { c["description"] = d.trimmingCharacters(in: .whitespacesAndNewlines) }
    c["hasDescription"] = m.description != nil
    c["runCount"] = results.runs.count
    c["failedCount"] = results.failures.count
    c["hasRuns"] = !results.runs.isEmpty
    c["expectedSeeds"] = layout.expectedSeeds
    c["seedsText"] =
      m.seeds.isEmpty
      ? "seeds as found in the results"
      : "seeds \(m.seeds.map(String.init).joined(separator: ", "))"

    let metrics = layout.metrics
    if let primary = metrics.first {
      let table = layout.table(metric: primary)
      c["primaryCaption"] = table.caption
      c["primaryTable"] = table.markdown
    }
    c["hasPrimary"] = !metrics.isEmpty && !layout.columns.isEmpty
    let others = metrics.dropFirst().map { metric -> [String: Any] in
      let t = layout.table(metric: metric)
      return ["caption": t.caption, "table": t.markdown]
    }
    c["otherMetrics"] = others
    c["hasOtherMetrics"] = !others.isEmpty && !layout.columns.isEmpty

    let failures = failureRows(layout)
    c["failuresHeading"] = "Degenerate and failed runs"
    c["hasFailures"] = !failures.isEmpty
    c["failuresTable"] = MarkdownTable.render(
      header: ["method", "setting", "seed", "job", "kind", "reason", "message"], rows: failures)

    let references = diff?.references ?? []
    c["hasReferences"] = !references.isEmpty
    c["referencesTable"] = MarkdownTable.render(
      header: ["method", "setting", "metric", "reference", "measured", "n", "Δ", "tolerance", "status", "source"],
      rows: references.map { r in
        var cells = DiffReport.referenceCells(r, includeExperiment: false)
        cells[cells.count - 1] = "**\(r.status.rawValue)**"
        return cells + [r.source ?? ""]
      }, rightAligned: [3, 4, 5, 6, 7])
    let claims = diff?.claims ?? []
    c["hasClaims"] = !claims.isEmpty
    c["claimsSection"] = claimsSection(claims, layout: layout)

    c["axes"] = gridAxes(layout)
    c["hasAxes"] = !(c["axes"] as! [[String: Any]]).isEmpty
    let fixed = fixedSettings(layout)
    c["hasFixed"] = !fixed.isEmpty
    c["fixedTable"] = MarkdownTable.render(header: ["key path", "value"], rows: fixed.map { ["`\($0.0)`", $0.1] })
    let methods = methodSpecs(layout)
    c["hasMethods"] = !methods.isEmpty
    c["methodsTable"] = MarkdownTable.render(header: ["method", "spec"], rows: methods)
    let fingerprints = fingerprintRows(layout)
    c["hasFingerprints"] = !fingerprints.isEmpty
    c["fingerprintTable"] = MarkdownTable.render(
      header: ["setting", "subset sha256", "class counts (training)", "other"], rows: fingerprints)
    return c
  }

  /// One line of the index page: the protocol it ran on against the paper's, and its paper claims by outcome.
  static func indexEntry(
    _ layout: ExperimentLayout, diff: DiffOutcome?, protocols: (run: String, paper: String?)
  ) -> [String: Any] {
    let refs = diff?.references ?? []
    let claims = diff?.claims ?? []
    func count<T>(_ xs: [T], _ p: (T) -> Bool) -> Int { xs.filter(p).count }
    let paperClaims = claims.filter(\.isPaperClaim)
    let verdicts = DiffReport.Outcome.allCases.compactMap { o -> String? in
      let n = count(paperClaims) { $0.outcome == o }
      return n > 0 ? "\(o.rawValue) \(n)" : nil
    }
    return [
      "name": layout.results.experiment, "link": "\(layout.results.experiment).md",
      "paper": MarkdownTable.escape(layout.manifest.paper ?? ""), "done": layout.results.runs.count,
      "failed": layout.results.failures.count,
      "protocol": MarkdownTable.escape(protocols.run),
      "paperProtocol": MarkdownTable.escape(protocols.paper ?? "—"),
      "references":
        refs.isEmpty
        ? "—"
        : "\(count(refs) { $0.status == .pass }) / \(count(refs) { $0.status == .fail }) / \(count(refs) { $0.status == .missing })",
      "paperClaims": paperClaims.isEmpty ? "—" : verdicts.joined(separator: ", ") + " of \(paperClaims.count)",
      "projectClaims": claims.count == paperClaims.count ? "—" : "\(claims.count - paperClaims.count)",
    ]
  }

  /// The claims section of a page: the rules, the dataset-seed caveat, the counts, then per claim its
  /// outcome, provenance and a table of its settings' statistics.
  static func claimsSection(_ claims: [DiffReport.ClaimResult], layout: ExperimentLayout) -> String {
    var out = DiffReport.rules.split(separator: "\n").joined(separator: " ") + "\n\n"
    let seeds = Set(layout.results.runs.compactMap { $0.spec.value(atPath: "dataset.seed")?.label }).sorted()
    out +=
      "These verdicts hold for one long-tailed subset, label-noise draw and test set: every job uses "
      + (seeds.isEmpty ? "one fixed `dataset.seed`" : "`dataset.seed` = \(seeds.joined(separator: ", "))")
      + ". Varying `dataset.seed` (the axis that draws the subset and the noise) would vary them.\n\n"
    let unjudged = layout.results.runs.filter { $0.overall["train_predicted_classes"] == nil }.count
    if unjudged > 0 {
      out +=
        "⚠ \(unjudged) of \(layout.results.runs.count) results predate the recording of training predictions: a "
        + "collapse among them cannot be seen, only divergence (rerun them with `--force` to judge them fully).\n\n"
    }
    if let design = claims.first(where: { $0.settings.contains { $0.look != nil } })?.design {
      out +=
        "**Design:** \(design). Each setting is judged at its current look with that look's boundary (the first "
        + "look included), so its interval is wider than 90%; `replicate all --resolve` adds the next look's seeds "
        + "to the two methods of an inconclusive setting, up to the last look.\n\n"
    }
    out += "**\(DiffReport.claimCounts(claims.filter(\.isPaperClaim), label: "Paper claims"))**"
    let project = claims.filter { !$0.isPaperClaim }
    if !project.isEmpty { out += "; \(DiffReport.claimCounts(project, label: "project claims"))" }
    out += ".\n"
    for c in claims {
      out += "\n### \(c.outcome.rawValue): `\(c.id)`\n\n\(c.text)"
      switch c.claim.kind {
      case .better:
        out +=
          " (`\(c.claim.better)` vs `\(c.claim.than)` on `\(c.claim.metric)`, \(c.claim.direction.rawValue) is better"
      case .gainGrows:
        out +=
          " (gain of `\(c.claim.better)` over `\(c.claim.than)` on `\(c.claim.metric)` along `\(c.claim.along ?? "")`"
      case .equal:
        out +=
          " (`\(c.claim.better)` vs `\(c.claim.than)` on `\(c.claim.metric)`, equal within ±\(Diff.fmt(c.claim.margin ?? 0))"
      }
      if let e = c.claim.minEffect { out += ", min_effect \(Diff.fmt(e))" }
      out += ").\n"
      switch c.claim.source {
      case .paper: out += "Source: paper — \(c.claim.quote ?? "")\n"
      case .project: out += "Source: project (a check this project added).\n"
      }
      let dLabel = c.claim.kind == .gainGrows ? "Δ gain" : "mean d"
      let rows = c.settings.map { s -> [String] in
        let i = s.interval
        var outcome = s.outcome.rawValue
        if s.outcome == .contradicted && !s.holmRejected { outcome += " (not after Holm)" }
        var notes = s.notes
        if !s.degenerate.isEmpty {
          notes.insert("degenerate: " + s.degenerate.map(\.label).joined(separator: ", "), at: 0)
        }
        return [
          s.label, outcome, i.map { String($0.n) } ?? "0",
          i?.mean.map { FixedDecimal.signed($0, digits: 2) } ?? "—",
          i?.low.map { lo in
            "\(s.coverage) [\(FixedDecimal.signed(lo, digits: 2)), \(FixedDecimal.signed(i!.high!, digits: 2))]"
          }
            ?? "—",
          s.meanBetter.map(Diff.fmt) ?? "—", s.meanThan.map(Diff.fmt) ?? "—", notes.joined(separator: "; "),
        ]
      }
      out +=
        "\n"
        + MarkdownTable.render(
          header: ["setting", "outcome", "n", dLabel, "interval", c.claim.better, c.claim.than, "notes"], rows: rows,
          rightAligned: [2, 3, 5, 6])
    }
    return out
  }

  /// Degenerate runs (diverged, or collapsed training predictions: never averaged) and failed jobs (errors
  /// to rerun), in method, setting, seed, job order; unreadable files last.
  static func failureRows(_ layout: ExperimentLayout) -> [[String]] {
    let methodRank = Dictionary(uniqueKeysWithValues: layout.methods.enumerated().map { ($1, $0) })
    let columnRank = Dictionary(uniqueKeysWithValues: layout.columns.enumerated().map { ($1.key, $0) })
    let collapsed = layout.results.runs.compactMap { run in
      run.degeneracy.map { d in
        FailedRun(
          job: run.job, method: run.method, seed: run.seed, setting: run.setting, settingLabel: run.settingLabel,
          code: d.kind.rawValue, message: d.message + "; not averaged in")
      }
    }
    let sorted = (layout.results.failures + collapsed).sorted { a, b in
      let ka = (methodRank[a.method] ?? Int.max, columnRank[a.settingKey] ?? Int.max, a.seed ?? Int.max)
      let kb = (methodRank[b.method] ?? Int.max, columnRank[b.settingKey] ?? Int.max, b.seed ?? Int.max)
      if ka != kb { return ka < kb }
      return a.job < b.job
    }
    let degenerateCodes = Degeneracy.outcomeFailureCodes.union(collapsed.map(\.code))
    return sorted.map { f in
      [
        f.method, f.settingLabel, f.seed.map(String.init) ?? "?", "`\(f.job.prefix(12))`",
        degenerateCodes.contains(f.code) ? "degenerate" : "error (rerun)", f.code, f.message,
      ]
    }
  }

  /// The grid axes and their values in column order.
  static func gridAxes(_ layout: ExperimentLayout) -> [[String: Any]] {
    var axes: [String] = []
    for column in layout.columns {
      for (axis, _) in column.setting.objectValue ?? [] where !axes.contains(axis) { axes.append(axis) }
    }
    return axes.map { axis in
      var values: [String] = []
      for column in layout.columns {
        let v = column.setting[axis]?.label ?? "—"
        if !values.contains(v) { values.append(v) }
      }
      return ["key": axis, "values": values.joined(separator: ", ")]
    }
  }

  /// Flattens a JSON object into dotted key paths and printed values (arrays as compact JSON).
  static func flatten(_ json: JSON, prefix: String = "", into out: inout [(String, String)]) {
    if let members = json.objectValue, !members.isEmpty {
      for (k, v) in members { flatten(v, prefix: prefix.isEmpty ? k : "\(prefix).\(k)", into: &out) }
    } else if !prefix.isEmpty {
      out.append((prefix, json.label))
    }
  }

  /// Spec values other than the method, seed, experiment and grid axes: the value when it is the same
  /// in every run, else `varies: a, b` (nothing is hidden).
  static func fixedSettings(_ layout: ExperimentLayout) -> [(String, String)] {
    let axes = Set(layout.columns.flatMap { ($0.setting.objectValue ?? []).map(\.key) })
    var order: [String] = []
    var values: [String: [String]] = [:]
    for run in layout.results.runs {
      var flat: [(String, String)] = []
      flatten(run.spec, into: &flat)
      for (k, v) in flat {
        if k == "seed" || k == "experiment" || k == "method" || k.hasPrefix("method.") || axes.contains(k) { continue }
        if values[k] == nil { order.append(k) }
        if !(values[k, default: []].contains(v)) { values[k, default: []].append(v) }
      }
    }
    return order.map { k in
      let vs = values[k]!
      return (k, vs.count == 1 ? vs[0] : "varies: " + vs.joined(separator: ", "))
    }
  }

  /// Each method's spec (everything under `method` but its id), from its first run.
  static func methodSpecs(_ layout: ExperimentLayout) -> [[String]] {
    layout.methods.compactMap { method in
      guard let spec = layout.results.runs.first(where: { $0.method == method })?.spec["method"] else { return nil }
      var flat: [(String, String)] = []
      flatten(spec, into: &flat)
      let text = flat.filter { $0.0 != "id" }.map { "\($0.0)=\($0.1)" }.joined(separator: ", ")
      return [method, text.isEmpty ? "—" : "`\(text)`"]
    }
  }

  /// Per setting: the long-tailed subset's SHA-256 and class counts from `metrics.data` (`class_counts`,
  /// or `subset_counts` as `Methods.JobRunner` writes it), and the other data facts; several distinct values in one setting are all shown and flagged.
  static func fingerprintRows(_ layout: ExperimentLayout) -> [[String]] {
    layout.columns.compactMap { column in
      let runs = layout.results.runs.filter { $0.settingKey == column.key }
      guard runs.contains(where: { !$0.data.isEmpty }) else { return nil }
      func distinct(_ key: String) -> [String] {
        var out: [String] = []
        for r in runs { if let v = r.data[key], !out.contains(v) { out.append(v) } }
        return out
      }
      func show(_ vs: [String], code: Bool) -> String {
        let shown = vs.map { code ? "`\($0)`" : $0 }.joined(separator: " / ")
        return vs.count > 1 ? "⚠ differs across jobs: " + shown : (vs.isEmpty ? "—" : shown)
      }
      let otherKeys = Set(runs.flatMap { $0.data.keys }).subtracting(["subset_sha256", "class_counts", "subset_counts"])
        .sorted()
      let other = otherKeys.map { k in "\(k)=\(distinct(k).joined(separator: " / "))" }.joined(separator: ", ")
      return [
        column.label, show(distinct("subset_sha256"), code: true),
        show(distinct("class_counts") + distinct("subset_counts"), code: false),
        other.isEmpty ? "—" : other,
      ]
    }
  }
}
