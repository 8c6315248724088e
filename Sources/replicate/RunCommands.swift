import ArgumentParser
import Engine
import Foundation
import Harness
import Synchronization

/// Options shared by `all` and `run`.
struct RunOptionsGroup: ParsableArguments {
  @OptionGroup var profile: ProfileOption
  @OptionGroup var jobs: JobsOption
  @OptionGroup var workspace: WorkspaceOptions
  @OptionGroup var kernel: KernelOption

  @Flag(help: "Rerun jobs that already have a result (the new result replaces it).")
  var force = false

  @Flag(help: "Show every job's per-epoch lines.")
  var verbose = false

  /// Runs the jobs of `experiments` (all when empty) and exits with the run's status; with `resolve`, adds
  /// seeds to inconclusive settings under their manifests' group-sequential designs and runs them.
  func run(experiments: [String], resolve: Bool = false) async throws {
    let runner = Mutex<Runner?>(nil)
    let watcher = InterruptWatcher { runner.withLock { $0 }?.requestStop() }
    defer { withExtendedLifetime(watcher) {} }
    let executor = ProcessExecutor(
      dataDir: workspace.dataDir, experimentsDir: workspace.experimentsForWorkers)
    let options = RunOptions(jobs: jobs.count, force: force)
    let summary =
      resolve
      ? try await Commands.resolve(
        workspace.workspace, profile: profile.profile, options: options, executor: executor,
        progress: ConsoleProgress(verbose: verbose), onRunner: { r in runner.withLock { $0 = r } },
        report: { Console.out($0) })
      : try await Commands.run(
        workspace.workspace, experiments: experiments, profile: profile.profile, options: options,
        executor: executor, progress: ConsoleProgress(verbose: verbose), onRunner: { r in runner.withLock { $0 = r } })
    if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
  }
}

/// `replicate all`.
struct All: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run every experiment's missing jobs.",
    discussion: """
      With --resolve, then add seeds to the two methods of each inconclusive claim setting, look by look, under the
      group-sequential design its manifest declares (`resolve:`), writing them to experiments/<name>/resolve.yaml
      (part of the plan), until no setting can take more.
      Example: replicate all --profile smoke --jobs 2
      """)

  @OptionGroup var options: RunOptionsGroup

  @Flag(help: "Add seeds to inconclusive claim settings under their manifests' group-sequential designs.")
  var resolve = false

  func run() async throws { try await options.run(experiments: [], resolve: resolve) }
}

/// `replicate run EXPERIMENT…`.
struct Run: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run the missing jobs of the named experiments.",
    discussion: "Example: replicate run ldam-drw --profile default --verbose")

  @Argument(help: "Experiment names (folders under experiments/).")
  var experiments: [String]

  @OptionGroup var options: RunOptionsGroup

  func validate() throws {
    if experiments.isEmpty { throw ValidationError("name at least one experiment (or use `replicate all`)") }
  }

  func run() async throws { try await options.run(experiments: experiments) }
}

/// `replicate run-job JOB-ID`.
struct RunJob: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run-job",
    abstract: "Run one job in this process and write its result (what workers and Slurm tasks run).",
    discussion: "Example: replicate run-job 3fa2c1d9 --profile paper --results /shared/results")

  @Argument(help: "The job id (or a unique prefix).")
  var jobID: String

  @OptionGroup var profile: ProfileOption
  @OptionGroup var workspace: WorkspaceOptions
  @OptionGroup var kernel: KernelOption

  @Flag(help: "Rerun even if a result exists.")
  var force = false

  func run() throws {
    let output = try Commands.runJob(
      workspace.workspace, id: jobID, profile: profile.profile, force: force, log: { Console.out($0 + "\n") })
    Console.out(output.text)
    if output.status != 0 { throw ExitCode(output.status) }
  }
}
