import Foundation

extension Commands {
  // MARK: status

  /// One experiment's line in `replicate status`.
  public struct ExperimentStatus: Sendable, Equatable {
    /// The experiment.
    public var experiment: String
    /// Planned jobs (distinct ids).
    public var planned = 0
    /// Jobs with a healthy result.
    public var done = 0
    /// Jobs whose run is degenerate (training collapse, or a recorded divergence): an outcome, not rerun.
    public var degenerate = 0
    /// Jobs whose last run failed for another reason (rerun by the next `run`).
    public var failed = 0
    /// Jobs whose lock a live process holds.
    public var running: [RunningJob] = []
    /// Planned jobs with none of the above.
    public var pending = 0
    /// Result and failure files no planned job owns (``CurrentPlan/Orphan``).
    public var orphans = 0
  }

  /// A job whose lock a live process holds.
  public struct RunningJob: Sendable, Equatable {
    /// The job id.
    public var id: String
    /// Who holds it (pid and host) and when its lock last beat.
    public var holder: String
  }

  /// The state of every planned job of `profile` and the orphans beside them, per experiment. It reads only
  /// files, so it works on a results folder a Slurm array shares: running jobs come from lock files
  /// (holder host and pid, and the age of the last heartbeat); a stale lock counts as pending.
  public static func statuses(_ workspace: Workspace, profile: String) throws -> [ExperimentStatus] {
    let plan = try workspace.currentPlan(profile: profile)
    let store = workspace.store
    let orphans = Dictionary(grouping: plan.orphans(in: store), by: \.experiment)
    var names = Set(plan.experiments)
    names.formUnion(orphans.keys)
    return names.sorted().map { experiment in
      var s = ExperimentStatus(experiment: experiment)
      s.orphans = orphans[experiment]?.count ?? 0
      let ids = plan.ids(of: experiment)
      s.planned = ids.count
      guard !ids.isEmpty else { return s }
      let results = Report.ExperimentResults.load(
        experiment: experiment, profile: profile, resultsDir: workspace.resultsDir, plan: plan)
      var seen: Set<String> = []
      for run in results.runs where seen.insert(run.job).inserted {
        if run.degeneracy == nil { s.done += 1 } else { s.degenerate += 1 }
      }
      // A job with a live lock runs now, whether or not an earlier run failed (a failure is retried).
      let folder = store.folder(profile: profile, experiment: experiment)
      for id in ids.sorted() where !seen.contains(id) {
        if let lock = JobLock.inspect(at: "\(folder)/\(id).lock"), !lock.stale {
          let holder = lock.owner.map(\.description) ?? "unknown holder"
          s.running.append(RunningJob(id: id, holder: "\(holder), heartbeat \(Int(lock.age)) s ago"))
          seen.insert(id)
        }
      }
      for failure in results.failures where seen.insert(failure.job).inserted {
        if failure.isDegenerate { s.degenerate += 1 } else { s.failed += 1 }
      }
      s.pending = ids.subtracting(seen).count
      return s
    }
  }

  /// `replicate status [--profile P]`: per experiment, done, degenerate, failed, running and pending jobs
  /// and orphans, then the running jobs with their holders.
  public static func status(_ workspace: Workspace, profile: String) throws -> Output {
    let all = try statuses(workspace, profile: profile)
    let absent = try workspace.currentPlan(profile: profile).absentDatasets
    let header = ["experiment", "planned", "done", "degenerate", "failed", "running", "pending", "orphans"]
    var rows = all.map {
      [$0.experiment]
        + [$0.planned, $0.done, $0.degenerate, $0.failed, $0.running.count, $0.pending, $0.orphans].map(String.init)
    }
    func total(_ f: (ExperimentStatus) -> Int) -> String { String(all.reduce(0) { $0 + f($1) }) }
    rows.append(
      [
        "total", total(\.planned), total(\.done), total(\.degenerate), total(\.failed), total { $0.running.count },
        total(\.pending), total(\.orphans),
      ])
    var out =
      "profile \(profile), results in \(workspace.resultsDir)\n" + TextTable.render(header: header, rows: rows) + "\n"
    for s in all {
      for job in s.running { out += "running  \(job.id.prefix(12)) \(s.experiment): \(job.holder)\n" }
    }
    if !absent.isEmpty {
      out += "data absent here: \(absent.joined(separator: ", ")); the ids of their jobs hash `absent`, so their "
      out += "results count as orphans until --data-dir names the files\n"
    }
    let orphans = all.reduce(0) { $0 + $1.orphans }
    if orphans > 0 {
      out += "\(orphans) orphaned file\(orphans == 1 ? "" : "s") (no planned job owns them; reports ignore them): "
      out += "`replicate gc --profile \(profile)` lists them, `--apply` removes them\n"
    }
    return Output(out)
  }

  // MARK: gc

  /// `replicate gc [--profile P] [--apply] [--archive DIR]`: lists the orphaned result and failure files of
  /// `profile` (and their logs); with `apply`, removes them, or moves them under `archive/<profile>/<experiment>/`
  /// when an archive folder is given. Without `apply` nothing changes (a dry run).
  public static func gc(_ workspace: Workspace, profile: String, apply: Bool, archive: String?) throws -> Output {
    let plan = try workspace.checkedPlan(profile: profile)
    let orphans = plan.orphans(in: workspace.store)
    let fm = FileManager.default
    var lines: [String] = []
    var bytes = 0
    for orphan in orphans {
      bytes += ((try? fm.attributesOfItem(atPath: orphan.path))?[.size] as? Int) ?? 0
      lines.append("\(apply ? (archive == nil ? "removed " : "archived") : "orphan  ")  \(orphan.path)")
      guard apply else { continue }
      let log = "\(workspace.resultsDir)/\(profile)/logs/\(orphan.id).log"
      let logIsOrphan =
        !orphan.isFailure
        || !fm.fileExists(atPath: "\((orphan.path as NSString).deletingLastPathComponent)/\(orphan.id).json")
      do {
        if let archive {
          // The file, and its log beside it, under archive/<profile>/<experiment>/.
          let folder = "\(archive)/\(profile)/\(orphan.experiment)"
          try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
          var moves = [(orphan.path, "\(folder)/\((orphan.path as NSString).lastPathComponent)")]
          if logIsOrphan && fm.fileExists(atPath: log) { moves.append((log, "\(folder)/\(orphan.id).log")) }
          for (from, to) in moves {
            if fm.fileExists(atPath: to) { try fm.removeItem(atPath: to) }
            try fm.moveItem(atPath: from, toPath: to)
          }
        } else {
          try fm.removeItem(atPath: orphan.path)
          if logIsOrphan { try? fm.removeItem(atPath: log) }
        }
      } catch {
        throw HarnessError(.io, "cannot \(archive == nil ? "remove" : "archive") \(orphan.path): \(error)")
      }
    }
    let n = orphans.count
    let size = String(format: "%.1f MB", Double(bytes) / 1e6)
    if n == 0 {
      lines.append("no orphans under \(workspace.resultsDir)/\(profile)")
    } else if apply {
      lines.append(
        "\(n) orphaned file\(n == 1 ? "" : "s") (\(size)) \(archive == nil ? "removed" : "moved to \(archive!)")")
    } else {
      lines.append(
        "\(n) orphaned file\(n == 1 ? "" : "s") (\(size)); dry run: `--apply` removes them, `--apply --archive DIR` moves them"
      )
    }
    return Output(lines.joined(separator: "\n") + "\n")
  }
}
