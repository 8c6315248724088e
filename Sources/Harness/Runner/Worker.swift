import Engine
import Foundation
import Methods

/// Runs one job in this process (what `replicate run-job` does): takes the job's lock (or adopts the one
/// its parent runner holds), trains, and writes the result or the failure file.
public struct Worker: Sendable {
  /// The training entry point: spec, data folder, per-epoch log → output.
  public typealias Train = @Sendable (JobSpec, String?, @escaping (String) -> Void) throws -> JobOutput

  /// How a job ended.
  public enum Outcome: Sendable, Equatable {
    /// It ran and its result is written.
    case done
    /// A valid result already existed (and `force` was off).
    case cached
    /// Another process holds its lock.
    case busy(String)
    /// It failed; the failure file is written.
    case failed(FailureReason)

    /// The process exit status for `run-job`: 3 for a failure, else 0.
    public var exitCode: Int32 {
      if case .failed = self { return 3 }
      return 0
    }
  }

  /// Where results go.
  public var store: ResultStore
  /// The data folder passed to training.
  public var dataDir: String?
  /// The training function (``Methods/JobRunner/run(_:dataDir:log:)`` unless a test injects one).
  public var train: Train

  /// Creates a worker; `train` defaults to `Methods.JobRunner.run`.
  public init(store: ResultStore, dataDir: String?, train: Train? = nil) {
    self.store = store
    self.dataDir = dataDir
    self.train = train ?? { spec, dataDir, log in try JobRunner.run(spec, dataDir: dataDir, log: log) }
  }

  /// Runs `job`. `lockToken`, when given, is the token of the lock the parent runner holds for it.
  public func run(_ job: PlannedJob, force: Bool = false, lockToken: String? = nil, log: @escaping (String) -> Void)
    -> Outcome
  {
    if !force && store.isDone(job) { return .cached }
    var owned: JobLock?
    if let lockToken, JobLock.adopt(at: store.lockPath(job), token: lockToken) != nil {
      owned = nil
    } else {
      do {
        switch try store.lock(job) {
        case .acquired(let lock): owned = lock
        case .busy(let owner): return .busy(owner.map { "\($0)" } ?? "another process")
        }
      } catch {
        return fail(job, FailureReason(code: "error", message: "cannot lock the job: \(error)"), started: Date())
      }
      if !force && store.isDone(job) {
        owned?.release()
        return .cached
      }
    }
    defer { owned?.release() }

    let started = Date()
    log("job \(job.id) \(job.experiment)/\(job.methodId) \(job.settingLabel) seed \(job.seed) (\(job.profile))")
    do {
      let output = try train(job.spec, dataDir, log)
      try store.writeResult(
        job, output: output, environment: .current(), timing: .since(started), force: force)
      log("done in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
      return .done
    } catch let failure as JobFailure {
      return fail(job, FailureReason(code: failure.code.rawValue, message: failure.message), started: started)
    } catch {
      // Datasets' errors are bad data; anything else is reported as it is.
      let code = String(describing: type(of: error)).contains("DatasetError") ? "bad-data" : "error"
      return fail(job, FailureReason(code: code, message: "\(error)"), started: started)
    }
  }

  private func fail(_ job: PlannedJob, _ reason: FailureReason, started: Date) -> Outcome {
    try? store.writeFailure(job, reason: reason, timing: .since(started))
    return .failed(reason)
  }
}
