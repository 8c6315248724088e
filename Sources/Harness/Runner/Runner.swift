import Foundation
import Methods
import Synchronization

/// Options of a run (`replicate all|run`).
public struct RunOptions: Sendable {
  /// Jobs at a time.
  public var jobs: Int
  /// Rerun jobs that have a valid result (the new result replaces it).
  public var force: Bool
  /// Seconds between retries of a job whose lock another runner holds.
  public var busyRetry: Double

  /// Creates options; `jobs` defaults to the number of cores.
  public init(jobs: Int? = nil, force: Bool = false, busyRetry: Double = 0.5) {
    self.jobs = max(1, jobs ?? ProcessInfo.processInfo.activeProcessorCount)
    self.force = force
    self.busyRetry = busyRetry
  }
}

/// How one job of a run ended.
public enum JobStatus: String, Sendable {
  /// Its result existed before the run (not rerun).
  case cached
  /// This run produced its result.
  case done
  /// Another runner produced its result while this one waited for its lock.
  case doneElsewhere = "done-elsewhere"
  /// It failed (here or in the runner that held its lock); a failure file says why.
  case failed
  /// An earlier run recorded that its loss diverged — an outcome of the spec, like a result, so it is not
  /// rerun without `--force` and does not fail this run; reports list it.
  case failedEarlier = "failed-earlier"
  /// It was stopped by an interrupt; it has neither a result nor a new failure file.
  case interrupted
}

/// What a run did.
public struct RunSummary: Sendable {
  /// Each job's status, in the order the jobs were given.
  public var statuses: [(job: PlannedJob, status: JobStatus)]
  /// Whether the run was interrupted (SIGINT).
  public var interrupted: Bool

  /// Number of jobs with `status`.
  public func count(_ status: JobStatus) -> Int { statuses.filter { $0.status == status }.count }
  /// The failed jobs.
  public var failed: [PlannedJob] { statuses.filter { $0.status == .failed }.map(\.job) }

  /// The exit status by DESIGN.md's contract: 130 after an interrupt, 3 if a job failed, else 0.
  public var exitCode: Int32 { interrupted ? 130 : (failed.isEmpty ? 0 : 3) }
}

/// Receives a run's events (the console progress bar implements it; tests record them).
public protocol RunProgress: Sendable {
  /// The run starts: `total` jobs, of which `cached` already have results.
  func begin(total: Int, cached: Int, parallel: Int)
  /// A job starts.
  func started(_ job: PlannedJob)
  /// A job ends (`seconds` of wall time, 0 for jobs that did not run here); `reason` for a failure.
  func finished(_ job: PlannedJob, status: JobStatus, seconds: Double, reason: String?)
  /// A line of a running job's output.
  func output(_ job: PlannedJob, line: String)
  /// The run ends.
  func end(_ summary: RunSummary)
}

/// Runs planned jobs: skips those with results, runs the rest through an executor `jobs` at a time,
/// each under its lock, records a failure file for a job that dies without one, and goes on.
///
/// Two runners on one results folder share the work: a job whose lock the other holds is retried after
/// the others, and counts as done elsewhere once its result appears. ``requestStop()`` (SIGINT) stops
/// launching, cancels the jobs in flight, and leaves them without results (the next run resumes them).
public final class Runner: Sendable {
  /// The results folder.
  public let store: ResultStore
  /// Where jobs run.
  public let executor: any JobExecutor
  /// Options.
  public let options: RunOptions
  /// Event sink.
  public let progress: any RunProgress
  private let stopping = Atomic<Bool>(false)

  /// Creates a runner.
  public init(store: ResultStore, executor: any JobExecutor, options: RunOptions, progress: any RunProgress) {
    self.store = store
    self.executor = executor
    self.options = options
    self.progress = progress
  }

  /// Asks the run to stop: no new job starts, jobs in flight are cancelled.
  public func requestStop() {
    stopping.store(true, ordering: .sequentiallyConsistent)
    executor.cancelAll()
  }

  private var isStopping: Bool { stopping.load(ordering: .sequentiallyConsistent) }

  /// Runs `jobs` (duplicates by id run once) and returns what happened to each.
  public func run(_ jobs: [PlannedJob]) async -> RunSummary {
    var seen = Set<String>()
    let unique = jobs.filter { seen.insert($0.id).inserted }
    var statuses: [String: JobStatus] = [:]
    var toRun: [PlannedJob] = []
    for job in unique {
      if !options.force && store.isDone(job) {
        statuses[job.id] = .cached
      } else if !options.force, store.hasRecordedDivergence(job) {
        statuses[job.id] = .failedEarlier
      } else {
        toRun.append(job)
      }
    }
    progress.begin(total: unique.count, cached: statuses.count, parallel: min(options.jobs, max(1, toRun.count)))

    let queue = JobQueue(toRun)
    let workers = min(options.jobs, toRun.count)
    await withTaskGroup(of: [(String, JobStatus)].self) { group in
      for _ in 0..<workers {
        group.addTask { [self] in
          var done: [(String, JobStatus)] = []
          while !isStopping, let item = await queue.next(retryAfter: options.busyRetry) {
            if let status = await runOne(item, queue: queue) { done.append((item.job.id, status)) }
          }
          return done
        }
      }
      for await done in group {
        for (id, status) in done { statuses[id] = status }
      }
    }
    let summary = RunSummary(
      statuses: unique.map { ($0, statuses[$0.id] ?? .interrupted) }, interrupted: isStopping)
    progress.end(summary)
    return summary
  }

