import Foundation

extension Diff {
  /// One job as a verdict sees it: a healthy run with its metric value, or a degenerate one.
  struct Observation {
    var method: String
    var seed: Int
    var job: String
    /// The metric value of a healthy run; nil when the run is degenerate or lacks the metric.
    var value: Double?
    /// Why the run is degenerate (``Report/Degeneracy``), nil when healthy.
    var degeneracy: Report.Degeneracy?
    /// The setting object of the job.
    var setting: JSON
    /// Looks up key paths in the spec, then in the setting.
    var lookup: (String) -> JSON?

    /// Healthy runs and degenerate runs (diverged jobs included) of `claim`'s two methods that match its
    /// `setting`; errors to rerun (crashes, bad data) are not observations: their jobs count as not run.
    static func of(_ claim: Claim, results: Report.ExperimentResults) -> [Observation] {
      var out: [Observation] = []
      let methods: Set<String> = [claim.better, claim.than]
      for run in results.runs where methods.contains(run.method) && matches(run, claim.setting) {
        let degeneracy = run.degeneracy
        let v = run.overall[claim.metric]
        out.append(
          Observation(
            method: run.method, seed: run.seed, job: run.job,
            value: degeneracy == nil && (v?.isFinite ?? false) ? v : nil, degeneracy: degeneracy,
            setting: run.setting, lookup: run.value(at:)))
      }
      for f in results.failures where methods.contains(f.method) && f.isDegenerate {
        guard let seed = f.seed, matches(f.value(at:), claim.setting) else { continue }
        out.append(
          Observation(
            method: f.method, seed: seed, job: f.job, value: nil, degeneracy: f.degeneracy, setting: f.setting,
            lookup: f.value(at:)))
      }
      return out
    }

    /// The pairing key: the whole setting and the seed (two runs of a pair share init, data order and subset).
    var pairKey: String { setting.compact + "#\(seed)" }

    /// The pairing key without the `along` axis (gain-grows pairs seeds across the axis's values).
    func pairKey(without axis: String) -> String {
      JSON.object((setting.objectValue ?? []).filter { $0.key != axis }).compact + "#\(seed)"
    }

    var degenerateRun: DiffReport.DegenerateRun? {
      degeneracy.map { DiffReport.DegenerateRun(method: method, seed: seed, job: job, degeneracy: $0) }
    }
  }

  /// Groups observations by their values at `axes`, groups ordered by those values (see `valueLess`).
  static func group(_ obs: [Observation], by axes: [String]) -> [(label: String, obs: [Observation])] {
    var groups: [String: [Observation]] = [:]
    var representative: [String: [JSON?]] = [:]
    for o in obs {
      let values = axes.map { o.lookup($0) }
      let key = values.map { $0?.compact ?? "null" }.joined(separator: "\u{1F}")
      groups[key, default: []].append(o)
      representative[key] = values
    }
    let keys = groups.keys.sorted { a, b in
      for (x, y) in zip(representative[a]!, representative[b]!) where !sameOptional(x, y) { return valueLess(x, y) }
      return a < b
    }
    return keys.map { key in
      let label =
        axes.isEmpty
        ? "all settings"
        : zip(axes, representative[key]!).map { "\(lastComponent($0))=\($1?.label ?? "null")" }.joined(separator: " ")
      return (label, groups[key]!)
    }
  }

  /// The one-sided level of each side of a fixed-seed test: the two-sided 90% interval.
  public static let fixedLevel = 0.05

