import Foundation
import Methods
import Testing
import _ReplicateTestSupport

@testable import Harness

@Suite("Plan and Slurm")
struct PlanTests {
  let environment = RunEnvironment(hostname: "h", os: "o", swift: "6", blas: "b", threads: 1)

  func cache(_ jobs: ArraySlice<PlannedJob>, in store: ResultStore, seconds: Double = 10) throws {
    for job in jobs {
      let t = RunTiming(seconds: seconds, started: Date(), finished: Date())
      try store.writeResult(job, output: fakeOutput(job.spec), environment: environment, timing: t)
    }
  }

  @Test("the sbatch script has one array task per uncached job and runs run-job on the shared folder")
  func slurmScript() throws {
    let dir = TempDir()
    let yaml =
      baseManifest.replacingOccurrences(
        of: "    seeds: [0]", with: "    seeds: [0]\n    slurm: {time: \"00:30:00\"}")
      + "slurm: {cpus_per_task: 2, time: \"08:00:00\", mem: 8G}\n"
    try dir.writeManifest(yaml)
    let workspace = dir.workspace
    let jobs = try workspace.jobs(profile: "smoke")
    try cache(jobs.prefix(1), in: workspace.store)
    let script = try Commands.plan(
      workspace, experiments: [], profile: "smoke", emit: .slurm, parallel: 1, executable: "/opt/bin/replicate"
    ).text
    let lines = script.split(separator: "\n").map(String.init)
    #expect(lines.first == "#!/bin/bash")
    #expect(lines.contains("#SBATCH --array=0-\(jobs.count - 2)"))
    #expect(lines.contains("#SBATCH --cpus-per-task=2"))
    #expect(lines.contains("#SBATCH --time=00:30:00"))
    #expect(lines.contains("#SBATCH --mem=8G"))
    #expect(lines.contains("#SBATCH --output=\(dir.path)/results/smoke/logs/slurm-%A_%a.out"))
    #expect(lines.contains("export OPENBLAS_NUM_THREADS=1"))
    let listed = lines.compactMap { line -> String? in
      let t = line.trimmingCharacters(in: .whitespaces)
      return t.count > 64 && t.prefix(64).allSatisfy(\.isHexDigit) ? String(t.prefix(64)) : nil
    }
    #expect(listed == jobs.dropFirst().map(\.id))
    #expect(
      lines.last
        == "exec /opt/bin/replicate run-job \"${JOBS[$SLURM_ARRAY_TASK_ID]}\" --profile smoke --results \(dir.path)/results --experiments \(dir.path)/experiments"
    )
    #expect(!lines.contains { $0.contains("--array") && $0.contains(jobs[0].id) })
  }

  @Test("the script for a plan with nothing to run submits no array")
  func emptySlurm() throws {
    let job = try plannedJobs()[0]
    let script = SlurmScript(
      jobs: [], profile: "default", options: Registry.defaultSlurm, executable: "r", resultsDir: "/r",
      workingDirectory: "/w"
    ).render()
    #expect(!script.contains("--array"))
    #expect(script.contains("nothing to run"))
    #expect(!script.contains(job.id))
  }

  @Test("resources cover the largest request; Slurm time and memory formats parse")
  func slurmOptions() {
    let a = SlurmOptions(cpusPerTask: 1, time: "1-00", mem: "500M")
    let b = SlurmOptions(cpusPerTask: 4, time: "90", mem: "2G")
    #expect(SlurmOptions.covering([a, b]) == SlurmOptions(cpusPerTask: 4, time: "1-00", mem: "2G"))
    #expect(SlurmOptions.seconds(ofTime: "04:00:00") == 14_400)
    #expect(SlurmOptions.seconds(ofTime: "90") == 5_400)
    #expect(SlurmOptions.seconds(ofTime: "2:30") == 150)
    #expect(SlurmOptions.seconds(ofTime: "1-02:00") == 93_600)
    #expect(SlurmOptions.seconds(ofTime: "soon") == nil)
    #expect(SlurmOptions.megabytes(ofMemory: "4G") == 4096)
    #expect(SlurmOptions.megabytes(ofMemory: "4000") == 4000)
    #expect(SlurmOptions.megabytes(ofMemory: "lots") == nil)
  }

  @Test("the plan table marks cached jobs and estimates from their timings")
  func table() throws {
    let dir = TempDir()
    let jobs = try plannedJobs(profile: "smoke")
    let store = ResultStore(root: dir.path)
    let plan0 = Plan(profile: "smoke", jobs: jobs, store: store)
    #expect(plan0.table(parallel: 2).contains("heuristic: epochs × training examples"))
    try cache(jobs.prefix(2), in: store, seconds: 60)
    let plan = Plan(profile: "smoke", jobs: jobs, store: store)
    let text = plan.table(parallel: 2)
    #expect(text.contains("\(jobs.count) jobs (smoke): 2 cached, \(jobs.count - 2) to run"))
    #expect(text.contains("ETA ≈ 1m00s at 2 jobs at a time (from cached jobs' timings)"))
    let rows = text.split(separator: "\n").dropFirst(2).prefix(jobs.count)
    #expect(rows.map { $0.hasSuffix("yes") } == jobs.indices.map { $0 < 2 })
    #expect(rows.first?.hasPrefix(String(jobs[0].id.prefix(12)) + "  demo") == true)
  }

  @Test("a recorded divergence is shown and not planned; a crash is planned again")
  func divergedJobs() throws {
    let dir = TempDir()
    let jobs = try plannedJobs(profile: "smoke")
    let store = ResultStore(root: dir.path)
    let timing = RunTiming(seconds: 1, started: Date(), finished: Date())
    try store.writeFailure(
      jobs[0], reason: FailureReason(code: "non-finite-loss", message: "loss is NaN"), timing: timing)
    try store.writeFailure(jobs[1], reason: FailureReason(code: "crash", message: "signal 9"), timing: timing)
    let plan = Plan(profile: "smoke", jobs: jobs, store: store)
    #expect(plan.uncached.map(\.id) == jobs.dropFirst().map(\.id))
    let text = plan.table(parallel: 1)
    #expect(text.contains("0 cached, 1 diverged earlier (--force reruns), \(jobs.count - 1) to run"))
    #expect(text.split(separator: "\n").dropFirst(2).first?.hasSuffix("diverged") == true)
  }

  @Test("the heuristic counts the long-tailed subset's examples")
  func heuristic() throws {
    let job = try plannedJobs()[0]  // fashion-mnist, exponential ρ=100, cnn-small, 3 epochs
    let n = (0..<10).reduce(0.0) { $0 + 6000 * pow(100, -Double($1) / 9) }
    expectApprox(Plan.heuristicSeconds(job), 3 * n * 200e-6, abs: 0, rel: 1e-12)
  }

  @Test("the JSON plan lists every job with its id, setting, cache state and command")
  func json() throws {
    let jobs = try plannedJobs()
    let plan = Plan(profile: "default", jobs: jobs, store: ResultStore(root: "/nonexistent"))
    let value = try JSON(parsing: Data(try plan.json(resultsDir: "R").pretty().utf8))
    let listed = value["jobs"]?.arrayValue ?? []
    #expect(listed.count == jobs.count)
    #expect(listed.first?["id"]?.stringValue == jobs[0].id)
    #expect(listed.first?["setting"]?.canonical == #"{"dataset.imbalance.ratio":100}"#)
    #expect(listed.first?["cached"] == .bool(false))
    #expect(
      listed.first?["command"]?.arrayValue?.compactMap(\.stringValue) == [
        "run-job", jobs[0].id, "--profile", "default", "--results", "R",
      ])
    #expect(try listed.first?["spec"]?.decode(JobSpec.self) == jobs[0].spec)
  }

  @Test(
    "opt-in: submit a small array to a running Slurm (REPLICATE_SLURM_TESTS=1)",
    .enabled(if: ProcessInfo.processInfo.environment["REPLICATE_SLURM_TESTS"] == "1"))
  func slurmIntegration() throws {
    let dir = TempDir()
    try dir.writeManifest(baseManifest)
    let result = try CLIRunner.run([
      "plan", "--profile", "smoke", "--emit", "slurm", "--experiments", "\(dir.path)/experiments", "--results",
      "\(dir.path)/results",
    ])
    #expect(result.status == 0)
    let script = "\(dir.path)/smoke.sbatch"
    try result.stdout.write(toFile: script, atomically: true, encoding: .utf8)
    let sbatch = Process()
    sbatch.executableURL = URL(fileURLWithPath: "/usr/bin/sbatch")
    sbatch.arguments = ["--wait", script]
    try sbatch.run()
    sbatch.waitUntilExit()
    // With the real JobRunner every job ends with a result or a failure file.
    let workspace = Workspace(experimentsDir: "\(dir.path)/experiments", resultsDir: "\(dir.path)/results")
    let jobs = try workspace.jobs(profile: "smoke")
    let store = workspace.store
    #expect(jobs.allSatisfy { store.isDone($0) || store.failure(for: $0) != nil })
  }
}
