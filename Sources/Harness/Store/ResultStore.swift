import Foundation
import Methods

/// The results folder: `<root>/<profile>/<experiment>/<job-id>.json` for results, `<job-id>.failed.json`
/// for failures, `<job-id>.lock` while a job runs, and `<root>/<profile>/logs/<job-id>.log` for logs.
///
/// Every file is written atomically (``AtomicFile``). A valid result is never replaced unless the
/// caller forces it; a successful write removes the job's failure file.
public struct ResultStore: Sendable {
  /// The results folder.
  public let root: String

  /// A store rooted at `root` (created on first write).
  public init(root: String) { self.root = root }

  /// The folder holding `experiment`'s files under `profile`.
  public func folder(profile: String, experiment: String) -> String {
    "\(root)/\(profile)/\(experiment)"
  }
  /// The result file of `job`.
  public func resultPath(_ job: PlannedJob) -> String {
    "\(folder(profile: job.profile, experiment: job.experiment))/\(job.id).json"
  }
  /// The failure file of `job`.
  public func failurePath(_ job: PlannedJob) -> String {
    "\(folder(profile: job.profile, experiment: job.experiment))/\(job.id).failed.json"
  }
  /// The lock file of `job`.
  public func lockPath(_ job: PlannedJob) -> String {
    "\(folder(profile: job.profile, experiment: job.experiment))/\(job.id).lock"
  }
  /// The log file of `job`.
  public func logPath(_ job: PlannedJob) -> String { "\(root)/\(job.profile)/logs/\(job.id).log" }

  /// The job's valid result, if any (a file that parses and names this job).
  public func result(for job: PlannedJob) -> ResultRecord? {
    ResultRecord.read(path: resultPath(job), expectedID: job.id).flatMap { $0.metrics == nil ? nil : $0 }
  }

  /// The job's failure record, if any.
  public func failure(for job: PlannedJob) -> ResultRecord? {
    ResultRecord.read(path: failurePath(job), expectedID: job.id)
  }

  /// Whether the job has a valid result.
  public func isDone(_ job: PlannedJob) -> Bool { result(for: job) != nil }

  /// Whether an earlier run recorded that the job's loss diverged (a `non-finite-loss` failure file): the
  /// spec's outcome, which runs and plans keep like a result unless forced.
  public func hasRecordedDivergence(_ job: PlannedJob) -> Bool {
    failure(for: job)?.reason?.code == JobFailure.Code.nonFiniteLoss.rawValue
  }

  /// Writes the job's result atomically and removes its failure file. Without `force`, an existing
  /// valid result is kept and false is returned.
  @discardableResult
  public func writeResult(
    _ job: PlannedJob, output: JobOutput, environment: RunEnvironment, timing: RunTiming, force: Bool = false
  ) throws -> Bool {
    let document = try ResultRecord.resultDocument(
      job: job, output: output, environment: environment, timing: timing)
    let data = Data((document.pretty() + "\n").utf8)
    let path = resultPath(job)
    var written = false
    if force {
      written = try AtomicFile.write(data, to: path, replace: true)
    } else if result(for: job) == nil {
      // Create without replacing; an invalid file in the way (torn by another tool, not this job's) is replaced.
      written = try AtomicFile.write(data, to: path, replace: false)
      if !written && result(for: job) == nil { written = try AtomicFile.write(data, to: path, replace: true) }
    }
    if result(for: job) != nil { try? FileManager.default.removeItem(atPath: failurePath(job)) }
    return written
  }

  /// Writes the job's failure file atomically (replacing an older failure).
  public func writeFailure(_ job: PlannedJob, reason: FailureReason, timing: RunTiming) throws {
    let document = try ResultRecord.failureDocument(job: job, reason: reason, timing: timing)
    try AtomicFile.write(Data((document.pretty() + "\n").utf8), to: failurePath(job))
  }

  /// Tries to take the job's lock; on success, removes temporary files that killed writers left for it.
  public func lock(_ job: PlannedJob) throws -> JobLock.Attempt {
    let attempt = try JobLock.acquire(at: lockPath(job))
    if case .acquired = attempt {
      let dir = folder(profile: job.profile, experiment: job.experiment)
      AtomicFile.removeLeftovers(for: "\(job.id).json", in: dir)
      AtomicFile.removeLeftovers(for: "\(job.id).failed.json", in: dir)
    }
    return attempt
  }

  /// Every valid result under `profile` (all experiments), sorted by path.
  public func results(profile: String) -> [ResultRecord] {
    records(profile: profile, failures: false)
  }

  /// Every failure record under `profile`, sorted by path.
  public func failures(profile: String) -> [ResultRecord] {
    records(profile: profile, failures: true)
  }

  private func records(profile: String, failures: Bool) -> [ResultRecord] {
    let fm = FileManager.default
    let base = "\(root)/\(profile)"
    guard let experiments = try? fm.contentsOfDirectory(atPath: base) else { return [] }
    var out: [ResultRecord] = []
    for experiment in experiments.sorted() where experiment != "logs" && experiment != "reports" {
      guard let names = try? fm.contentsOfDirectory(atPath: "\(base)/\(experiment)") else { continue }
      for name in names.sorted() where !name.hasPrefix(".") {
        let isFailure = name.hasSuffix(".failed.json")
        guard name.hasSuffix(".json"), isFailure == failures else { continue }
        let id = String(name.dropLast(isFailure ? ".failed.json".count : ".json".count))
        if let record = ResultRecord.read(path: "\(base)/\(experiment)/\(name)", expectedID: id),
          failures || record.metrics != nil
        {
          out.append(record)
        }
      }
    }
    return out
  }

  /// Result and failure files in any profile whose job id starts with `prefix`.
  public func find(idPrefix prefix: String) -> [ResultRecord] {
    let fm = FileManager.default
    guard let profiles = try? fm.contentsOfDirectory(atPath: root) else { return [] }
    return profiles.sorted().flatMap { profile in
      (results(profile: profile) + failures(profile: profile)).filter { $0.job.hasPrefix(prefix) }
    }
  }
}