  /// A claim's verdict: each setting judged on paired differences, then the claim (see
  /// ``DiffReport/Outcome``). `results` are the experiment's results, failures included. With a `design`
  /// (the profile's `resolve:`), each setting is judged at its current look of the group-sequential design
  /// (the look reached by the number of seeds both methods have run), with that look's boundary, the first
  /// look included; without one, by the fixed two-sided 90% interval.
  public static func evaluate(
    _ claim: Claim, experiment: String, results: Report.ExperimentResults, design: SequentialDesign? = nil
  ) -> DiffReport.ClaimResult {
    let obs = Observation.of(claim, results: results)
    var settings: [DiffReport.SettingVerdict]
    switch claim.kind {
    case .better, .equal: settings = pairedSettings(claim, obs, design: design)
    case .gainGrows: settings = gainSettings(claim, obs, design: design)
    }
    if settings.isEmpty {
      settings = [
        DiffReport.SettingVerdict(
          label: "all settings", outcome: .notRun, notes: ["no results for \(claim.better) or \(claim.than)"])
      ]
    }
    // Holm across the claim's judged settings, on the one-sided p-values of "contradicted".
    let judged = settings.indices.filter { settings[$0].outcome != .notRun }
    let rejected = holmRejections(judged.map { (settings[$0].pContradicted, settings[$0].level) })
    for (j, i) in judged.enumerated() where settings[i].outcome == .contradicted {
      settings[i].holmRejected = rejected.contains(j)
      if !rejected.contains(j) {
        settings[i].notes.append("not contradicted after Holm across \(judged.count) settings")
      }
    }
    let outcome: DiffReport.Outcome
    if judged.isEmpty {
      outcome = .notRun
    } else if settings.contains(where: \.holmRejected) {
      outcome = .contradicted
    } else if settings.contains(where: { $0.outcome == .invalid }) {
      outcome = .invalid
    } else if settings.contains(where: { $0.outcome == .notRun }) {
      outcome = .notRun
    } else if settings.allSatisfy({ $0.outcome == .held }) {
      outcome = .held
    } else {
      outcome = .inconclusive
    }
    return DiffReport.ClaimResult(
      experiment: experiment, claim: claim, outcome: outcome, settings: settings,
      design: (design.map { $0.summary + ", paired Student-t at each look" }
        ?? "paired Student-t, two-sided 90% interval (one-sided 5% per side)") + "; Holm across settings")
  }

  /// The look a setting has reached under `design` (the last look whose seed count the seeds run by both
  /// methods reach; the first when fewer), its level and critical value for `n` healthy pairs.
  static func look(_ design: SequentialDesign?, seedsRun: Int, pairs n: Int) -> Look {
    guard let design else { return Look(index: nil, count: 0, level: fixedLevel, critical: nil, next: nil) }
    let k = design.looks.lastIndex { $0 <= seedsRun } ?? 0
    return Look(
      index: k, count: design.looks.count, level: design.calibratedNominalLevels()[k],
      critical: n >= 2 ? design.criticalT(look: k, pairs: n) : nil,
      next: k + 1 < design.looks.count ? design.looks[k + 1] : nil)
  }

  /// Where a setting stands in a group-sequential design.
  struct Look {
    /// The 0-based look; nil without a design.
    var index: Int?
    /// The number of looks.
    var count: Int
    /// The one-sided level of each side at this look.
    var level: Double
    /// The t critical value; nil for the fixed design's t quantile.
    var critical: Double?
    /// The seeds of the next look, nil at the last.
    var next: Int?
  }

  /// Oriented difference: > 0 favours `better` (for `equal`, plain A − B).
  static func oriented(_ a: Double, _ b: Double, _ claim: Claim) -> Double {
    claim.kind == .equal ? a - b : (claim.direction == .lower ? b - a : a - b)
  }

  /// `better` and `equal`: one setting per combination of the `per` axes; pairs share setting and seed.
  static func pairedSettings(_ claim: Claim, _ obs: [Observation], design: SequentialDesign?)
    -> [DiffReport.SettingVerdict]
  {
    group(obs, by: claim.per).map { label, members in
      let a = Dictionary(members.filter { $0.method == claim.better }.map { ($0.pairKey, $0) }) { x, _ in x }
      let b = Dictionary(members.filter { $0.method == claim.than }.map { ($0.pairKey, $0) }) { x, _ in x }
      let keys = Set(a.keys).union(b.keys).sorted()
      var pairs: [(key: String, a: Observation, b: Observation)] = []
      var notRun: [String] = []
      for key in keys {
        if let x = a[key], let y = b[key] {
          pairs.append((key, x, y))
        } else if !a.isEmpty && !b.isEmpty {
          let o = a[key] ?? b[key]!
          notRun.append("\(a[key] == nil ? claim.better : claim.than) seed \(o.seed)")
        }
      }
      let seedsRun = Set(pairs.map(\.a.seed)).count
      let healthy = pairs.filter { $0.a.value != nil && $0.b.value != nil }.count
      var verdict = judge(
        claim, label: label, pairs: pairs.map { ($0.a.value, $0.b.value, [$0.a], [$0.b]) },
        aRuns: Array(a.values), bRuns: Array(b.values), notRun: notRun,
        means: a.isEmpty || b.isEmpty ? (nil, nil) : (healthyMean(a.values), healthyMean(b.values)),
        look: look(design, seedsRun: seedsRun, pairs: healthy))
      verdict.gridSettings = distinctSettings(members)
      return verdict
    }
  }

