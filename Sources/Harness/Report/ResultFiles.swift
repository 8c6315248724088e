import Foundation

/// Reports and diffs over the result files of a profile (`replicate report`); see ``Report/render(profile:resultsDir:experimentsDir:templatesDir:)``.
public enum Report {}

extension Report {
  /// One successful job, read from `results/<profile>/<experiment>/<job-id>.json`. Only `spec`,
  /// `setting`, `metrics` and `curves` are read; `environment` and `timing` never enter a report.
  public struct Run: Sendable {
    /// The job id (file name without `.json` when the file has no `job` key).
    public var job: String
    /// The resolved spec as written.
    public var spec: JSON
    /// The grid axes' key paths and values, in the order written.
    public var setting: JSON
    /// The short label of the setting (`exponential ρ=100`).
    public var settingLabel: String
    /// `spec.method.id` (or `spec.method` when it is a string).
    public var method: String
    /// `spec.seed`.
    public var seed: Int
    /// `metrics.overall`; `null` and missing numbers are NaN.
    public var overall: [String: Double]
    /// `metrics.per_class`.
    public var perClass: [String: [Double]]
    /// `metrics.reliability`.
    public var reliability: [String: [Double]]
    /// `metrics.data`, values printed as strings.
    public var data: [String: String]
    /// Top-level `curves`.
    public var curves: [String: [Double]]

    /// The value at a key path of the spec, falling back to the `setting` object.
    public func value(at keyPath: String) -> JSON? {
      spec.value(atPath: keyPath) ?? setting[keyPath]
    }

    /// A canonical key of the setting, equal for jobs in the same table column.
    public var settingKey: String { setting.compact }

    /// Why the run is degenerate by its training predictions (``Report/Degeneracy``), nil when healthy.
    /// A degenerate run is never averaged into a table cell and never enters a paired difference.
    public var degeneracy: Degeneracy? { Degeneracy.judge(overall: overall, classes: classCount) }
  }

  /// A job that did not give usable metrics: a `*.failed.json` file, an unreadable result file, or a
  /// result whose metrics are not finite. Failures are listed and never averaged; those whose loss or
  /// metric went non-finite are degenerate runs (``FailedRun/isDegenerate``), the others errors to rerun.
  public struct FailedRun: Sendable {
    /// The job id.
    public var job: String
    /// The method id, or `?` when unknown.
    public var method: String
    /// The seed, or nil when unknown.
    public var seed: Int?
    /// The setting object (empty object when unknown).
    public var setting: JSON
    /// The setting's label.
    public var settingLabel: String
    /// The failure code (`non-finite-loss`, `bad-data`, `unreadable`, `non-finite-metric`, …).
    public var code: String
    /// What happened.
    public var message: String
    /// The resolved spec as written in the failure file (empty object when unknown).
    public var spec: JSON = .object([])

    /// A canonical key of the setting.
    public var settingKey: String { setting.compact }

    /// The value at a key path of the spec, falling back to the `setting` object.
    public func value(at keyPath: String) -> JSON? {
      spec.value(atPath: keyPath) ?? setting[keyPath]
    }
  }

  /// All result and failure files of one experiment under one profile, in seed order (ties by job id).
  public struct ExperimentResults: Sendable {
    /// The experiment's name (its folder).
    public var experiment: String
    /// Successful jobs.
    public var runs: [Run]
    /// Failed or unreadable jobs, and results with a non-finite metric.
    public var failures: [FailedRun]

