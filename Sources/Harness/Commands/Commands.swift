import Dispatch
import Engine
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The harness side of the CLI's subcommands: each takes its parsed options and returns its output and
/// exit status, so the `replicate` executable stays a thin argument parser.
///
/// Exit statuses (DESIGN.md): 0 success, 1 a check failed (`verify`), 2 bad input (manifest, arguments,
/// data), 3 a job failed; 130 after an interrupt. Bad input is thrown (``ManifestErrors``,
/// ``HarnessError``); the CLI maps it to 2.
public enum Commands {
  /// What a command prints and how it exits.
  public struct Output: Sendable {
    /// Text for standard output.
    public var text: String
    /// The exit status.
    public var status: Int32

    /// Creates an output.
    public init(_ text: String, status: Int32 = 0) {
      self.text = text
      self.status = status
    }
  }

  // MARK: all / run

  /// `replicate all` (no experiments named) or `replicate run EXPERIMENT…`: runs the missing jobs.
  /// `onRunner` receives the runner before it starts (the CLI wires SIGINT to ``Runner/requestStop()``).
  public static func run(
    _ workspace: Workspace, experiments: [String], profile: String, options: RunOptions,
    executor: any JobExecutor, progress: any RunProgress, onRunner: (Runner) -> Void = { _ in }
  ) async throws -> RunSummary {
    let jobs = try workspace.jobs(experiments: experiments, profile: profile)
    let runner = Runner(store: workspace.store, executor: executor, options: options, progress: progress)
    onRunner(runner)
    return await runner.run(jobs)
  }

  /// `replicate all --resolve`: runs the plan, then, while a claim's setting is inconclusive short of its
  /// design's last look (``Diff/resolveAdditions(profile:resultsDir:experimentsDir:)``), writes the next
  /// look's seeds to the experiment's `resolve.yaml` (atomically; part of the plan from then on) and runs
  /// them. Stops when nothing is left to add, or after a run that did not finish cleanly. `report` receives
  /// one line per addition.
  public static func resolve(
    _ workspace: Workspace, profile: String, options: RunOptions, executor: any JobExecutor,
    progress: any RunProgress, onRunner: (Runner) -> Void = { _ in }, report: (String) -> Void
  ) async throws -> RunSummary {
    var summary = try await run(
      workspace, experiments: [], profile: profile, options: options, executor: executor, progress: progress,
      onRunner: onRunner)
    var noForce = options
    noForce.force = false
    while summary.exitCode == 0 {
      let additions = try Diff.resolveAdditions(
        profile: profile, resultsDir: workspace.resultsDir, experimentsDir: workspace.experimentsDir)
      if additions.isEmpty {
        report("resolve: no inconclusive setting can take more seeds under its design\n")
        break
      }
      for addition in additions {
        for line in addition.lines { report("resolve: \(line)\n") }
        do {
          _ = try AtomicFile.write(Data(addition.seeds.yaml().utf8), to: addition.file)
        } catch {
          throw HarnessError(.io, "cannot write \(addition.file): \(error)")
        }
      }
      summary = try await run(
        workspace, experiments: [], profile: profile, options: noForce, executor: executor, progress: progress,
        onRunner: onRunner)
    }
    return summary
  }

  // MARK: run-job

  /// `replicate run-job JOB-ID`: runs one job in this process with one BLAS thread and writes its
  /// result (exit 0) or failure file (exit 3). A job already done, or locked by another process, exits 0.
  public static func runJob(
    _ workspace: Workspace, id: String, profile: String, force: Bool, train: Worker.Train? = nil,
    log: @escaping (String) -> Void
  ) throws -> Output {
    let job = try workspace.job(id: id, profile: profile)
    resetSignals()
    BLAS.setThreads(1)
    let worker = Worker(store: workspace.store, dataDir: workspace.dataDir, train: train)
    let token = ProcessInfo.processInfo.environment["REPLICATE_LOCK_TOKEN"]
    let outcome = worker.run(job, force: force, lockToken: token, log: log)
    switch outcome {
    case .done: return Output("done: \(workspace.store.resultPath(job))\n")
    case .cached: return Output("cached: \(workspace.store.resultPath(job))\n")
    case .busy(let owner): return Output("skipped: job \(job.id) is being run by \(owner)\n")
    case .failed(let reason):
      return Output("failed: \(reason.code): \(reason.message)\n(\(workspace.store.failurePath(job)))\n", status: 3)
    }
  }

  /// Restores default SIGINT/SIGTERM handling and unblocks all signals, whatever the parent left
  /// (ignored or blocked signals survive `exec`): a worker must die when its runner terminates it.
  static func resetSignals() {
    signal(SIGINT, SIG_DFL)
    signal(SIGTERM, SIG_DFL)
    var empty = sigset_t()
    sigemptyset(&empty)
    sigprocmask(SIG_SETMASK, &empty, nil)
  }

  // MARK: plan

  /// How `plan` prints.
  public enum Emit: String, CaseIterable, Sendable {
    /// A table and an ETA.
    case list
    /// The jobs as JSON.
    case json
    /// An sbatch array script over the uncached jobs.
    case slurm
  }

