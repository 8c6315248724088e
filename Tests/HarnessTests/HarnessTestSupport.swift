import Foundation
import Methods
import Synchronization
import Testing

@testable import Harness

/// A valid manifest in block style, one key per line, so tests can point at exact lines.
let baseManifest = """
  name: demo
  paper: "Test paper"
  dataset:
    name: fashion-mnist
    imbalance:
      profile: exponential
      ratio: [100, 10]
  model:
    name: cnn-small
  train:
    epochs: 3
    batch_size: 64
    optimizer:
      lr: 0.1
      weight_decay: 2.0e-4
    schedule:
      name: step
      milestones: [2]
  methods:
    - id: erm
      loss: ce
    - id: erm-drw
      loss: ce
      reweight: {name: drw, start_epoch: 2}
  seeds: [0, 1, 2]
  metrics: [top1_error, balanced_error]
  profiles:
    smoke:
      train: {epochs: 1}
      dataset: {max_train: 200}
      seeds: [0]

  """

/// `baseManifest` with line `line` (1-based) replaced by `text` (which may hold several lines).
func manifest(replacingLine line: Int, with text: String) -> String {
  var lines = baseManifest.components(separatedBy: "\n")
  lines[line - 1] = text
  return lines.joined(separator: "\n")
}

/// An identity with a constant data fingerprint (no dataset files needed).
let testIdentity = JobIdentity(engine: "engine-test") { _ in "test-data" }

/// A fresh temporary folder, removed when the returned object is released (keep it alive).
final class TempDir: @unchecked Sendable {
  let path: String

  init() {
    path = FileManager.default.temporaryDirectory.appendingPathComponent("harness-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  /// Writes `experiments/<name>/manifest.yaml` and returns its path.
  @discardableResult
  func writeManifest(_ text: String, name: String = "demo") throws -> String {
    let dir = "\(path)/experiments/\(name)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try text.write(toFile: "\(dir)/manifest.yaml", atomically: true, encoding: .utf8)
    return "\(dir)/manifest.yaml"
  }

  var workspace: Workspace {
    Workspace(experimentsDir: "\(path)/experiments", resultsDir: "\(path)/results", identity: testIdentity)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The problems of a manifest text (empty when it is valid).
func problems(_ yaml: String, folder: String? = "demo") -> [ManifestError] {
  do {
    _ = try ManifestLoader.parse(yaml: yaml, file: "m.yaml", folderName: folder)
    return []
  } catch let e as ManifestErrors {
    return e.errors
  } catch {
    Issue.record("unexpected error \(error)")
    return []
  }
}

/// The jobs of a manifest text under a profile (the manifest must be valid).
func plannedJobs(_ yaml: String = baseManifest, profile: String = "default") throws -> [PlannedJob] {
  try testIdentity.plan([ManifestLoader.parse(yaml: yaml, file: "m.yaml", folderName: "demo")], profile: profile)
}

/// A deterministic fake output of a spec.
func fakeOutput(_ spec: JobSpec) -> JobOutput {
  JobOutput(
    overall: ["top1_error": Double(spec.seed) + 0.1, "balanced_error": 0.3],
    perClass: ["accuracy": [90, 80.5]], reliability: [:],
    curves: ["train_loss": [2.3, 1.1], "lr": [0.1, 0.01]], data: ["class_counts": "10,1"])
}

/// Counts calls by key, across threads.
final class CallCounter: Sendable {
  private let counts = Mutex<[String: Int]>([:])
  func add(_ key: String) { counts.withLock { $0[key, default: 0] += 1 } }
  var all: [String: Int] { counts.withLock { $0 } }
}

/// A progress sink that records finished statuses.
final class RecordingProgress: RunProgress {
  private let events = Mutex<[(String, JobStatus)]>([])
  private let startedIDs = Mutex<[String]>([])
  func begin(total: Int, cached: Int, parallel: Int) {}
  func started(_ job: PlannedJob) { startedIDs.withLock { $0.append(job.id) } }
  func finished(_ job: PlannedJob, status: JobStatus, seconds: Double, reason: String?) {
    events.withLock { $0.append((job.id, status)) }
  }
  func output(_ job: PlannedJob, line: String) {}
  func end(_ summary: RunSummary) {}
  var started: [String] { startedIDs.withLock { $0 } }
}

/// Files under `dir` (recursively) whose names match `predicate`.
func files(under dir: String, where predicate: (String) -> Bool) -> [String] {
  guard let e = FileManager.default.enumerator(atPath: dir) else { return [] }
  return e.compactMap { $0 as? String }.filter { predicate(($0 as NSString).lastPathComponent) }.sorted()
}
