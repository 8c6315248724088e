import Foundation

extension Diff {
  /// Compares the results of `profile` under `<resultsDir>/<profile>/` with every
  /// `<experimentsDir>/<name>/reference.yaml` (experiments in name order). All reference files are
  /// parsed first; problems in any of them throw ``ReferenceFileErrors`` (exit 2) before anything is
  /// compared. References and claims for other profiles are skipped, not reported missing. With a `plan`
  /// (what commands pass), only the results of its jobs are read (``CurrentPlan``).
  public static func evaluate(
    profile: String, resultsDir: String, experimentsDir: String, plan: CurrentPlan? = nil
  ) throws -> DiffReport {
    let files = try loadReferenceFiles(experimentsDir: experimentsDir)
    var report = DiffReport(profile: profile, references: [], claims: [])
    let designs = designs(experimentsDir: experimentsDir)
    for (experiment, file) in files {
      let results = Report.ExperimentResults.load(
        experiment: experiment, profile: profile, resultsDir: resultsDir, plan: plan)
      let design = designs[experiment]?[profile]
      let outcome = evaluate(file, experiment: experiment, profile: profile, results: results, design: design)
      report.references += outcome.references
      report.claims += outcome.claims
    }
    return report
  }

  /// The group-sequential designs the manifests declare (`resolve:`), by experiment and profile. A
  /// manifest that does not load declares none here (`validate` reports it).
  public static func designs(experimentsDir: String) -> [String: [String: SequentialDesign]] {
    designs(loadableManifests(experimentsDir: experimentsDir))
  }

  /// The manifests under `experimentsDir` that load, by name (the strict loader's errors belong to `validate`).
  static func loadableManifests(experimentsDir: String) -> [String: Manifest] {
    var out: [String: Manifest] = [:]
    for file in ManifestLoader.manifestFiles(in: experimentsDir) {
      if let m = try? ManifestLoader.load(file: file) { out[m.name] = m }
    }
    return out
  }

  /// ``designs(experimentsDir:)`` of manifests already loaded.
  static func designs(_ manifests: [String: Manifest]) -> [String: [String: SequentialDesign]] {
    var out: [String: [String: SequentialDesign]] = [:]
    for (name, m) in manifests {
      let designs = Dictionary(
        uniqueKeysWithValues: Registry.profiles.compactMap { p in m.design(profile: p).map { (p, $0) } })
      if !designs.isEmpty { out[name] = designs }
    }
    return out
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

  /// Evaluates one experiment's references and claims for `profile` against its results: references
  /// against the healthy runs' mean, claims by ``evaluate(_:experiment:results:)``.
  public static func evaluate(
    _ file: ReferenceFile, experiment: String, profile: String, results: Report.ExperimentResults,
    design: SequentialDesign? = nil
  ) -> (references: [DiffReport.ReferenceResult], claims: [DiffReport.ClaimResult]) {
    let references = file.references.filter { $0.profile == profile }.map {
      evaluate($0, experiment: experiment, runs: results.runs)
    }
    let claims = file.claims.filter { $0.profiles?.contains(profile) ?? true }.map {
      evaluate($0, experiment: experiment, results: results, design: design)
    }
    return (references, claims)
  }

  /// A reference against the healthy runs of its method whose spec has every value of its setting
  /// (degenerate runs are never averaged in).
  /// Passes when |mean − value| ≤ tolerance (plus 1e-9·max(1, |value|) for rounding in the subtraction).
  public static func evaluate(_ ref: Reference, experiment: String, runs: [Report.Run]) -> DiffReport.ReferenceResult {
    let values = runs.filter { $0.method == ref.method && matches($0, ref.setting) && $0.degeneracy == nil }
      .compactMap { $0.overall[ref.metric] }
    var result = DiffReport.ReferenceResult(
      experiment: experiment, method: ref.method, setting: ref.setting, metric: ref.metric, reference: ref.value,
      unit: ref.unit, source: ref.source, verified: ref.verified, measuredMean: nil, measuredStd: nil, nSeeds: 0,
      delta: nil, tolerance: ref.tolerance, status: .missing)
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
    matches(run.value(at:), setting)
  }

  /// Whether every key path of `setting` has the given value under `lookup` (a run's or a failed job's).
  static func matches(_ lookup: (String) -> JSON?, _ setting: [(key: String, value: JSON)]) -> Bool {
    setting.allSatisfy { path, want in lookup(path).map { sameValue($0, want) } ?? false }
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

  static func sameOptional(_ a: JSON?, _ b: JSON?) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case (let x?, let y?): return sameValue(x, y)
    default: return false
    }
  }

  static func fmt(_ x: Double) -> String { FixedDecimal.fixed(x, digits: 2) }
}