  /// `gain-grows`: per combination of the other axes, each adjacent step along `along` is a setting:
  /// per seed, d = gain(next value) − gain(value), gain = A − B oriented, over seeds where all four runs
  /// are healthy. Held when every step is held (the gain grows at every step), contradicted when a step's
  /// gain shrinks significantly.
  static func gainSettings(_ claim: Claim, _ obs: [Observation], design: SequentialDesign?)
    -> [DiffReport.SettingVerdict]
  {
    guard let along = claim.along else { return [] }
    var axes = claim.per
    if axes.isEmpty {
      for o in obs {
        for (key, _) in o.setting.objectValue ?? [] where key != along && !axes.contains(key) { axes.append(key) }
      }
    }
    var out: [DiffReport.SettingVerdict] = []
    for (label, members) in group(obs, by: axes) {
      let steps = group(members, by: [along])
      let prefix = axes.isEmpty ? "" : " (\(label))"
      guard steps.count >= 2 else {
        out.append(
          DiffReport.SettingVerdict(
            label: "\(lastComponent(along))\(prefix)", outcome: .notRun,
            notes: ["fewer than two values of \(lastComponent(along)) have results"]))
        continue
      }
      for (lo, hi) in zip(steps, steps.dropFirst()) {
        func side(_ m: String, _ s: [Observation]) -> [String: Observation] {
          Dictionary(s.filter { $0.method == m }.map { ($0.pairKey(without: along), $0) }) { x, _ in x }
        }
        let (aLo, bLo, aHi, bHi) = (
          side(claim.better, lo.obs), side(claim.than, lo.obs), side(claim.better, hi.obs), side(claim.than, hi.obs)
        )
        let stepLabel =
          "\(lastComponent(along)) \(lo.label.split(separator: "=").last ?? "") → \(hi.label.split(separator: "=").last ?? "")\(prefix)"
        // The gain at a value exists only where both methods ran there.
        if let (m, at) = [
          (claim.better, aLo, lo), (claim.than, bLo, lo), (claim.better, aHi, hi), (claim.than, bHi, hi),
        ]
        .first(where: { $0.1.isEmpty }).map({ ($0.0, $0.2.label) }) {
          out.append(
            DiffReport.SettingVerdict(label: stepLabel, outcome: .notRun, notes: ["no results for \(m) at \(at)"]))
          continue
        }
        let keys = Set(aLo.keys).union(bLo.keys).union(aHi.keys).union(bHi.keys).sorted()
        var pairs: [(Double?, Double?, [Observation], [Observation])] = []
        var notRun: [String] = []
        var seedsRun: Set<Int> = []
        for key in keys {
          guard let al = aLo[key], let bl = bLo[key], let ah = aHi[key], let bh = bHi[key] else {
            let seed = (aLo[key] ?? bLo[key] ?? aHi[key] ?? bHi[key])!.seed
            notRun.append("seed \(seed) (one of the four runs)")
            continue
          }
          seedsRun.insert(al.seed)
          // The "A value" of the step is its gain at the next value, the "B value" its gain at this one.
          var gHi: Double? = nil
          var gLo: Double? = nil
          if let x = ah.value, let y = bh.value { gHi = oriented(x, y, claim) }
          if let x = al.value, let y = bl.value { gLo = oriented(x, y, claim) }
          pairs.append((gHi, gLo, [al, ah], [bl, bh]))
        }
        var verdict = judge(
          claim, label: stepLabel, pairs: pairs, aRuns: Array(aLo.values) + Array(aHi.values),
          bRuns: Array(bLo.values) + Array(bHi.values), notRun: notRun, means: (nil, nil), gainsArePaired: true,
          look: look(design, seedsRun: seedsRun.count, pairs: pairs.filter { $0.0 != nil && $0.1 != nil }.count))
        verdict.gridSettings = distinctSettings(lo.obs + hi.obs)
        verdict.notes.insert(
          "gain \(fmtOptional(meanGain(aLo, bLo, claim))) at \(lo.label), \(fmtOptional(meanGain(aHi, bHi, claim))) at \(hi.label)",
          at: 0)
        out.append(verdict)
      }
    }
    return out
  }

  /// The distinct grid settings of observations, in first-seen order.
  static func distinctSettings(_ obs: [Observation]) -> [JSON] {
    var seen: Set<String> = []
    return obs.compactMap { seen.insert($0.setting.canonical).inserted ? $0.setting : nil }
  }

  static func meanGain(_ a: [String: Observation], _ b: [String: Observation], _ claim: Claim) -> Double? {
    let gains = a.compactMap { key, x -> Double? in
      guard let y = b[key], let va = x.value, let vb = y.value else { return nil }
      return oriented(va, vb, claim)
    }
    return gains.isEmpty ? nil : gains.reduce(0, +) / Double(gains.count)
  }

