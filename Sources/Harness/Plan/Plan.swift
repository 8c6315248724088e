import Datasets
import Foundation

/// A plan: the jobs of some experiments under a profile, each with whether its result exists, and an
/// estimate of the time the missing ones take.
public struct Plan: Sendable {
  /// One job of the plan.
  public struct Entry: Sendable {
    /// The job.
    public var job: PlannedJob
    /// Whether a valid result exists.
    public var cached: Bool
    /// Whether an earlier run recorded that its loss diverged (not rerun without `--force`).
    public var diverged: Bool = false
  }

  /// The profile.
  public var profile: String
  /// The jobs in manifest order.
  public var entries: [Entry]
  /// Per experiment: the mean seconds of its cached jobs under this profile (absent: none cached).
  public var measuredSeconds: [String: Double]

  /// Builds the plan of `jobs`, reading which are cached (and their timings) from `store`.
  public init(profile: String, jobs: [PlannedJob], store: ResultStore) {
    self.profile = profile
    entries = jobs.map {
      let cached = store.isDone($0)
      return Entry(job: $0, cached: cached, diverged: !cached && store.hasRecordedDivergence($0))
    }
    var sums: [String: (Double, Int)] = [:]
    for record in store.results(profile: profile) {
      guard let seconds = record.seconds else { continue }
      let (s, n) = sums[record.experiment] ?? (0, 0)
      sums[record.experiment] = (s + seconds, n + 1)
    }
    measuredSeconds = sums.mapValues { $0.0 / Double($0.1) }
  }

  /// The jobs a run would start: neither a result nor a recorded divergence.
  public var uncached: [PlannedJob] { entries.filter { !$0.cached && !$0.diverged }.map(\.job) }

  /// Per-example-per-epoch seconds of each model at one BLAS thread, for the heuristic estimate.
  public static let secondsPerExampleEpoch: [String: Double] = ["mlp": 20e-6, "cnn-small": 200e-6, "resnet32": 3e-3]

  /// The heuristic, as printed with an estimate that uses it.
  public static let heuristicText =
    "epochs × training examples × per-example cost (mlp 20 µs, cnn-small 200 µs, resnet32 3 ms)"

  /// The heuristic seconds of a job: epochs × training examples (after long-tailed subsampling and
  /// `max_train`) × the model's per-example cost.
  public static func heuristicSeconds(_ job: PlannedJob) -> Double {
    let d = job.spec.dataset
    let classes = Double((try? DatasetCatalog.classes(d.name)) ?? 10)
    let perClass = Double(Registry.trainSize[d.name] ?? 50_000) / classes
    var examples = perClass * classes
    if let imbalance = d.imbalance, classes > 1 {
      let rho = imbalance.ratio
      if imbalance.profile == "step" {
        examples = (classes / 2).rounded(.down) * perClass + (classes - (classes / 2).rounded(.down)) * perClass / rho
      } else {
        examples = (0..<Int(classes)).reduce(0) { $0 + perClass * pow(rho, -Double($1) / (classes - 1)) }
      }
    }
    if let cap = d.maxTrain { examples = min(examples, Double(cap)) }
    return Double(job.spec.train.epochs) * examples * (secondsPerExampleEpoch[job.spec.model.name] ?? 1e-3)
  }

  /// Estimated seconds to run the uncached jobs `parallel` at a time, and whether any job's estimate
  /// came from the heuristic rather than measured timings.
  public func estimate(parallel: Int) -> (seconds: Double, usedHeuristic: Bool) {
    var total = 0.0
    var heuristic = false
    for job in uncached {
      if let measured = measuredSeconds[job.experiment] {
        total += measured
      } else {
        total += Plan.heuristicSeconds(job)
        heuristic = true
      }
    }
    return (total / Double(max(1, parallel)), heuristic)
  }

  /// The table printed by `replicate plan`: one row per job, then a summary line with the ETA.
  public func table(parallel: Int) -> String {
    let header = ["job", "experiment", "method", "setting", "seed", "cached"]
    let rows = entries.map {
      [
        String($0.job.id.prefix(12)), $0.job.experiment, $0.job.methodId,
        $0.job.settingLabel.isEmpty ? "-" : $0.job.settingLabel, String($0.job.seed),
        $0.cached ? "yes" : $0.diverged ? "diverged" : "no",
      ]
    }
    var out = TextTable.render(header: header, rows: rows)
    let missing = uncached.count
    let diverged = entries.filter(\.diverged).count
    out += "\n\(entries.count) jobs (\(profile)): \(entries.count - missing - diverged) cached, "
    out += diverged > 0 ? "\(diverged) diverged earlier (--force reruns), " : ""
    out += "\(missing) to run"
    if missing > 0 {
      let (seconds, heuristic) = estimate(parallel: parallel)
      out += "; ETA ≈ \(ConsoleProgress.duration(seconds)) at \(parallel) job\(parallel == 1 ? "" : "s") at a time"
      out += heuristic ? " (heuristic: \(Plan.heuristicText))" : " (from cached jobs' timings)"
    }
    return out + "\n"
  }

  /// The machine-readable plan (`--emit json`).
  public func json(resultsDir: String) throws -> JSON {
    let store = ResultStore(root: resultsDir)
    return .object([
      ("profile", .string(profile)),
      (
        "jobs",
        .array(
          try entries.map { entry in
            .object([
              ("id", .string(entry.job.id)), ("experiment", .string(entry.job.experiment)),
              ("method", .string(entry.job.methodId)), ("setting", entry.job.setting.json),
              ("setting_label", .string(entry.job.settingLabel)), ("seed", .int(entry.job.seed)),
              ("cached", .bool(entry.cached)), ("diverged", .bool(entry.diverged)),
              ("result", .string(store.resultPath(entry.job))),
              (
                "command",
                .array(["run-job", entry.job.id, "--profile", profile, "--results", resultsDir].map(JSON.string))
              ),
              ("spec", try JSON(encoding: entry.job.spec)),
            ])
          })
      ),
    ])
  }
}

/// Plain-text tables with columns padded to their widest cell.
public enum TextTable {
  /// Renders rows under a header and a rule; cells are left-aligned and separated by two spaces.
  public static func render(header: [String], rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for row in rows {
      for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
    }
    func line(_ cells: [String]) -> String {
      cells.enumerated().map { i, cell in
        i + 1 == cells.count ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
      }.joined(separator: "  ")
    }
    return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line))
      .joined(separator: "\n")
  }
}
