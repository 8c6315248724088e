import Foundation
import Methods
import Testing

@testable import Harness

@Suite("Result store")
struct StoreTests {
  let environment = RunEnvironment(hostname: "h", os: "o", swift: "6", blas: "b", threads: 1)
  let timing = RunTiming(
    seconds: 1.5, started: Date(timeIntervalSince1970: 0), finished: Date(timeIntervalSince1970: 1.5))

  @Test("paths follow results/<profile>/<experiment>/<id>.json, .failed.json, logs/<id>.log")
  func paths() throws {
    let job = try plannedJobs(profile: "smoke")[0]
    let store = ResultStore(root: "R")
    #expect(store.resultPath(job) == "R/smoke/demo/\(job.id).json")
    #expect(store.failurePath(job) == "R/smoke/demo/\(job.id).failed.json")
    #expect(store.logPath(job) == "R/smoke/logs/\(job.id).log")
  }

  @Test("a result file has the contract's keys in order, and metrics/curves split from JobOutput")
  func resultDocument() throws {
    let dir = TempDir()
    let job = try plannedJobs()[0]
    let store = ResultStore(root: dir.path)
    #expect(try store.writeResult(job, output: fakeOutput(job.spec), environment: environment, timing: timing))
    let record = try #require(store.result(for: job))
    let text = try String(contentsOfFile: store.resultPath(job), encoding: .utf8)
    let keys = (try JSON(parsing: Data(text.utf8)).objectValue ?? []).map(\.key)
    #expect(
      Set(keys) == [
        "job", "experiment", "profile", "spec", "setting", "setting_label", "metrics", "curves", "identity",
        "provenance", "environment", "timing",
      ])
    let order = [
      "\"job\"", "\"experiment\"", "\"profile\"", "\"spec\"", "\"setting\"", "\"setting_label\"", "\"metrics\"",
      "\"curves\"", "\"identity\"", "\"provenance\"", "\"environment\"", "\"timing\"",
    ]
    .map { text.range(of: "\n  \($0):")?.lowerBound }
    let found = order.compactMap { $0 }
    #expect(found.count == order.count && found == found.sorted())
    #expect(record.metrics?["overall"]?["top1_error"]?.doubleValue == 0.1)
    #expect(record.metrics?["curves"] == nil)
    #expect(record.curves?["lr"]?.arrayValue?.count == 2)
    #expect(record.json["setting"]?.canonical == #"{"dataset.imbalance.ratio":100}"#)
    #expect(record.settingLabel == "ρ=100")
    #expect(try record.json["spec"]?.decode(JobSpec.self) == job.spec)
    #expect(record.json["timing"]?["started"]?.stringValue == "1970-01-01T00:00:00Z")
    // What the id hashes besides the spec, and which code and command produced the file.
    #expect(record.json["identity"] == job.identity)
    #expect(record.json["identity"]?["versions"]?["loss/\(job.spec.method.loss.name)"]?.intValue == 1)
    #expect(record.json["provenance"]?["commit"]?.stringValue?.isEmpty == false)
    #expect(record.json["provenance"]?["command"]?.stringValue?.hasPrefix("replicate") == true)
  }

  @Test("a valid result is never overwritten without force; with force it is replaced")
  func noOverwrite() throws {
    let dir = TempDir()
    let job = try plannedJobs()[0]
    let store = ResultStore(root: dir.path)
    try store.writeResult(job, output: fakeOutput(job.spec), environment: environment, timing: timing)
    var other = fakeOutput(job.spec)
    other.overall["top1_error"] = 99
    #expect(try store.writeResult(job, output: other, environment: environment, timing: timing) == false)
    #expect(store.result(for: job)?.metrics?["overall"]?["top1_error"]?.doubleValue == 0.1)
    #expect(try store.writeResult(job, output: other, environment: environment, timing: timing, force: true))
    #expect(store.result(for: job)?.metrics?["overall"]?["top1_error"]?.doubleValue == 99)
  }

  @Test("a torn or foreign file at the result path is not a result and is replaced")
  func tornFile() throws {
    let dir = TempDir()
    let job = try plannedJobs()[0]
    let store = ResultStore(root: dir.path)
    try FileManager.default.createDirectory(
      atPath: store.folder(profile: job.profile, experiment: job.experiment), withIntermediateDirectories: true)
    try "{\"job\": \"\(job.id)\", \"spec\": {".write(toFile: store.resultPath(job), atomically: false, encoding: .utf8)
    #expect(!store.isDone(job))
    #expect(try store.writeResult(job, output: fakeOutput(job.spec), environment: environment, timing: timing))
    #expect(store.isDone(job))
  }

  @Test("a temporary file left by a killed writer is ignored, and removed by the next lock holder")
  func leftoverTemp() throws {
    let dir = TempDir()
    let job = try plannedJobs()[0]
    let store = ResultStore(root: dir.path)
    let folder = store.folder(profile: job.profile, experiment: job.experiment)
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let leftover = "\(folder)/.\(job.id).json.tmp.99999.1"
    try "{\"job\": \"\(job.id)\", \"metr".write(toFile: leftover, atomically: false, encoding: .utf8)
    #expect(!store.isDone(job))
    #expect(store.results(profile: job.profile).isEmpty)
    guard case .acquired(let lock) = try store.lock(job) else {
      Issue.record("lock not acquired")
      return
    }
    lock.release()
    #expect(!FileManager.default.fileExists(atPath: leftover))
  }

  @Test("readers never see a half-written result while writers replace it")
  func neverHalfWritten() async throws {
    let dir = TempDir()
    let job = try plannedJobs()[0]
    let store = ResultStore(root: dir.path)
    var big = fakeOutput(job.spec)
    big.curves["train_loss"] = (0..<5_000).map { Double($0) * 0.001 }
    try store.writeResult(job, output: big, environment: environment, timing: timing)
    let env = environment
    let time = timing
    let start = big
    await withTaskGroup(of: Int.self) { group in
      for w in 0..<3 {
        group.addTask {
          var out = start
          for i in 0..<15 {
            out.overall["top1_error"] = Double(w * 100 + i)
            _ = try? store.writeResult(job, output: out, environment: env, timing: time, force: true)
          }
          return 0
        }
      }
      group.addTask {
        var torn = 0
        for _ in 0..<200 {
          if let data = FileManager.default.contents(atPath: store.resultPath(job)),
            (try? JSON(parsing: data))?["curves"]?["train_loss"]?.arrayValue?.count != 5_000
          {
            torn += 1
          }
        }
        return torn
      }
      var torn = 0
      for await n in group { torn += n }
      #expect(torn == 0)
    }
    #expect(files(under: dir.path) { $0.contains(".tmp.") }.isEmpty)
  }

  @Test("a failure file records the reason; a later success removes it")
  func failureFile() throws {
    let dir = TempDir()
    let job = try plannedJobs()[0]
    let store = ResultStore(root: dir.path)
    try store.writeFailure(
      job, reason: FailureReason(code: "non-finite-loss", message: "loss is NaN at epoch 2"), timing: timing)
    let failure = try #require(store.failure(for: job))
    #expect(failure.reason == FailureReason(code: "non-finite-loss", message: "loss is NaN at epoch 2"))
    let keys = Set((failure.json.objectValue ?? []).map(\.key))
    #expect(keys.isSuperset(of: ["job", "experiment", "profile", "spec", "setting", "reason", "timing"]))
    #expect(!store.isDone(job))
    try store.writeResult(job, output: fakeOutput(job.spec), environment: environment, timing: timing)
    #expect(store.failure(for: job) == nil)
  }

  @Test("a job lock excludes a second holder until released; a dead holder's lock is broken")
  func locks() throws {
    let dir = TempDir()
    let path = "\(dir.path)/x.lock"
    guard case .acquired(let first) = try JobLock.acquire(at: path) else {
      Issue.record("first acquire failed")
      return
    }
    guard case .busy(let owner) = try JobLock.acquire(at: path) else {
      Issue.record("second acquire succeeded while held")
      return
    }
    #expect(owner?.pid == getpid())
    first.release()
    #expect(!FileManager.default.fileExists(atPath: path))

    // A lock whose process is gone (same host) is stale.
    let dead = Process()
    dead.executableURL = URL(fileURLWithPath: "/bin/true")
    try dead.run()
    dead.waitUntilExit()
    try "\(dead.processIdentifier) \(JobLock.hostName) 1\n".write(toFile: path, atomically: true, encoding: .utf8)
    guard case .acquired(let second) = try JobLock.acquire(at: path) else {
      Issue.record("stale lock not broken")
      return
    }
    #expect(second.isHeld)
    second.release()

    // A live process on another host: busy, unless not refreshed for staleAfter seconds.
    try "1 some-other-host 2\n".write(toFile: path, atomically: true, encoding: .utf8)
    guard case .busy = try JobLock.acquire(at: path) else {
      Issue.record("another host's fresh lock was broken")
      return
    }
    let old = Date().addingTimeInterval(-JobLock.staleAfter - 60)
    try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: path)
    guard case .acquired(let third) = try JobLock.acquire(at: path) else {
      Issue.record("an unrefreshed lock was not broken")
      return
    }
    third.release()
  }

  @Test("the parent's lock is adopted by its worker by token, and only by it")
  func adopt() throws {
    let dir = TempDir()
    let path = "\(dir.path)/x.lock"
    guard case .acquired(let lock) = try JobLock.acquire(at: path) else {
      Issue.record("acquire failed")
      return
    }
    #expect(JobLock.adopt(at: path, token: lock.token) != nil)
    #expect(JobLock.adopt(at: path, token: "1 h 2") == nil)
    lock.release()
  }
}
