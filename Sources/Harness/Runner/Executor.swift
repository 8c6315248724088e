import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// What the runner hands an executor with each job.
public struct ExecutionRequest: Sendable {
  /// The results folder.
  public var store: ResultStore
  /// Rerun even if a valid result exists.
  public var force: Bool
  /// The token of the job lock the runner holds (the worker adopts it instead of locking again).
  public var lockToken: String
  /// The job's log file (truncated at start).
  public var logPath: String
  /// Called with each output line of the job (for `--verbose`).
  public var onLine: @Sendable (String) -> Void
  /// Whether the run is stopping; an executor asks it once the worker is registered, so a stop that
  /// raced the spawn (and missed it in ``JobExecutor/cancelAll()``) still reaches the worker.
  public var isCancelled: @Sendable () -> Bool = { false }
}

/// How an execution ended.
public enum ExecutionOutcome: Sendable, Equatable {
  /// The worker exited with this status (0 = done or cached, 3 = failed with a failure file).
  case exited(Int32)
  /// The worker was killed by this signal.
  case signaled(Int32)
}

/// Runs one job somewhere and reports how it ended; the result or failure file is the worker's to write.
public protocol JobExecutor: Sendable {
  /// Runs `job` to completion.
  func execute(_ job: PlannedJob, request: ExecutionRequest) async -> ExecutionOutcome
  /// Stops every job in flight (SIGINT): they end as `.signaled`.
  func cancelAll()
}

extension JobExecutor {
  public func cancelAll() {}
}

/// Runs each job as a worker process: `<executable> run-job <id> --profile P --results DIR
/// [--data-dir D] [--experiments E] [--force]`, with `OPENBLAS_NUM_THREADS=1` and the lock token in
/// `REPLICATE_LOCK_TOKEN`; its stdout and stderr go to the job's log file.
public final class ProcessExecutor: JobExecutor, Sendable {
  /// The `replicate` executable.
  public let executable: String
  /// Arguments placed before the job's own (tests point this at a script).
  public let leadingArguments: [String]
  /// `--data-dir` for the workers.
  public let dataDir: String?
  /// `--experiments` for the workers (nil: their default).
  public let experimentsDir: String?
  private let running = Mutex<[Int32: Int]>([:])

  /// Creates an executor for `executable` (default: this process's own binary, `/proc/self/exe`).
  public init(
    executable: String? = nil, leadingArguments: [String] = [], dataDir: String? = nil, experimentsDir: String? = nil
  ) {
    self.executable = executable ?? ProcessExecutor.selfExecutable
    self.leadingArguments = leadingArguments
    self.dataDir = dataDir
    self.experimentsDir = experimentsDir
  }

  /// The resolved path of this process's executable.
  public static var selfExecutable: String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
  }

  /// The worker's arguments for `job`.
  public func arguments(for job: PlannedJob, request: ExecutionRequest) -> [String] {
    var args = leadingArguments + ["run-job", job.id, "--profile", job.profile, "--results", request.store.root]
    if let dataDir { args += ["--data-dir", dataDir] }
    if let experimentsDir { args += ["--experiments", experimentsDir] }
    if request.force { args.append("--force") }
    return args
  }

  public func execute(_ job: PlannedJob, request: ExecutionRequest) async -> ExecutionOutcome {
    let args = arguments(for: job, request: request)
    return await withCheckedContinuation { continuation in
      Thread.detachNewThread { [self] in
        continuation.resume(returning: self.runBlocking(args: args, request: request))
      }
    }
  }

  private func runBlocking(args: [String], request: ExecutionRequest) -> ExecutionOutcome {
    let fm = FileManager.default
    try? fm.createDirectory(
      atPath: (request.logPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    fm.createFile(atPath: request.logPath, contents: nil)
    let log = FileHandle(forWritingAtPath: request.logPath)
    defer { try? log?.close() }

    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = args
    var environment = ProcessInfo.processInfo.environment
    environment["OPENBLAS_NUM_THREADS"] = "1"
    environment["REPLICATE_LOCK_TOKEN"] = request.lockToken
    // One commit and command for every result of this run (a worker reads them instead of asking git).
    environment.merge(Provenance.current.environmentVariables) { _, runner in runner }
    process.environment = environment
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    // Spawned children inherit this thread's signal mask; Dispatch's threads block most signals, which
    // would leave workers deaf to SIGTERM and the terminal's SIGINT. Spawn with nothing blocked.
    var empty = sigset_t()
    var saved = sigset_t()
    sigemptyset(&empty)
    pthread_sigmask(SIG_SETMASK, &empty, &saved)
    defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
    do {
      try process.run()
    } catch {
      log?.write(Data("cannot start \(executable): \(error)\n".utf8))
      return .exited(127)
    }
    let pid = process.processIdentifier
    running.withLock { $0[pid] = 1 }
    if request.isCancelled() { kill(pid, SIGTERM) }
    // The write end belongs to the child now; EOF on the read end means it (and its children) closed it.
    try? pipe.fileHandleForWriting.close()
    var pending = Data()
    let reader = pipe.fileHandleForReading
    while true {
      let chunk = reader.availableData
      if chunk.isEmpty { break }
      log?.write(chunk)
      pending.append(chunk)
      while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
        request.onLine(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
        pending.removeSubrange(pending.startIndex...newline)
      }
    }
    if !pending.isEmpty { request.onLine(String(decoding: pending, as: UTF8.self)) }
    process.waitUntilExit()
    running.withLock { _ = $0.removeValue(forKey: pid) }
    switch process.terminationReason {
    case .uncaughtSignal: return .signaled(process.terminationStatus)
    default: return .exited(process.terminationStatus)
    }
  }

  /// Sends SIGTERM to every worker in flight.
  public func cancelAll() {
    for pid in running.withLock({ Array($0.keys) }) { kill(pid, SIGTERM) }
  }
}

/// Runs each job inside this process through a ``Worker`` (tests inject a fake `train`; also usable
/// for debugging). Lines go to the job's log file and `onLine`. Cancellation cannot stop a job that is
/// already training.
public struct InProcessExecutor: JobExecutor {
  /// The training function.
  public var train: Worker.Train?
  /// The data folder.
  public var dataDir: String?

  /// Creates an executor; `train` defaults to `Methods.JobRunner.run`.
  public init(dataDir: String? = nil, train: Worker.Train? = nil) {
    self.dataDir = dataDir
    self.train = train
  }

  public func execute(_ job: PlannedJob, request: ExecutionRequest) async -> ExecutionOutcome {
    let worker = Worker(store: request.store, dataDir: dataDir, train: train)
    return await withCheckedContinuation { continuation in
      Thread.detachNewThread {
        let fm = FileManager.default
        try? fm.createDirectory(
          atPath: (request.logPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        fm.createFile(atPath: request.logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: request.logPath)
        let outcome = worker.run(job, force: request.force, lockToken: request.lockToken) { line in
          log?.write(Data((line + "\n").utf8))
          request.onLine(line)
        }
        try? log?.close()
        continuation.resume(returning: .exited(outcome.exitCode))
      }
    }
  }
}
