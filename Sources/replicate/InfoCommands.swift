import ArgumentParser
import Foundation
import Harness

/// `replicate plan`.
struct PlanCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plan",
    abstract: "List the jobs a run would do, with an ETA, as JSON, or as a Slurm array script.",
    discussion: "Example: replicate plan --profile paper --emit slurm > paper.sbatch && sbatch paper.sbatch")

  @Argument(help: "Experiment names (all when none).")
  var experiments: [String] = []

  @OptionGroup var profile: ProfileOption
  @OptionGroup var jobs: JobsOption
  @OptionGroup var workspace: WorkspaceOptions

  @Option(help: "Output: list, json or slurm.")
  var emit: Commands.Emit = .list

  func run() throws {
    let output = try Commands.plan(
      workspace.workspace, experiments: experiments, profile: profile.profile, emit: emit, parallel: jobs.count)
    Console.out(output.text)
  }
}

/// `replicate list`.
struct List: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "List the experiments, the profiles they overlay, and their job counts.",
    discussion: "Example: replicate list --results results")

  @OptionGroup var workspace: WorkspaceOptions

  func run() throws { Console.out(try Commands.list(workspace.workspace).text) }
}

/// `replicate show JOB-ID`.
struct Show: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show a job's result or failure.",
    discussion: "Example: replicate show 3fa2c1d9")

  @Argument(help: "The job id (or a unique prefix).")
  var jobID: String

  @OptionGroup var workspace: WorkspaceOptions

  func run() throws { Console.out(try Commands.show(workspace.workspace, id: jobID).text) }
}

/// `replicate validate [FILE…]`.
struct Validate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Check manifests; exit 2 listing every problem.",
    discussion: "Example: replicate validate experiments/ldam-drw/manifest.yaml")

  @Argument(help: "Manifest files (all under experiments/ when none).")
  var files: [String] = []

  @OptionGroup var workspace: WorkspaceOptions

  func run() throws {
    let output = Commands.validate(workspace.workspace, files: files)
    if output.status == 0 { Console.out(output.text) } else { Console.error(output.text) }
    if output.status != 0 { throw ExitCode(output.status) }
  }
}

/// `replicate verify [--sample N]`.
struct Verify: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Rerun some cached jobs in a temporary folder and check their metrics are bitwise identical.",
    discussion: "Example: replicate verify --sample 3 --profile default")

  @Option(help: "How many cached jobs to rerun.")
  var sample = 3

  @OptionGroup var profile: ProfileOption
  @OptionGroup var workspace: WorkspaceOptions
  @OptionGroup var kernel: KernelOption

  func validate() throws {
    if sample < 1 { throw ValidationError("--sample must be at least 1 (got \(sample))") }
  }

  func run() async throws {
    let executor = ProcessExecutor(dataDir: workspace.dataDir, experimentsDir: workspace.experimentsForWorkers)
    let output = try await Commands.verify(
      workspace.workspace, profile: profile.profile, sample: sample, executor: executor,
      progress: ConsoleProgress(verbose: false))
    Console.out(output.text)
    if output.status != 0 { throw ExitCode(output.status) }
  }
}
