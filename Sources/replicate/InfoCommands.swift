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

  @Flag(help: "Say why each job would run: new, new seed, spec changed (which keys), version bumped, data changed…")
  var explain = false

  @Flag(help: "With --explain: count cached jobs as forced.")
  var force = false

  func run() throws {
    let output = try Commands.plan(
      workspace.workspace, experiments: experiments, profile: profile.profile, emit: emit, parallel: jobs.count,
      explain: explain, force: force)
    Console.out(output.text)
  }
}

/// `replicate status`.
struct Status: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Per experiment: done, degenerate, failed, running (from lock files) and pending jobs, and orphans.",
    discussion:
      "Works on a results folder a Slurm array shares. Example: replicate status --profile paper --results /shared/results"
  )

  @OptionGroup var profile: ProfileOption
  @OptionGroup var workspace: WorkspaceOptions

  func run() throws { Console.out(try Commands.status(workspace.workspace, profile: profile.profile).text) }
}

/// `replicate gc`.
struct GC: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gc",
    abstract: "List the orphaned results of a profile (no planned job owns them); remove or archive them with --apply.",
    discussion: "A dry run unless --apply is given. Example: replicate gc --profile default --apply")

  @OptionGroup var profile: ProfileOption
  @OptionGroup var workspace: WorkspaceOptions

  @Flag(help: "Remove the orphans (or move them, with --archive).")
  var apply = false

  @Option(help: "With --apply: move the orphans under DIR/<profile>/<experiment>/ instead of removing them.")
  var archive: String?

  func run() throws {
    Console.out(
      try Commands.gc(workspace.workspace, profile: profile.profile, apply: apply, archive: archive).text)
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
    abstract: "Show a job's resolved spec, outcome (done, degenerate, failed, planned) and provenance.",
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

/// `replicate verify [ID…] [--sample N | --cheapest N]`.
struct Verify: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Rerun some cached jobs in a temporary folder and check their metrics are bitwise identical.",
    discussion: """
      On another OpenBLAS kernel than the results were made with, says so and how far each metric moved in seed
      standard deviations. Example: replicate verify --sample 3 --profile default; replicate verify --cheapest 2
      """)

  @Argument(help: "Job ids (or unique prefixes) to rerun; none: --sample or --cheapest chooses.")
  var ids: [String] = []

  @Option(help: "How many cached jobs to rerun, evenly spaced in id order.")
  var sample = 3

  @Option(help: "Rerun the N cached jobs with the shortest recorded run time (a fixed, cheap set).")
  var cheapest: Int?

  @OptionGroup var profile: ProfileOption
  @OptionGroup var workspace: WorkspaceOptions
  @OptionGroup var kernel: KernelOption

  func validate() throws {
    if sample < 1 { throw ValidationError("--sample must be at least 1 (got \(sample))") }
    if let cheapest, cheapest < 1 { throw ValidationError("--cheapest must be at least 1 (got \(cheapest))") }
    if cheapest != nil && !ids.isEmpty { throw ValidationError("give job ids or --cheapest, not both") }
  }

  func run() async throws {
    let executor = ProcessExecutor(dataDir: workspace.dataDir, experimentsDir: workspace.experimentsForWorkers)
    let selection: Commands.VerifySelection =
      !ids.isEmpty ? .ids(ids) : cheapest.map { .cheapest($0) } ?? .sample(sample)
    let output = try await Commands.verify(
      workspace.workspace, profile: profile.profile, selection: selection, executor: executor,
      progress: ConsoleProgress(verbose: false))
    Console.out(output.text)
    if output.status != 0 { throw ExitCode(output.status) }
  }
}
