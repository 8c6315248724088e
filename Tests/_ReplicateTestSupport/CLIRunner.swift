import Foundation

/// What a run of the `replicate` executable printed and how it exited.
public struct CLIResult: Sendable {
  /// The exit status (128 + n when killed by signal n).
  public var status: Int32
  /// Standard output.
  public var stdout: String
  /// Standard error.
  public var stderr: String

  /// A result from its parts.
  public init(status: Int32, stdout: String, stderr: String) {
    self.status = status
    self.stdout = stdout
    self.stderr = stderr
  }
}

/// Runs the built `replicate` executable (next to the test bundle in `.build/<config>/`, or
/// `$REPLICATE_BINARY`) and captures its output and exit status, for tests of the CLI contract.
public enum CLIRunner {
  /// An error starting the executable.
  public struct Error: Swift.Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
  }

  /// The path of the `replicate` executable the tests run.
  public static var executable: String {
    if let path = ProcessInfo.processInfo.environment["REPLICATE_BINARY"] { return path }
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    // macOS bundles nest the binary: …/replicatePackageTests.xctest/Contents/MacOS/.
    while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("replicate").path) {
      dir.deleteLastPathComponent()
    }
    return dir.appendingPathComponent("replicate").path
  }

  /// Runs `replicate ARGS` in `directory` (default: the current one) and waits for it.
  public static func run(_ arguments: [String], in directory: String? = nil) throws -> CLIResult {
    let path = executable
    guard FileManager.default.isExecutableFile(atPath: path) else {
      throw Error(description: "no replicate executable at \(path): build it first (swift build)")
    }
    let temp = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: temp) }
    let outURL = temp.appendingPathComponent("stdout")
    let errURL = temp.appendingPathComponent("stderr")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    let status =
      process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    return CLIResult(
      status: status, stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
      stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
  }
}