  /// `replicate plan [EXPERIMENT…] [--profile P] [--emit list|json|slurm]`.
  public static func plan(
    _ workspace: Workspace, experiments: [String], profile: String, emit: Emit, parallel: Int,
    executable: String = ProcessExecutor.selfExecutable
  ) throws -> Output {
    let manifests = try workspace.manifests(named: experiments)
    try Workspace.checkProfile(profile)
    let jobs = try workspace.identity.plan(manifests, profile: profile)
    let plan = Plan(profile: profile, jobs: jobs, store: workspace.store)
    switch emit {
    case .list: return Output(plan.table(parallel: parallel))
    case .json: return Output(try plan.json(resultsDir: workspace.resultsDir).pretty() + "\n")
    case .slurm:
      let cwd = FileManager.default.currentDirectoryPath
      let script = SlurmScript(
        jobs: plan.uncached, profile: profile,
        options: SlurmOptions.covering(manifests.map { $0.slurm(profile: profile) }), executable: executable,
        resultsDir: absolute(workspace.resultsDir, in: cwd), workingDirectory: cwd,
        dataDir: workspace.dataDir.map { absolute($0, in: cwd) },
        experimentsDir: workspace.experimentsDir == "experiments" ? nil : absolute(workspace.experimentsDir, in: cwd))
      // Slurm opens each task's --output file before the task starts and does not create folders: make
      // the logs folder now, or every task fails before running (seen on a single-node slurm-wlm).
      try FileManager.default.createDirectory(
        atPath: script.logsDirectory, withIntermediateDirectories: true)
      return Output(script.render())
    }
  }

  static func absolute(_ path: String, in cwd: String) -> String {
    path.hasPrefix("/") ? path : (cwd as NSString).appendingPathComponent(path)
  }

  // MARK: list

  /// `replicate list`: experiments, their papers, the profiles they overlay, and job counts per profile.
  public static func list(_ workspace: Workspace) throws -> Output {
    let manifests = try workspace.manifests()
    guard !manifests.isEmpty else { return Output("no experiments in \(workspace.experimentsDir)\n") }
    let store = workspace.store
    var rows: [[String]] = []
    for manifest in manifests {
      var row = [manifest.name, String(manifest.paper.prefix(48))]
      row.append(manifest.overlaidProfiles.isEmpty ? "-" : manifest.overlaidProfiles.joined(separator: ","))
      for profile in Registry.profiles {
        let jobs = try workspace.identity.plan([manifest], profile: profile)
        let done = jobs.filter { store.isDone($0) }.count
        let failed = jobs.filter { !store.isDone($0) && store.failure(for: $0) != nil }.count
        row.append("\(jobs.count) (\(done) done\(failed > 0 ? ", \(failed) failed" : ""))")
      }
      rows.append(row)
    }
    let header = ["experiment", "paper", "overlays"] + Registry.profiles.map { "\($0) jobs" }
    return Output(TextTable.render(header: header, rows: rows) + "\n")
  }

  // MARK: show

  /// `replicate show JOB-ID`: the job's result or failure (any profile), by id or unique id prefix.
  public static func show(_ workspace: Workspace, id: String) throws -> Output {
    let records = workspace.store.find(idPrefix: id.lowercased())
    let ids = Set(records.map(\.job))
    guard !id.isEmpty, !records.isEmpty else {
      throw HarnessError(.unknownJob, "no result or failure in \(workspace.resultsDir) has job id '\(id)'")
    }
    guard ids.count == 1 else {
      throw HarnessError(.ambiguousJob, "id prefix '\(id)' matches \(ids.count) jobs (expected a longer prefix)")
    }
    return Output(records.map(describe).joined(separator: "\n"))
  }

  static func describe(_ record: ResultRecord) -> String {
    var lines = [
      "job         \(record.job)",
      "experiment  \(record.experiment)  (profile \(record.profile))",
      "method      \(record.method)",
      "setting     \(record.settingLabel.isEmpty ? "-" : record.settingLabel)",
      "seed        \(record.seed.map(String.init) ?? "?")",
    ]
    let timing = record.json["timing"]
    let when = timing?["finished"]?.stringValue ?? "?"
    let seconds = record.seconds.map { String(format: "%.1f s", $0) } ?? "?"
    if let reason = record.reason {
      lines.append("status      FAILED (\(reason.code)) after \(seconds), \(when)")
      lines.append("reason      \(reason.message)")
    } else {
      let host = record.json["environment"]?["hostname"]?.stringValue ?? "?"
      lines.append("status      done in \(seconds) on \(host), \(when)")
      if let overall = record.metrics?["overall"]?.objectValue, !overall.isEmpty {
        lines.append("metrics")
        let width = overall.map(\.key.count).max() ?? 0
        for (key, value) in overall {
          lines.append("  \(key.padding(toLength: width, withPad: " ", startingAt: 0))  \(value.canonical)")
        }
      }
      if let perClass = record.metrics?["per_class"]?.objectValue {
        for (key, value) in perClass {
          lines.append(
            "per class   \(key): \(value.arrayValue?.map(\.canonical).joined(separator: " ") ?? value.canonical)")
        }
      }
      if let curves = record.curves?.objectValue {
        for (key, value) in curves {
          let values = value.arrayValue ?? []
          let last = values.last.map { ", last \($0.canonical)" } ?? ""
          lines.append("curve       \(key): \(values.count) epochs\(last)")
        }
      }
    }
    lines.append("file        \(record.path)")
    return lines.joined(separator: "\n") + "\n"
  }