  /// Runs one queued job; nil when it went back to the queue (its lock is busy).
  private func runOne(_ item: JobQueue.Item, queue: JobQueue) async -> JobStatus? {
    let job = item.job
    if isStopping { return .interrupted }
    if item.deferredSince != nil || !options.force, store.isDone(job) {
      let status: JobStatus = item.deferredSince == nil ? .cached : .doneElsewhere
      progress.finished(job, status: status, seconds: 0, reason: nil)
      return status
    }
    if let since = item.deferredSince, let failure = store.failure(for: job), modified(failure.path) >= since {
      progress.finished(job, status: .failed, seconds: 0, reason: failure.reason.map { "elsewhere: \($0.code)" })
      return .failed
    }
    let lock: JobLock
    do {
      switch try store.lock(job) {
      case .acquired(let acquired): lock = acquired
      case .busy:
        await queue.defer(item)
        return nil
      }
    } catch {
      let reason = FailureReason(code: "error", message: "cannot lock the job: \(error)")
      try? store.writeFailure(job, reason: reason, timing: .since(Date()))
      progress.finished(job, status: .failed, seconds: 0, reason: reason.message)
      return .failed
    }
    defer { lock.release() }
    if !options.force && store.isDone(job) {
      progress.finished(job, status: .doneElsewhere, seconds: 0, reason: nil)
      return .doneElsewhere
    }

    progress.started(job)
    let started = Date()
    let request = ExecutionRequest(
      store: store, force: options.force, lockToken: lock.token, logPath: store.logPath(job),
      onLine: { [progress] line in progress.output(job, line: line) }, isCancelled: { [self] in isStopping })
    let outcome = await executor.execute(job, request: request)
    let seconds = Date().timeIntervalSince(started)

    let freshFailure = store.failure(for: job).flatMap {
      modified($0.path) >= started.addingTimeInterval(-1) ? $0 : nil
    }
    let status: JobStatus
    var reason: String?
    switch outcome {
    case .exited(0) where store.isDone(job):
      status = .done
      try? FileManager.default.removeItem(atPath: store.failurePath(job))
    case .signaled where isStopping, .exited where isStopping && freshFailure == nil:
      status = .interrupted
    default:
      status = .failed
      if let freshFailure {
        reason = freshFailure.reason.map { "\($0.code): \($0.message)" }
      } else {
        let what: String
        switch outcome {
        case .exited(let code):
          what = code == 0 ? "the worker exited without a result" : "the worker exited with status \(code)"
        case .signaled(let signal): what = "the worker was killed by signal \(signal)"
        }
        let failure = FailureReason(
          code: "crash", message: "\(what); log: \(store.logPath(job))\(tail(store.logPath(job)))")
        try? store.writeFailure(job, reason: failure, timing: .since(started))
        reason = "crash: \(what)"
      }
    }
    progress.finished(job, status: status, seconds: seconds, reason: reason)
    return status
  }

  private func modified(_ path: String) -> Date {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast
  }

  /// The last lines of a log, for a crash's failure message.
  private func tail(_ path: String, lines: Int = 5) -> String {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "" }
    let last = text.split(separator: "\n").suffix(lines)
    return last.isEmpty ? "" : "; last lines:\n" + last.joined(separator: "\n")
  }
}

/// The run's queue: jobs in order, then jobs whose lock was busy, retried after a pause.
actor JobQueue {
  struct Item: Sendable {
    var job: PlannedJob
    /// When the job was first found locked by someone else.
    var deferredSince: Date?
  }

  private var pending: [Item]
  private var deferred: [(item: Item, at: Date)] = []

  init(_ jobs: [PlannedJob]) { pending = jobs.map { Item(job: $0) }.reversed() }

  /// The next job, waiting for busy ones to become retryable; nil when none is left.
  func next(retryAfter: Double) async -> Item? {
    if let item = pending.popLast() { return item }
    guard !deferred.isEmpty else { return nil }
    let (item, at) = deferred.removeFirst()
    let wait = at.addingTimeInterval(retryAfter).timeIntervalSinceNow
    if wait > 0 { try? await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
    return item
  }

  /// Puts a job whose lock is busy back, to retry later.
  func `defer`(_ item: Item) {
    var item = item
    if item.deferredSince == nil { item.deferredSince = Date() }
    deferred.append((item, Date()))
  }
}
