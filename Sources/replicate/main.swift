import ArgumentParser
import Foundation
import Harness

/// Entry point: parse, run, and map errors to DESIGN.md's exit statuses (0 ok, 1 a check failed, 2 bad
/// input, 3 a job failed). ArgumentParser's own usage status (64) becomes 2.
enum Entry {
  static func main() async -> Never {
    do {
      var command = try Replicate.parseAsRoot()
      if var asyncCommand = command as? AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
      exit(0)
    } catch let code as ExitCode {
      exit(code.rawValue)
    } catch let errors as ManifestErrors {
      Console.error(errors.description + "\n\(errors.errors.count) problem(s) found")
      exit(2)
    } catch let error as HarnessError {
      Console.error("error: \(error)")
      exit(2)
    } catch {
      if Replicate.exitCode(for: error) == .success { Replicate.exit(withError: error) }
      Console.error(Replicate.fullMessage(for: error))
      exit(2)
    }
  }
}

// OpenBLAS sizes its thread pool and picks its kernel when it loads: run with one thread (workers, and
// everything but `bench --threads T`) and the pinned kernel (unless OPENBLAS_CORETYPE is set or
// `--blas-kernel native` is given), re-executing once with the environment set if needed.
Bench.ensureProcessSetup(arguments: CommandLine.arguments)
await Entry.main()
