// TEMPORARY (harness branch only; do not merge): stands in for the lead's `Methods.JobRunner` so the
// harness compiles. The real entry point replaces this file.

/// Runs one job (temporary stand-in: always fails with `bad-spec`).
public enum JobRunner {
  /// Trains and evaluates `spec`; `log` receives per-epoch lines.
  public static func run(_ spec: JobSpec, dataDir: String?, log: (String) -> Void) throws -> JobOutput {
    throw JobFailure(.badSpec, "Methods.JobRunner is not implemented yet")
  }
}