  // MARK: validate

  /// `replicate validate [FILE…]`: checks the given manifests (all when none): exit 0, or 2 listing
  /// every problem.
  public static func validate(_ workspace: Workspace, files: [String]) -> Output {
    let paths = files.isEmpty ? ManifestLoader.manifestFiles(in: workspace.experimentsDir) : files
    do {
      let manifests = try ManifestLoader.loadFiles(paths)
      var jobs = 0
      for m in manifests { for p in Registry.profiles { jobs += m.jobs(profile: p).count } }
      // Reference files are checked too when validating the whole experiments folder.
      var references = 0
      if files.isEmpty {
        var problems: [Diff.ReferenceFileError] = []
        do {
          let loaded = try Diff.loadReferenceFiles(experimentsDir: workspace.experimentsDir)
          references = loaded.count
          problems = Diff.duplicateClaims(loaded, resultsDir: workspace.resultsDir, profiles: Registry.profiles)
        } catch let errors as Diff.ReferenceFileErrors {
          problems = errors.errors
        }
        if !problems.isEmpty {
          let n = problems.count
          return Output(
            problems.map(\.description).joined(separator: "\n") + "\n\(n) problem\(n == 1 ? "" : "s") found\n",
            status: 2)
        }
      }
      return Output(
        "ok: \(manifests.count) manifest\(manifests.count == 1 ? "" : "s"), \(jobs) jobs over all profiles, "
          + "\(references) reference file\(references == 1 ? "" : "s")\n")
    } catch let errors as ManifestErrors {
      let n = errors.errors.count
      return Output(errors.description + "\n\(n) problem\(n == 1 ? "" : "s") found\n", status: 2)
    } catch {
      return Output("\(error)\n", status: 2)
    }
  }

  // MARK: verify

  /// `replicate verify [--sample N]`: reruns `sample` cached jobs of `profile` (evenly spaced in id order)
  /// into a temporary results folder and checks that their `metrics` and `curves` are bitwise identical
  /// (equal canonical JSON). Exit 1 on a mismatch or a failed rerun.
  public static func verify(
    _ workspace: Workspace, profile: String, sample: Int, executor: any JobExecutor, progress: any RunProgress
  ) async throws -> Output {
    let jobs = try workspace.jobs(profile: profile)
    let store = workspace.store
    let cached = jobs.filter { store.isDone($0) }.sorted { $0.id < $1.id }
    guard !cached.isEmpty else { return Output("verify: no cached results of profile '\(profile)' to verify\n") }
    let chosen = evenlySpaced(cached, count: max(1, sample))
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
        lines.append("FAIL  \(label): the rerun produced no result")
        mismatches += 1
        continue
      }
      var differing: [String] = []
      for key in ["metrics", "curves"] where original.json[key]?.canonical != rerun.json[key]?.canonical {
        differing.append(key)
      }
      if differing.isEmpty {
        lines.append("ok    \(label)")
      } else {
        mismatches += 1
        lines.append("FAIL  \(label): \(differing.joined(separator: " and ")) differ")
      }
    }
    if summary.interrupted { lines.append("interrupted") }
    lines.append("\(chosen.count - mismatches) of \(chosen.count) jobs reproduced bit for bit")
    return Output(lines.joined(separator: "\n") + "\n", status: mismatches > 0 || summary.interrupted ? 1 : 0)
  }

  /// `count` elements spread evenly over `items` (all of them when `count` ≥ their number).
  static func evenlySpaced<T>(_ items: [T], count: Int) -> [T] {
    guard count < items.count else { return items }
    return (0..<count).map { items[$0 * items.count / count] }
  }
}

/// Calls a handler on SIGINT or SIGTERM instead of dying (the runner stops cleanly). A second SIGINT
/// exits at once with status 130.
public final class InterruptWatcher: @unchecked Sendable {
  private var sources: [DispatchSourceSignal] = []

  /// Starts watching; keep the watcher alive while the handler should apply.
  public init(_ handler: @escaping @Sendable () -> Void) {
    var count = 0
    let queue = DispatchQueue(label: "replicate.signals")
    for sig in [SIGINT, SIGTERM] {
      signal(sig, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
      source.setEventHandler {
        count += 1
        if count > 1 { exit(130) }
        FileHandle.standardError.write(Data("\ninterrupted: stopping the jobs in flight…\n".utf8))
        handler()
      }
      source.resume()
      sources.append(source)
    }
  }

  deinit { for s in sources { s.cancel() } }
}
