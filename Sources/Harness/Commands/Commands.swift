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
  /// them. Stops when nothing is left to add, or after a run that was interrupted or had a failure other than
  /// a diverged loss (a recorded outcome, which the verdicts treat as a degenerate run). The summary holds every
  /// round's statuses, so a job that failed in any round (a divergence included) makes it exit 3, as `run`
  /// does. `report` receives one line per addition.
  public static func resolve(
    _ workspace: Workspace, profile: String, options: RunOptions, executor: any JobExecutor,
    progress: any RunProgress, onRunner: (Runner) -> Void = { _ in }, report: (String) -> Void
  ) async throws -> RunSummary {
    var summary = try await run(
      workspace, experiments: [], profile: profile, options: options, executor: executor, progress: progress,
      onRunner: onRunner)
    var noForce = options
    noForce.force = false
    // A job whose loss diverged in this run is the spec's outcome (a degenerate run the verdicts account
    // for), not an error to fix first: the design goes on; any other failure stops it.
    func canGoOn(_ summary: RunSummary) -> Bool {
      !summary.interrupted && summary.failed.allSatisfy { workspace.store.hasRecordedDivergence($0) }
    }
    while canGoOn(summary) {
      let additions = try Diff.resolveAdditions(
        profile: profile, resultsDir: workspace.resultsDir, experimentsDir: workspace.experimentsDir,
        plan: try workspace.checkedPlan(profile: profile))
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
      let next = try await run(
        workspace, experiments: [], profile: profile, options: noForce, executor: executor, progress: progress,
        onRunner: onRunner)
      // Every round's statuses: a job that failed in any round makes the whole command exit 3, as in `run`.
      summary = RunSummary(statuses: summary.statuses + next.statuses, interrupted: next.interrupted)
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

  /// `replicate plan [EXPERIMENT…] [--profile P] [--emit list|json|slurm] [--explain [--force]]`. The list
  /// ends with the orphans per experiment (files no planned job owns); `explain` gives, instead of the
  /// list, why each job would run (``Plan/explain(store:force:)``).
  public static func plan(
    _ workspace: Workspace, experiments: [String], profile: String, emit: Emit, parallel: Int,
    explain: Bool = false, force: Bool = false, executable: String = ProcessExecutor.selfExecutable
  ) throws -> Output {
    let manifests = try workspace.manifests(named: experiments)
    try Workspace.checkProfile(profile)
    let jobs = try workspace.identity.plan(manifests, profile: profile)
    let plan = Plan(profile: profile, jobs: jobs, store: workspace.store)
    if explain { return Output(plan.explainTable(store: workspace.store, force: force)) }
    switch emit {
    case .list:
      var text = plan.table(parallel: parallel)
      let names = Set(manifests.map(\.name))
      let orphans = try workspace.currentPlan(profile: profile).orphans(in: workspace.store)
        .filter { experiments.isEmpty || names.contains($0.experiment) }
      if !orphans.isEmpty {
        let counts = Dictionary(grouping: orphans, by: \.experiment).sorted { $0.key < $1.key }
        text += "orphans (files no planned job owns; reports ignore them; `replicate gc` removes them): "
        text += counts.map { "\($0.key) \($0.value.count)" }.joined(separator: ", ") + "\n"
      }
      return Output(text)
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

  /// `replicate show JOB-ID`: the job's resolved spec, outcome (done, degenerate, failed) and provenance, by
  /// id or unique id prefix, in any profile. A job the current plan holds but that has not run is shown as
  /// planned, with its spec; a result no planned job owns is marked an orphan.
  public static func show(_ workspace: Workspace, id: String) throws -> Output {
    let prefix = id.lowercased()
    let records = prefix.isEmpty ? [] : workspace.store.find(idPrefix: prefix)
    var planned: [PlannedJob] = []
    var plans: [String: CurrentPlan] = [:]
    for profile in Registry.profiles {
      let plan = try workspace.currentPlan(profile: profile)
      plans[profile] = plan
      if !prefix.isEmpty { planned += plan.jobs.filter { $0.id.hasPrefix(prefix) } }
    }
    let ids = Set(records.map(\.job)).union(planned.map(\.id))
    guard let only = ids.first else {
      throw HarnessError(
        .unknownJob, "no planned job and no result or failure in \(workspace.resultsDir) has job id '\(id)'")
    }
    guard ids.count == 1 else {
      throw HarnessError(.ambiguousJob, "id prefix '\(id)' matches \(ids.count) jobs (expected a longer prefix)")
    }
    if records.isEmpty, let job = planned.first {
      let lock = JobLock.inspect(at: workspace.store.lockPath(job))
      let running = lock.map { !$0.stale } ?? false
      var lines = [
        "job         \(job.id)",
        "experiment  \(job.experiment)  (profile \(job.profile))",
        "method      \(job.methodId)",
        "setting     \(job.settingLabel.isEmpty ? "-" : job.settingLabel)",
        "seed        \(job.seed)",
        "status      "
          + (running
            ? "running (\(lock?.owner.map(\.description) ?? "unknown holder"))"
            : "planned, not run yet (`replicate run \(job.experiment) --profile \(job.profile)` runs it)"),
        "identity    \(job.identity.canonical)",
        "spec",
      ]
      lines += (try JSON(encoding: job.spec)).pretty().split(separator: "\n").map { "  " + $0 }
      return Output(lines.joined(separator: "\n") + "\n")
    }
    return Output(
      records.map { record in
        let current = plans[record.profile]?.plans(only, in: record.experiment) ?? false
        return describe(record, current: current)
      }.joined(separator: "\n"))
  }

  static func describe(_ record: ResultRecord, current: Bool = true) -> String {
    var lines = [
      "job         \(record.job)",
      "experiment  \(record.experiment)  (profile \(record.profile))",
      "method      \(record.method)",
      "setting     \(record.settingLabel.isEmpty ? "-" : record.settingLabel)",
      "seed        \(record.seed.map(String.init) ?? "?")",
      "plan        "
        + (current
          ? "current"
          : "orphan: the current manifests and code plan no job with this id; reports ignore it (`replicate gc`)"),
    ]
    let timing = record.json["timing"]
    let when = timing?["finished"]?.stringValue ?? "?"
    let seconds = record.seconds.map { String(format: "%.1f s", $0) } ?? "?"
    let environment = record.json["environment"]
    let host = environment?["hostname"]?.stringValue ?? "?"
    if let reason = record.reason {
      let degenerate = Report.Degeneracy.outcomeFailureCodes.contains(reason.code)
      lines.append(
        "status      \(degenerate ? "DEGENERATE" : "FAILED") (\(reason.code)) after \(seconds) on \(host), \(when)")
      lines.append("reason      \(reason.message)")
    } else {
      let run = Report.ExperimentResults.run(record.json, stem: record.job)
      let health = run.degeneracy.map { "DEGENERATE (\($0.description))" } ?? "done"
      lines.append("status      \(health) in \(seconds) on \(host), \(when)")
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
    let provenance = record.json["provenance"]
    if let commit = provenance?["commit"]?.stringValue {
      let dirty = provenance?["dirty"]?.boolValue.map { $0 ? " (tree dirty)" : "" } ?? " (tree state unknown)"
      lines.append("commit      \(commit)\(dirty)")
      lines.append("command     \(provenance?["command"]?.stringValue ?? "?")")
    } else {
      lines.append("commit      not recorded (the result predates provenance)")
    }
    if let kernel = environment?["blas_kernel"]?.stringValue {
      lines.append("blas        \(kernel) (\(environment?["blas_kernel_choice"]?.stringValue ?? "?"))")
    } else if let blas = environment?["blas"]?.stringValue {
      lines.append("blas        \(blas)")
    }
    if let identity = record.json["identity"] { lines.append("identity    \(identity.canonical)") }
    if let spec = record.json["spec"] {
      lines.append("spec")
      lines += spec.pretty().split(separator: "\n").map { "  " + $0 }
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
          let plans = try Dictionary(
            uniqueKeysWithValues: Registry.profiles.map { ($0, try workspace.currentPlan(profile: $0)) })
          problems = Diff.duplicateClaims(
            loaded, resultsDir: workspace.resultsDir, profiles: Registry.profiles, plans: plans)
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
