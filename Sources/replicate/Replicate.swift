import ArgumentParser

/// The `replicate` command: a reproducible benchmark suite and paper-replication harness.
struct Replicate: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "replicate",
    abstract: "Run seeded paper replications and compare them with the papers' numbers.",
    discussion: """
      Exit status: 0 success, 1 a check failed, 2 bad input (manifest, arguments, data), 3 a job failed.
      Example: replicate all --profile smoke --results /tmp/smoke
      """,
    subcommands: [
      All.self, Run.self, RunJob.self, PlanCommand.self, Status.self, GC.self, List.self, Show.self, Validate.self,
      Verify.self, ReportCommand.self, DiffCommand.self, ExportCommand.self, ConformanceCommand.self, BenchCommand.self,
    ])
}
