import ArgumentParser
import Foundation
import Harness

/// `--profile P` (default `default`).
struct ProfileOption: ParsableArguments {
  @Option(help: "The profile: smoke, default or paper.")
  var profile = "default"

  func validate() throws {
    guard Registry.profiles.contains(profile) else {
      throw ValidationError(
        "unknown profile '\(profile)' (expected one of: \(Registry.profiles.joined(separator: ", ")))")
    }
  }
}

/// `--results DIR`, `--data-dir DIR` and the hidden `--experiments DIR`.
struct WorkspaceOptions: ParsableArguments {
  @Option(help: "The results folder.")
  var results = "results"

  @Option(name: .customLong("data-dir"), help: "Folder with dataset files (default: /usr/share/datasets).")
  var dataDir: String?

  @Option(help: .hidden)
  var experiments = "experiments"

  /// The workspace these options name.
  var workspace: Workspace {
    Workspace(experimentsDir: experiments, resultsDir: results, dataDir: dataDir)
  }

  /// `--experiments` for worker processes, when not the default.
  var experimentsForWorkers: String? { experiments == "experiments" ? nil : experiments }
}

/// `--jobs N` (default: the number of cores).
struct JobsOption: ParsableArguments {
  @Option(help: "Jobs to run at a time (default: the number of cores).")
  var jobs: Int?

  func validate() throws {
    if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1 (got \(jobs))") }
  }

  /// The number of jobs at a time.
  var count: Int { jobs ?? ProcessInfo.processInfo.activeProcessorCount }
}

extension Commands.Emit: ExpressibleByArgument {}

/// `--blas-kernel pinned|native`: acted on at start-up, before OpenBLAS loads (``Bench/ensureProcessSetup(arguments:)``);
/// declared here so that the parser accepts and documents it.
struct KernelOption: ParsableArguments {
  @Option(
    name: .customLong("blas-kernel"),
    help: """
      OpenBLAS kernel: pinned (Haswell, the committed results' kernel, when OPENBLAS_CORETYPE is unset) or native \
      (OpenBLAS's own choice: faster on some CPUs, not bitwise comparable). An explicit OPENBLAS_CORETYPE always wins.
      """)
  var blasKernel = "pinned"

  func validate() throws {
    guard ["pinned", "native"].contains(blasKernel) else {
      throw ValidationError("unknown --blas-kernel '\(blasKernel)' (expected pinned or native)")
    }
  }
}
