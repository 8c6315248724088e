import Foundation
import Testing
import _ReplicateTestSupport

@testable import Harness

/// The CLI contract of DESIGN.md, run against the built executable: names, flags and exit statuses.
@Suite("CLI")
struct CLITests {
  let dir = TempDir()

  init() throws {
    try dir.writeManifest(baseManifest)
  }

  /// Runs `replicate ARGS --experiments … --results …` (the folder options appended where accepted).
  func replicate(_ args: [String], folders: Bool = true) throws -> CLIResult {
    try CLIRunner.run(
      args + (folders ? ["--experiments", "\(dir.path)/experiments", "--results", "\(dir.path)/results"] : []),
      in: dir.path)
  }

  @Test("help lists the subcommands and exits 0")
  func help() throws {
    let r = try replicate(["--help"], folders: false)
    #expect(r.status == 0)
    for name in ["all", "run", "run-job", "plan", "list", "show", "validate", "verify"] {
      #expect(r.stdout.contains("  \(name) "), "help lacks \(name)")
    }
    let all = try replicate(["all", "--help"], folders: false)
    for flag in ["--profile", "--jobs", "--force", "--resolve", "--data-dir", "--results", "--verbose"] {
      #expect(all.stdout.contains(flag), "all --help lacks \(flag)")
    }
    #expect(!all.stdout.contains("--experiments"))
  }

  @Test("validate: 0 when valid, 2 listing every problem with file, line and key path")
  func validate() throws {
    let ok = try replicate(["validate"])
    #expect(ok.status == 0 && ok.stdout.contains("ok: 1 manifest"))
    let bad = try dir.writeManifest(
      manifest(replacingLine: 9, with: "  name: vgg16").replacingOccurrences(
        of: "seeds: [0, 1, 2]", with: "seeds: [0, x]"))
    let r = try replicate(["validate"])
    #expect(r.status == 2)
    #expect(r.stderr.contains("\(bad):9: model.name: unknown model 'vgg16'"))
    #expect(r.stderr.contains("\(bad):25: seeds[1]:"))
    #expect(r.stderr.contains("2 problems found"))
    let explicit = try replicate(["validate", bad])
    #expect(explicit.status == 2)
  }

  @Test("a bad manifest stops every command before anything runs or is written (exit 2)")
  func badManifestRunsNothing() throws {
    try dir.writeManifest(manifest(replacingLine: 4, with: "  name: imagenet"))
    for command in [["all"], ["run", "demo"], ["plan"], ["list"]] {
      let r = try replicate(command)
      #expect(r.status == 2, "\(command): \(r.stderr)")
      #expect(r.stderr.contains("manifest.yaml:4: dataset.name: unknown dataset 'imagenet'"))
    }
    #expect(!FileManager.default.fileExists(atPath: "\(dir.path)/results"))
  }

  @Test(
    "bad arguments exit 2",
    arguments: [
      ["all", "--profile", "huge"], ["all", "--jobs", "0"], ["frobnicate"], ["run"], ["run", "nosuch"],
      ["run-job", "deadbeef"], ["show", "deadbeef"], ["plan", "--emit", "xml"], ["verify", "--sample", "0"],
      ["all", "--bogus-flag"],
    ])
  func badArguments(_ args: [String]) throws {
    let r = try replicate(args)
    #expect(r.status == 2, "\(args): \(r.stdout) \(r.stderr)")
    #expect(!r.stderr.isEmpty)
  }

  @Test("plan prints the table, JSON or an sbatch script; list shows the experiment")
  func planAndList() throws {
    let table = try replicate(["plan", "--profile", "smoke"])
    #expect(table.status == 0 && table.stdout.contains("4 jobs (smoke): 0 cached, 4 to run"))
    let json = try replicate(["plan", "--emit", "json"])
    #expect(json.status == 0)
    #expect(try JSON(parsing: Data(json.stdout.utf8))["jobs"]?.arrayValue?.count == 12)
    let slurm = try replicate(["plan", "--emit", "slurm", "--profile", "smoke"])
    #expect(slurm.status == 0 && slurm.stdout.contains("#SBATCH --array=0-3"))
    let list = try replicate(["list"])
    #expect(list.status == 0 && list.stdout.contains("demo") && list.stdout.contains("4 (0 done)"))
  }

  @Test("a failing job: run exits 3, writes a failure file, and show prints it; verify with nothing cached exits 0")
  func failingJob() throws {
    // CIFAR-100 is absent from the empty data folder, so every job fails fast (bad data).
    try dir.writeManifest(
      manifest(replacingLine: 4, with: "  name: cifar100"))
    let empty = "\(dir.path)/no-data"
    try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
    let r = try replicate(["run", "demo", "--profile", "smoke", "--jobs", "2", "--data-dir", empty])
    #expect(r.status == 3, "\(r.stdout) \(r.stderr)")
    #expect(r.stderr.contains("0 done, 0 cached, 4 failed"))
    let failures = files(under: "\(dir.path)/results/smoke/demo") { $0.hasSuffix(".failed.json") }
    #expect(failures.count == 4)
    let id = String((failures.first ?? "").prefix(12))
    let show = try CLIRunner.run(["show", id, "--results", "\(dir.path)/results"], in: dir.path)
    #expect(show.status == 0 && show.stdout.contains("FAILED"), "\(show.stdout) \(show.stderr)")
    #expect(files(under: "\(dir.path)/results/smoke/logs") { $0.hasSuffix(".log") }.count == 4)
    let verify = try replicate(["verify", "--profile", "smoke"])
    #expect(verify.status == 0 && verify.stdout.contains("no cached results"))
  }
}
