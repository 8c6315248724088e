import Engine
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

extension Commands {
  // MARK: verify

  /// Which cached jobs `verify` reruns.
  public enum VerifySelection: Sendable {
    /// `count` jobs evenly spaced in id order.
    case sample(Int)
    /// The `count` cached jobs with the shortest recorded run time (ties by id): a fixed, cheap set for CI.
    case cheapest(Int)
    /// These jobs (ids or unique prefixes of planned, cached jobs).
    case ids([String])
  }

  /// `replicate verify [ID…] [--sample N | --cheapest N]`: reruns cached jobs of the current plan of
  /// `profile` into a temporary results folder and checks that their `metrics` and `curves` are bitwise
  /// identical (equal canonical JSON). Exit 1 on a mismatch or a failed rerun.
  ///
  /// A mismatch names the OpenBLAS kernel of both runs. When they differ (another CPU with
  /// `OPENBLAS_CORETYPE` set, or `--blas-kernel native`), bits are not expected to agree: the line says so
  /// and gives, for each overall metric that moved, the change and its size in seed standard deviations of
  /// that method and setting (the healthy results of the current plan).
  public static func verify(
    _ workspace: Workspace, profile: String, selection: VerifySelection, executor: any JobExecutor,
    progress: any RunProgress
  ) async throws -> Output {
    let plan = try workspace.checkedPlan(profile: profile)
    let store = workspace.store
    var unique: [String: PlannedJob] = [:]
    for job in plan.jobs where unique[job.id] == nil { unique[job.id] = job }
    let cached = unique.values.filter { store.isDone($0) }.sorted { $0.id < $1.id }
    let chosen: [PlannedJob]
    switch selection {
    case .sample(let n):
      guard !cached.isEmpty else { return Output("verify: no cached results of profile '\(profile)' to verify\n") }
      chosen = evenlySpaced(cached, count: max(1, n))
    case .cheapest(let n):
      guard !cached.isEmpty else { return Output("verify: no cached results of profile '\(profile)' to verify\n") }
      let timed = cached.map { ($0, store.result(for: $0)?.seconds ?? .infinity) }
      chosen = timed.sorted { ($0.1, $0.0.id) < ($1.1, $1.0.id) }.prefix(max(1, n)).map(\.0)
    case .ids(let ids):
      chosen = try ids.map { id in
        let job = try workspace.job(id: id, profile: profile)
        guard store.isDone(job) else {
          throw HarnessError(.unknownJob, "job \(job.id.prefix(12)) of profile '\(profile)' has no result to verify")
        }
        return job
      }
    }
    let temp = FileManager.default.temporaryDirectory
      .appendingPathComponent("replicate-verify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
    defer { try? FileManager.default.removeItem(atPath: temp) }
    let rerunStore = ResultStore(root: temp)
    let runner = Runner(store: rerunStore, executor: executor, options: RunOptions(jobs: 1), progress: progress)
    let summary = await runner.run(chosen)
    var lines: [String] = []
    var mismatches = 0
    for job in chosen {
      let label = "\(job.id.prefix(12)) \(job.experiment)/\(job.methodId) seed \(job.seed)"
      guard let original = store.result(for: job), let rerun = rerunStore.result(for: job) else {
        lines.append("FAIL    \(label): the rerun produced no result")
        mismatches += 1
        continue
      }
      let kernels = (kernel(of: original), kernel(of: rerun))
      let differing = ["metrics", "curves"].filter { original.json[$0]?.canonical != rerun.json[$0]?.canonical }
      if differing.isEmpty {
        let note = kernels.0 == kernels.1 ? "" : " (kernels \(kernels.0) and \(kernels.1) gave the same bits)"
        lines.append("ok      \(label)\(note)")
        continue
      }
      mismatches += 1
      let moved = metricMoves(original, rerun, job: job, plan: plan, resultsDir: workspace.resultsDir)
      if kernels.0 != kernels.1 {
        lines.append(
          "KERNEL  \(label): made with OpenBLAS \(kernels.0), rerun with \(kernels.1); bits are not comparable across "
            + "kernels (unset OPENBLAS_CORETYPE or set it to \(BLASKernel.pinned) to compare). \(moved)")
      } else {
        lines.append(
          "FAIL    \(label): \(differing.joined(separator: " and ")) differ on the same kernel (\(kernels.0)). \(moved)"
        )
      }
    }
    if summary.interrupted { lines.append("interrupted") }
    lines.append("\(chosen.count - mismatches) of \(chosen.count) jobs reproduced bit for bit")
    return Output(lines.joined(separator: "\n") + "\n", status: mismatches > 0 || summary.interrupted ? 1 : 0)
  }

  /// The OpenBLAS kernel a result ran: `environment.blas_kernel`, or for results that predate it the core
  /// name in `environment.blas` (OpenBLAS's config string names it before `MAX_THREADS=`).
  static func kernel(of record: ResultRecord) -> String {
    let environment = record.json["environment"]
    if let kernel = environment?["blas_kernel"]?.stringValue { return kernel }
    let words = (environment?["blas"]?.stringValue ?? "").split(separator: " ").map(String.init)
    if let i = words.firstIndex(where: { $0.hasPrefix("MAX_THREADS") }), i > 0 { return words[i - 1] }
    return "unknown"
  }

  /// `metric Δ (k σ)` for each overall metric that differs, σ the seed standard deviation of the job's method
  /// and setting over the current plan's healthy results.
  static func metricMoves(
    _ original: ResultRecord, _ rerun: ResultRecord, job: PlannedJob, plan: CurrentPlan, resultsDir: String
  ) -> String {
    let a = Report.ExperimentResults.run(original.json, stem: original.job).overall
    let b = Report.ExperimentResults.run(rerun.json, stem: rerun.job).overall
    let peers = Report.ExperimentResults.load(
      experiment: job.experiment, profile: job.profile, resultsDir: resultsDir, plan: plan
    ).runs.filter { $0.method == job.methodId && $0.settingLabel == job.settingLabel && $0.degeneracy == nil }
    var parts: [String] = []
    for key in Set(a.keys).union(b.keys).sorted() {
      guard let x = a[key], let y = b[key], x != y || x.isNaN != y.isNaN else { continue }
      let delta = y - x
      var text = "\(key) \(delta >= 0 ? "+" : "")\(String(format: "%.4g", delta))"
      if let std = SeedStatistics(peers.compactMap { $0.overall[key] })?.std, std > 0, std.isFinite {
        text += String(format: " (%.2f σ over %d seeds)", abs(delta) / std, peers.count)
      }
      parts.append(text)
    }
    return parts.isEmpty
      ? "Overall metrics equal; only per-class values or curves moved." : "Moved: " + parts.joined(separator: ", ")
  }

  /// `count` elements spread evenly over `items` (all of them when `count` ≥ their number).
  static func evenlySpaced<T>(_ items: [T], count: Int) -> [T] {
    guard count < items.count else { return items }
    return (0..<count).map { items[$0 * items.count / count] }
  }
}