    /// Reads `<resultsDir>/<profile>/<experiment>/*.json`; a missing folder gives no runs. With a `plan`,
    /// only the files of its jobs (``CurrentPlan``: orphans are never read); without one, every file (tests
    /// of rendering on hand-written results; commands always pass the plan).
    public static func load(
      experiment: String, profile: String, resultsDir: String, plan: CurrentPlan? = nil
    ) -> ExperimentResults {
      let folder = (resultsDir as NSString).appendingPathComponent("\(profile)/\(experiment)")
      let planned = plan?.ids(of: experiment)
      let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
        .filter { name in
          guard name.hasSuffix(".json") else { return false }
          guard let planned else { return true }
          let isFailure = name.hasSuffix(".failed.json")
          return planned.contains(String(name.dropLast(isFailure ? ".failed.json".count : ".json".count)))
        }.sorted()
      var runs: [Run] = []
      var failures: [FailedRun] = []
      for name in names {
        let path = (folder as NSString).appendingPathComponent(name)
        let isFailure = name.hasSuffix(".failed.json")
        let stem = String(name.dropLast(isFailure ? ".failed.json".count : ".json".count))
        guard let data = FileManager.default.contents(atPath: path),
          let json = try? JSON(parsing: data)
        else {
          failures.append(
            FailedRun(
              job: stem, method: "?", seed: nil, setting: .object([]), settingLabel: "?", code: "unreadable",
              message: "\(name) is not valid JSON"))
          continue
        }
        if isFailure {
          failures.append(failedRun(json, stem: stem))
        } else {
          let run = Self.run(json, stem: stem)
          if let bad = run.overall.keys.sorted().first(where: { !(run.overall[$0]!.isFinite) }) {
            var f = failedRun(json, stem: stem)
            f.code = "non-finite-metric"
            f.message = "metric \(bad) is not a finite number"
            failures.append(f)
          } else {
            runs.append(run)
          }
        }
      }
      // Seed order, not file (id) order: means sum in the same order whatever the ids are, so a version bump
      // that leaves the numbers alone leaves the reports alone too.
      runs.sort { ($0.seed, $0.job) < ($1.seed, $1.job) }
      failures.sort { ($0.seed ?? Int.min, $0.job) < ($1.seed ?? Int.min, $1.job) }
      return ExperimentResults(experiment: experiment, runs: runs, failures: failures)
    }

    static func methodID(_ spec: JSON) -> String {
      if let s = spec["method"]?.stringValue { return s }
      return spec["method"]?["id"]?.stringValue ?? "?"
    }

    static func settingOf(_ json: JSON) -> (JSON, String) {
      let setting = json["setting"].flatMap { $0.objectValue != nil ? $0 : nil } ?? .object([])
      let label =
        json["setting_label"]?.stringValue
        ?? (setting.objectValue ?? []).map { "\(lastComponent($0.key))=\($0.value.label)" }.joined(separator: " ")
      return (setting, label.isEmpty ? "all" : label)
    }

    static func run(_ json: JSON, stem: String) -> Run {
      let spec = json["spec"] ?? .object([])
      let (setting, label) = settingOf(json)
      let metrics = json["metrics"] ?? .object([])
      var overall: [String: Double] = [:]
      for (k, v) in metrics["overall"]?.objectValue ?? [] { overall[k] = v.doubleValue ?? .nan }
      return Run(
        job: json["job"]?.stringValue ?? stem, spec: spec, setting: setting, settingLabel: label,
        method: methodID(spec), seed: Int(spec["seed"]?.doubleValue ?? 0), overall: overall,
        perClass: vectors(metrics["per_class"]), reliability: vectors(metrics["reliability"]),
        data: strings(metrics["data"]), curves: vectors(json["curves"]))
    }

    static func failedRun(_ json: JSON, stem: String) -> FailedRun {
      let spec = json["spec"] ?? .object([])
      let (setting, label) = settingOf(json)
      let reason = json["reason"]
      return FailedRun(
        job: json["job"]?.stringValue ?? stem, method: methodID(spec), seed: spec["seed"]?.doubleValue.map { Int($0) },
        setting: setting, settingLabel: label, code: reason?["code"]?.stringValue ?? "failed",
        message: reason?["message"]?.stringValue ?? "", spec: spec)
    }

    static func vectors(_ json: JSON?) -> [String: [Double]] {
      var out: [String: [Double]] = [:]
      for (k, v) in json?.objectValue ?? [] { if let a = v.arrayValue { out[k] = a.map { $0.doubleValue ?? .nan } } }
      return out
    }

    static func strings(_ json: JSON?) -> [String: String] {
      var out: [String: String] = [:]
      for (k, v) in json?.objectValue ?? [] { out[k] = v.label }
      return out
    }
  }
}

/// The last component of a dotted key path: `dataset.imbalance.ratio` → `ratio`.
func lastComponent(_ keyPath: String) -> String {
  String(keyPath.split(separator: ".").last ?? Substring(keyPath))
}

/// Mean and sample standard deviation (n − 1 in the denominator; 0 when n = 1) of the finite values.
public struct SeedStatistics: Sendable, Equatable {
  /// The mean.
  public var mean: Double
  /// The sample standard deviation.
  public var std: Double
  /// How many finite values entered.
  public var n: Int

  /// The statistics of `values`' finite members; nil when there are none.
  public init?(_ values: [Double]) {
    let finite = values.filter(\.isFinite)
    guard !finite.isEmpty else { return nil }
    n = finite.count
    mean = finite.reduce(0, +) / Double(n)
    let m = mean
    std = n > 1 ? (finite.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n - 1)).squareRoot() : 0
  }
}
