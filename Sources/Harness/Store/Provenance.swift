import Foundation

/// Which code and which command produced a result: the project commit, whether the working tree had
/// uncommitted changes outside `results/`, and the command line. Recorded in every result and failure
/// file (`provenance`), never part of a job id or a report.
///
/// A runner computes it once and hands it to its workers through the environment (``environmentVariables``),
/// so every result of one `replicate all` names the same commit and command; a worker started on its own
/// (`run-job` from a Slurm task) computes it itself.
public struct Provenance: Sendable, Hashable {
  /// The project commit (`git rev-parse HEAD` in the working directory), or `unknown` outside a checkout.
  public var commit: String
  /// Whether tracked or untracked files outside `results/` differed from the commit; nil when unknown.
  public var dirty: Bool?
  /// The command that produced the result (`replicate all --profile default`).
  public var command: String

  /// Creates a record.
  public init(commit: String, dirty: Bool?, command: String) {
    self.commit = commit
    self.dirty = dirty
    self.command = command
  }

  /// The variables that carry a runner's provenance to its workers.
  public static let commitVariable = "REPLICATE_COMMIT"
  /// See ``commitVariable``: `true`, `false` or `unknown`.
  public static let dirtyVariable = "REPLICATE_DIRTY"
  /// See ``commitVariable``.
  public static let commandVariable = "REPLICATE_COMMAND"

  /// This process's provenance: inherited from its runner when the variables are set, else read from git
  /// and the command line (once per process).
  public static var current: Provenance { cached }

  private static let cached: Provenance = {
    let env = ProcessInfo.processInfo.environment
    if let commit = env[commitVariable], let command = env[commandVariable] {
      let dirty = env[dirtyVariable].flatMap { $0 == "true" ? true : $0 == "false" ? false : nil }
      return Provenance(commit: commit, dirty: dirty, command: command)
    }
    let command = (["replicate"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
    guard let head = git(["rev-parse", "HEAD"]), head.count == 40 else {
      return Provenance(commit: "unknown", dirty: nil, command: command)
    }
    let status = git(["status", "--porcelain", "--untracked-files=normal", "--", ".", ":(exclude)results"])
    return Provenance(commit: head, dirty: status.map { !$0.isEmpty }, command: command)
  }()

  /// The environment a worker inherits this provenance through.
  public var environmentVariables: [String: String] {
    [
      Self.commitVariable: commit, Self.dirtyVariable: dirty.map { $0 ? "true" : "false" } ?? "unknown",
      Self.commandVariable: command,
    ]
  }

  /// The JSON recorded in result files.
  public var json: JSON {
    .object([
      ("commit", .string(commit)), ("dirty", dirty.map(JSON.bool) ?? .null), ("command", .string(command)),
    ])
  }

  /// Runs git in the working directory; its trimmed standard output, or nil when it fails.
  static func git(_ arguments: [String]) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git"] + arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return nil }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }
}
