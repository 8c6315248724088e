import Foundation
import Testing
import _ReplicateTestSupport

@testable import Harness

/// Two `replicate run` processes on one results folder, as two users or two Slurm allocations would start
/// them: they train on the real Fashion-MNIST files (Debian's `dataset-fashion-mnist`, which CI installs).
@Suite("Shared results folder")
struct SharedResultsTests {
  static let fashionMNIST = "/usr/share/datasets/fashion-mnist"

  static let manifest = """
    name: race
    paper: "Two runners, one folder"
    dataset: {name: fashion-mnist, max_train: 100, max_test: 100}
    model: {name: mlp, widths: [16]}
    train:
      epochs: 1
      batch_size: 50
      optimizer: {lr: 0.1}
      schedule: {name: step, milestones: []}
    methods:
      - {id: a, loss: ce}
      - {id: b, loss: {name: focal, gamma: 1}}
    seeds: [0, 1, 2]
    metrics: [top1_error]

    """

  @Test(
    "two runners never tear a file, never leave two results for a job, and run each job about once",
    .enabled(if: FileManager.default.fileExists(atPath: fashionMNIST)))
  func twoRunnersShareOneFolder() async throws {
    let dir = TempDir()
    try dir.writeManifest(Self.manifest, name: "race")
    let arguments = [
      "run", "race", "--jobs", "2", "--experiments", "\(dir.path)/experiments", "--results", "\(dir.path)/results",
    ]
    // Both processes start now, before either is waited for (a blocking wait per task could leave the second
    // queued behind busy test threads until the first is done).
    let runners = try (0..<2).map { _ in try StartedCLI(arguments) }
    while runners.contains(where: \.isRunning) { try await Task.sleep(nanoseconds: 50_000_000) }
    let a = try runners[0].result()
    let b = try runners[1].result()
    #expect(a.status == 0, "\(a.stdout)\(a.stderr)")
    #expect(b.status == 0, "\(b.stdout)\(b.stderr)")

    let folder = "\(dir.path)/results/default/race"
    let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
    // One result per job and nothing else: no failure, lock, temporary or second file.
    #expect(names.count == 6 && names.allSatisfy { $0.hasSuffix(".json") && !$0.hasSuffix(".failed.json") }, "\(names)")
    let workspace = Workspace(experimentsDir: "\(dir.path)/experiments", resultsDir: "\(dir.path)/results")
    let plan = try workspace.currentPlan(profile: "default")
    #expect(Set(names.map { String($0.dropLast(5)) }) == plan.ids(of: "race"))
    for name in names {
      let record = try #require(ResultRecord.read(path: "\(folder)/\(name)", expectedID: String(name.dropLast(5))))
      #expect(record.metrics?["overall"]?["top1_error"]?.doubleValue != nil)
    }
    // Each job ran once, or twice only if both runners took it in the same instant: at most the jobs in
    // flight (two per runner) are duplicated.
    let ranA = a.stderr.components(separatedBy: "] done ").count - 1
    let ranB = b.stderr.components(separatedBy: "] done ").count - 1
    #expect(ranA + ranB >= 6 && ranA + ranB <= 6 + 4, "\(a.stderr)\n---\n\(b.stderr)")
    // Both worked at once: each ran some of the jobs (neither only found the other's results afterwards).
    #expect(ranA > 0 && ranB > 0, "\(a.stderr)\n---\n\(b.stderr)")
    let status = try Commands.statuses(workspace, profile: "default")
    #expect(status.map(\.done) == [6] && status.map(\.pending) == [0] && status.map(\.orphans) == [0])
  }
}

/// A `replicate` process started at once, its output going to temporary files.
final class StartedCLI: @unchecked Sendable {
  let process = Process()
  let out: URL
  let err: URL

  init(_ arguments: [String]) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    out = dir.appendingPathComponent("stdout")
    err = dir.appendingPathComponent("stderr")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    FileManager.default.createFile(atPath: err.path, contents: nil)
    process.executableURL = URL(fileURLWithPath: CLIRunner.executable)
    process.arguments = arguments
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    process.standardInput = FileHandle.nullDevice
    try process.run()
  }

  var isRunning: Bool { process.isRunning }

  /// Its status and output, once it has exited.
  func result() throws -> CLIResult {
    process.waitUntilExit()
    defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
    return CLIResult(
      status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
      stderr: try String(contentsOf: err, encoding: .utf8))
  }
}
