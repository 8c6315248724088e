/// The sbatch job-array script of `replicate plan --emit slurm`: one array task per uncached job; task i
/// runs `replicate run-job <id_i> --profile P --results DIR` against the shared results folder.
///
/// Results are content-addressed and written atomically under a per-job lock, so resubmitting, or
/// running the script while another runner works on the same folder, needs no coordination.
public struct SlurmScript: Sendable {
  /// The jobs, one array task each (task i runs `jobs[i]`).
  public var jobs: [PlannedJob]
  /// The profile.
  public var profile: String
  /// Resources per task (the maximum over the jobs' experiments, see ``SlurmOptions/covering(_:)``).
  public var options: SlurmOptions
  /// The `replicate` executable as the compute nodes see it.
  public var executable: String
  /// The results folder as the compute nodes see it.
  public var resultsDir: String
  /// The folder holding `experiments/` (the script `cd`s there).
  public var workingDirectory: String
  /// `--data-dir` for the workers.
  public var dataDir: String?
  /// `--experiments` for the workers, when not `experiments`.
  public var experimentsDir: String?

  /// Creates a script description.
  public init(
    jobs: [PlannedJob], profile: String, options: SlurmOptions, executable: String, resultsDir: String,
    workingDirectory: String, dataDir: String? = nil, experimentsDir: String? = nil
  ) {
    self.jobs = jobs
    self.profile = profile
    self.options = options
    self.executable = executable
    self.resultsDir = resultsDir
    self.workingDirectory = workingDirectory
    self.dataDir = dataDir
    self.experimentsDir = experimentsDir
  }

  /// The folder the tasks' `--output` files go to (it must exist before `sbatch`).
  public var logsDirectory: String { "\(resultsDir)/\(profile)/logs" }

  /// The script text.
  public func render() -> String {
    var lines = ["#!/bin/bash"]
    lines.append("# replicate: \(jobs.count) uncached job\(jobs.count == 1 ? "" : "s") of profile '\(profile)'.")
    lines.append("# Submit with: sbatch <this file>. Each array task runs one job; rerunning is safe.")
    lines.append("#SBATCH --job-name=replicate-\(profile)")
    if !jobs.isEmpty { lines.append("#SBATCH --array=0-\(jobs.count - 1)") }
    lines.append("#SBATCH --cpus-per-task=\(options.cpusPerTask)")
    lines.append("#SBATCH --time=\(options.time)")
    lines.append("#SBATCH --mem=\(options.mem)")
    lines.append("#SBATCH --output=\(logsDirectory)/slurm-%A_%a.out")
    lines.append("set -euo pipefail")
    if jobs.isEmpty {
      lines.append("echo 'replicate: nothing to run, every job of profile \(profile) has a result'")
      return lines.joined(separator: "\n") + "\n"
    }
    lines.append("JOBS=(")
    for (i, job) in jobs.enumerated() {
      let setting = job.settingLabel.isEmpty ? "" : " [\(job.settingLabel)]"
      lines.append("  \(job.id)  # \(i): \(job.experiment)/\(job.methodId)\(setting) seed \(job.seed)")
    }
    lines.append(")")
    lines.append("export OPENBLAS_NUM_THREADS=1")
    lines.append("cd \(quote(workingDirectory))")
    var command = [
      quote(executable), "run-job", "\"${JOBS[$SLURM_ARRAY_TASK_ID]}\"", "--profile", quote(profile), "--results",
      quote(resultsDir),
    ]
    if let dataDir { command += ["--data-dir", quote(dataDir)] }
    if let experimentsDir { command += ["--experiments", quote(experimentsDir)] }
    lines.append("exec " + command.joined(separator: " "))
    return lines.joined(separator: "\n") + "\n"
  }

  /// Single-quotes `text` for the shell unless it needs no quoting.
  func quote(_ text: String) -> String {
    let safe = text.allSatisfy { $0.isLetter || $0.isNumber || "/._-+=:,@".contains($0) }
    return safe && !text.isEmpty ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}