  static func healthyMean<S: Sequence>(_ obs: S) -> Double? where S.Element == Observation {
    SeedStatistics(obs.compactMap(\.value)).map(\.mean)
  }

  static func fmtOptional(_ x: Double?) -> String { x.map { FixedDecimal.signed($0, digits: 2) } ?? "—" }

  /// The outcome of one setting from its pairs, in the order of DESIGN.md: invalid, held, contradicted,
  /// inconclusive. `pairs` hold (A value, B value, A's runs, B's runs); a nil value means a degenerate
  /// run (or a missing metric) on that side. With `gainsArePaired` the values are already oriented gains.
  static func judge(
    _ claim: Claim, label: String, pairs: [(Double?, Double?, [Observation], [Observation])],
    aRuns: [Observation], bRuns: [Observation], notRun: [String], means: (Double?, Double?),
    gainsArePaired: Bool = false, look: Look
  ) -> DiffReport.SettingVerdict {
    var verdict = DiffReport.SettingVerdict(label: label, outcome: .inconclusive, level: look.level)
    verdict.look = look.index
    verdict.nextLookSeeds = look.next
    verdict.meanBetter = means.0
    verdict.meanThan = means.1
    let sortByMethodSeed: (DiffReport.DegenerateRun, DiffReport.DegenerateRun) -> Bool = {
      ($0.method == claim.better ? 0 : 1, $0.seed, $0.job) < ($1.method == claim.better ? 0 : 1, $1.seed, $1.job)
    }
    verdict.degenerate = (aRuns + bRuns).compactMap(\.degenerateRun).sorted(by: sortByMethodSeed)
    if !notRun.isEmpty { verdict.notes.append("not run: " + notRun.joined(separator: ", ")) }
    guard !aRuns.isEmpty, !bRuns.isEmpty else {
      verdict.outcome = .notRun
      verdict.notes.append("no results for \(aRuns.isEmpty ? claim.better : claim.than)")
      return verdict
    }
    // Differences over the pairs where both sides are healthy.
    var d: [Double] = []
    for (x, y, _, _) in pairs {
      guard let x, let y else { continue }
      d.append(gainsArePaired ? x - y : oriented(x, y, claim))
    }
    let interval = PairedInterval(d, level: look.level, critical: look.critical)
    verdict.interval = interval
    let bDegenerate = bRuns.contains { $0.degeneracy != nil }
    let aDegenerate = aRuns.contains { $0.degeneracy != nil }
    if bDegenerate || (claim.kind == .equal && aDegenerate) {
      verdict.outcome = .invalid
      return verdict
    }
    // A must be healthy wherever B is (B is healthy everywhere here).
    let aHealthyWhereB = !aDegenerate
    switch claim.kind {
    case .equal:
      let margin = claim.margin ?? 0
      if let m = interval.mean, interval.standardError != nil {
        verdict.pContradicted = m >= 0 ? interval.pAbove(margin) : interval.pBelow(-margin)
      }
      if let se = interval.standardError, let t = interval.critical, margin <= t * se {
        verdict.notes.append(
          "margin \(FixedDecimal.fixed(margin, digits: 2)) ≤ t·SE = \(FixedDecimal.fixed(t * se, digits: 2)): "
            + "TOST cannot pass at \(interval.n) pairs with this spread")
      }
      if interval.n >= 3, let lo = interval.low, let hi = interval.high, lo > -margin, hi < margin {
        verdict.outcome = .held
      } else if let lo = interval.low, let hi = interval.high, lo > margin || hi < -margin {
        verdict.outcome = .contradicted
      }
    case .better, .gainGrows:
      verdict.pContradicted = interval.pBelow(0)
      let minEffect = claim.minEffect ?? 0
      if interval.n >= 3, let lo = interval.low, lo > 0, lo >= minEffect, aHealthyWhereB {
        verdict.outcome = .held
      } else if let hi = interval.high, hi < 0 {
        verdict.outcome = .contradicted
      }
      if interval.n < 3 {
        verdict.notes.append("\(interval.n) healthy pair\(interval.n == 1 ? "" : "s") (held needs 3)")
      }
    }
    if let k = look.index {
      verdict.notes.append(
        "look \(k + 1) of \(look.count)"
          + (verdict.outcome == .inconclusive
            ? (look.next.map { ": `replicate all --resolve` adds seeds up to \($0)" } ?? ": the last look") : ""))
    }
    return verdict
  }
}
