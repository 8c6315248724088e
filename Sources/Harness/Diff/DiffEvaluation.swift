import Foundation

extension Diff {
  /// Compares the results of `profile` under `<resultsDir>/<profile>/` with every
  /// `<experimentsDir>/<name>/reference.yaml` (experiments in name order). All reference files are
  /// parsed first; problems in any of them throw ``ReferenceFileErrors`` (exit 2) before anything is
  /// compared. References and claims for other profiles are skipped, not reported missing.
  public static func evaluate(profile: String, resultsDir: String, experimentsDir: String) throws -> DiffReport {
    let files = try loadReferenceFiles(experimentsDir: experimentsDir)
    var report = DiffReport(profile: profile, references: [], claims: [])
    for (experiment, file) in files {
      let results = Report.ExperimentResults.load(experiment: experiment, profile: profile, resultsDir: resultsDir)
      let outcome = evaluate(file, experiment: experiment, profile: profile, runs: results.runs)
      report.references += outcome.references
      report.claims += outcome.claims
    }
    return report
  }

  /// The experiments with a `reference.yaml`, in name order, parsed; throws all problems at once.
  public static func loadReferenceFiles(experimentsDir: String) throws -> [(String, ReferenceFile)] {
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: experimentsDir)) ?? []).sorted()
    var files: [(String, ReferenceFile)] = []
    var errors: [ReferenceFileError] = []
    for name in names {
      let path = (experimentsDir as NSString).appendingPathComponent("\(name)/reference.yaml")
      guard FileManager.default.fileExists(atPath: path) else { continue }
      do {
        files.append((name, try ReferenceFile.load(path: path)))
      } catch let e as ReferenceFileErrors {
        errors += e.errors
      }
    }
    if !errors.isEmpty { throw ReferenceFileErrors(errors: errors) }
    return files
  }

  /// Evaluates one experiment's references and claims for `profile` against its successful runs.
  public static func evaluate(_ file: ReferenceFile, experiment: String, profile: String, runs: [Report.Run])
    -> (references: [DiffReport.ReferenceResult], claims: [DiffReport.ClaimResult])
  {
    let references = file.references.filter { $0.profile == profile }.map {
      evaluate($0, experiment: experiment, runs: runs)
    }
    let claims = file.claims.filter { $0.profiles?.contains(profile) ?? true }.map {
      evaluate($0, experiment: experiment, runs: runs)
    }
    return (references, claims)
  }

  /// A reference against the runs of its method whose spec has every value of its setting.
  /// Passes when |mean − value| ≤ tolerance (plus 1e-9·max(1, |value|) for rounding in the subtraction).
  public static func evaluate(_ ref: Reference, experiment: String, runs: [Report.Run]) -> DiffReport.ReferenceResult {
    let values = runs.filter { $0.method == ref.method && matches($0, ref.setting) }
      .compactMap { $0.overall[ref.metric] }
    var result = DiffReport.ReferenceResult(
      experiment: experiment, method: ref.method, setting: ref.setting, metric: ref.metric, reference: ref.value,
      unit: ref.unit, source: ref.source, measuredMean: nil, measuredStd: nil, nSeeds: 0, delta: nil,
      tolerance: ref.tolerance, status: .missing)
    guard let stats = SeedStatistics(values) else { return result }
    let delta = stats.mean - ref.value
    result.measuredMean = stats.mean
    result.measuredStd = stats.std
    result.nSeeds = stats.n
    result.delta = delta
    result.status = abs(delta) <= ref.tolerance + 1e-9 * max(1, abs(ref.value)) ? .pass : .fail
    return result
  }

  /// Whether every key path of `setting` has the given value in the run's spec (numbers compare
  /// numerically, so `100` matches `100.0`).
  public static func matches(_ run: Report.Run, _ setting: [(key: String, value: JSON)]) -> Bool {
    setting.allSatisfy { path, want in run.value(at: path).map { sameValue($0, want) } ?? false }
  }

  /// Whether two setting values are the same: numbers compare as `Double`s (`100` equals `100.0`; NaN
  /// equals nothing), strings, booleans and `null` by value, arrays element by element and objects key by
  /// key in order (a different key order is a different value).
  static func sameValue(_ a: JSON, _ b: JSON) -> Bool {
    if let x = a.doubleValue, let y = b.doubleValue { return x == y }
    switch (a, b) {
    case (.null, .null): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.string(let x), .string(let y)): return x == y
    case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { sameValue($0, $1) }
    case (.object(let x), .object(let y)):
      return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && sameValue($0.value, $1.value) }
    default: return false
    }
  }

  /// Orders setting values: numbers numerically before strings, strings lexicographically.
  static func valueLess(_ a: JSON?, _ b: JSON?) -> Bool {
    switch (a?.doubleValue, b?.doubleValue) {
    case (let x?, let y?): return x < y
    case (_?, nil): return true
    case (nil, _?): return false
    case (nil, nil): return (a?.label ?? "") < (b?.label ?? "")
    }
  }

  /// A claim's verdict over the runs (failed runs are not among them).
  public static func evaluate(_ claim: Claim, experiment: String, runs: [Report.Run]) -> DiffReport.ClaimResult {
    let pool = runs.filter {
      ($0.method == claim.better || $0.method == claim.than) && matches($0, claim.setting)
        && ($0.overall[claim.metric]?.isFinite ?? false)
    }
    let verdicts: [(ClaimVerdict, String)]
    switch claim.kind {
    case .better: verdicts = betterVerdicts(claim, pool)
    case .gainGrows: verdicts = gainGrowsVerdicts(claim, pool)
    }
    var status = DiffReport.ClaimStatus.held
    if verdicts.isEmpty || verdicts.contains(where: { $0.0 == .missing }) { status = .missing }
    if verdicts.contains(where: { $0.0 == .failed }) { status = .failed }
    let detail =
      verdicts.isEmpty ? "no results for \(claim.better) or \(claim.than)" : verdicts.map(\.1).joined(separator: "; ")
    return DiffReport.ClaimResult(
      experiment: experiment, id: claim.id, text: claim.text, status: status, detail: detail)
  }

  enum ClaimVerdict { case held, failed, missing }

  /// Groups runs by their values at `axes`, groups ordered by those values (see `valueLess`).
  static func group(_ runs: [Report.Run], by axes: [String]) -> [(label: String, runs: [Report.Run])] {
    var groups: [String: [Report.Run]] = [:]
    var representative: [String: [JSON?]] = [:]
    for run in runs {
      let values = axes.map { run.value(at: $0) }
      let key = values.map { $0?.compact ?? "null" }.joined(separator: "\u{1F}")
      groups[key, default: []].append(run)
      representative[key] = values
    }
    let keys = groups.keys.sorted { a, b in
      let va = representative[a]!
      let vb = representative[b]!
      for (x, y) in zip(va, vb) where !sameOptional(x, y) { return valueLess(x, y) }
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

  static func sameOptional(_ a: JSON?, _ b: JSON?) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case (let x?, let y?): return sameValue(x, y)
    default: return false
    }
  }

  static func beats(_ a: Double, _ b: Double, _ direction: Claim.Direction) -> Bool {
    direction == .lower ? a < b : a > b
  }

  static func fmt(_ x: Double) -> String { FixedDecimal.fixed(x, digits: 2) }

  /// `better`: in each combination of the `per` axes, A beats B in the mean over seeds and in a strict
  /// majority of paired seeds (pairs share the spec seed and the whole setting).
  static func betterVerdicts(_ claim: Claim, _ pool: [Report.Run]) -> [(ClaimVerdict, String)] {
    group(pool, by: claim.per).map { label, runs in
      let a = runs.filter { $0.method == claim.better }
      let b = runs.filter { $0.method == claim.than }
      guard !a.isEmpty, !b.isEmpty else {
        return (.missing, "\(label): no results for \(a.isEmpty ? claim.better : claim.than)")
      }
      let meanA = SeedStatistics(a.map { $0.overall[claim.metric]! })!.mean
      let meanB = SeedStatistics(b.map { $0.overall[claim.metric]! })!.mean
      var byPair: [String: Double] = [:]
      for run in b { byPair[pairKey(run)] = byPair[pairKey(run)] ?? run.overall[claim.metric]! }
      var pairs = 0
      var wins = 0
      var seen: Set<String> = []
      for run in a {
        let key = pairKey(run)
        guard let vb = byPair[key], seen.insert(key).inserted else { continue }
        pairs += 1
        if beats(run.overall[claim.metric]!, vb, claim.direction) { wins += 1 }
      }
      let text = "\(label): \(claim.better) \(fmt(meanA)) vs \(claim.than) \(fmt(meanB)), seeds \(wins)/\(pairs)"
      guard pairs > 0 else { return (.missing, text + " (no paired seeds)") }
      let held = beats(meanA, meanB, claim.direction) && 2 * wins > pairs
      return (held ? .held : .failed, text + (held ? " held" : " failed"))
    }
  }

  static func pairKey(_ run: Report.Run) -> String { run.setting.compact + "#\(run.seed)" }

  /// `gain-grows`: in each combination of the other axes (`per`, or every setting axis but `along`),
  /// the gain of A over B in the mean (B − A for lower-is-better, A − B otherwise) strictly increases
  /// with the value of `along`.
  static func gainGrowsVerdicts(_ claim: Claim, _ pool: [Report.Run]) -> [(ClaimVerdict, String)] {
    guard let along = claim.along else { return [] }
    var axes = claim.per
    if axes.isEmpty {
      for run in pool {
        for (key, _) in run.setting.objectValue ?? [] where key != along && !axes.contains(key) { axes.append(key) }
      }
    }
    return group(pool, by: axes).map { label, runs in
      var points: [(String, Double)] = []
      var missing: [String] = []
      for (alongLabel, at) in group(runs, by: [along]) {
        let a = at.filter { $0.method == claim.better }.map { $0.overall[claim.metric]! }
        let b = at.filter { $0.method == claim.than }.map { $0.overall[claim.metric]! }
        guard let ma = SeedStatistics(a)?.mean, let mb = SeedStatistics(b)?.mean else {
          missing.append(alongLabel)
          continue
        }
        points.append((alongLabel, claim.direction == .lower ? mb - ma : ma - mb))
      }
      let series = points.map { "gain \(FixedDecimal.signed($0.1, digits: 2)) at \($0.0)" }.joined(separator: ", ")
      let prefix = axes.isEmpty ? "" : "\(label): "
      guard points.count >= 2 else {
        let why =
          missing.isEmpty
          ? "fewer than two values of \(lastComponent(along))" : "missing \(missing.joined(separator: ", "))"
        return (.missing, prefix + (series.isEmpty ? why : "\(series) (\(why))"))
      }
      let grows = zip(points, points.dropFirst()).allSatisfy { $0.1 < $1.1 }
      if !grows { return (.failed, prefix + series + " does not grow") }
      if !missing.isEmpty { return (.missing, prefix + series + " grows (missing \(missing.joined(separator: ", ")))") }
      return (.held, prefix + series + " grows")
    }
  }
}
