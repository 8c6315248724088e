import Foundation

@testable import Harness

/// A temporary project layout (`experiments/`, `results/`) with writers for manifests, reference files
/// and result files in the format of RESULTS-FORMAT.md, for report and diff tests.
struct ReportTestWorkspace {
  let root: String

  init() throws {
    root = (NSTemporaryDirectory() as NSString).appendingPathComponent("replicate-report-\(UUID().uuidString)")
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
  }

  var resultsDir: String { (root as NSString).appendingPathComponent("results") }
  var experimentsDir: String { (root as NSString).appendingPathComponent("experiments") }

  /// The repository's `report-templates/`.
  static var templatesDir: String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("report-templates").path
  }

  func remove() { try? FileManager.default.removeItem(atPath: root) }

  func write(_ text: String, to relative: String) throws {
    let path = (root as NSString).appendingPathComponent(relative)
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
  }

  func manifest(_ experiment: String, _ yaml: String) throws {
    try write(yaml, to: "experiments/\(experiment)/manifest.yaml")
  }

  func reference(_ experiment: String, _ yaml: String) throws {
    try write(yaml, to: "experiments/\(experiment)/reference.yaml")
  }

  /// A spec with `dataset`, `model`, `train`, `method`, `seed`, with the setting's key paths set.
  static func spec(experiment: String, method: String, seed: Int, setting: [(key: String, value: JSON)]) -> JSON {
    var spec = JSON.object([
      ("dataset", .object([("name", .string("fashion-mnist")), ("augment", .string("none")), ("seed", .int(0))])),
      ("experiment", .string(experiment)),
      ("method", .object([("id", .string(method)), ("loss", .object([("name", .string("ce"))]))])),
      ("model", .object([("name", .string("mlp"))])),
      ("seed", .int(seed)),
      ("train", .object([("epochs", .int(3)), ("batch_size", .int(128))])),
    ])
    for (path, value) in setting { spec = set(spec, path.split(separator: ".").map(String.init), value) }
    return spec
  }

  static func set(_ json: JSON, _ path: [String], _ value: JSON) -> JSON {
    guard let head = path.first else { return value }
    var members = json.objectValue ?? []
    if let i = members.firstIndex(where: { $0.key == head }) {
      members[i].value = set(members[i].value, Array(path.dropFirst()), value)
    } else {
      members.append((head, set(.object([]), Array(path.dropFirst()), value)))
    }
    return .object(members)
  }

  static func numbers(_ xs: [Double]) -> JSON { .array(xs.map { $0.isFinite ? .double($0) : .null }) }

  /// Writes `results/<profile>/<experiment>/<job>.json`.
  func result(
    _ experiment: String, profile: String = "default", job: String, method: String, seed: Int,
    setting: [(key: String, value: JSON)], label: String, overall: [(String, Double?)],
    perClass: [String: [Double]] = [:], reliability: [String: [Double]] = [:], data: [(String, String)] = [],
    curves: [String: [Double]] = [:]
  ) throws {
    let json = JSON.object([
      ("job", .string(job)), ("experiment", .string(experiment)), ("profile", .string(profile)),
      ("spec", Self.spec(experiment: experiment, method: method, seed: seed, setting: setting)),
      ("setting", .object(setting)), ("setting_label", .string(label)),
      (
        "metrics",
        .object([
          ("overall", .object(overall.map { ($0.0, $0.1.map(JSON.double) ?? .null) })),
          ("per_class", .object(perClass.sorted { $0.key < $1.key }.map { ($0.key, Self.numbers($0.value)) })),
          ("reliability", .object(reliability.sorted { $0.key < $1.key }.map { ($0.key, Self.numbers($0.value)) })),
          ("data", .object(data.map { ($0.0, .string($0.1)) })),
        ])
      ),
      ("curves", .object(curves.sorted { $0.key < $1.key }.map { ($0.key, Self.numbers($0.value)) })),
      ("environment", .object([("hostname", .string("h-\(job)"))])),
      ("timing", .object([("seconds", .int(job.count)), ("started", .string("2025-01-01T00:00:00Z"))])),
    ])
    try write(json.pretty(indent: 2), to: "results/\(profile)/\(experiment)/\(job).json")
  }

  /// Writes `results/<profile>/<experiment>/<job>.failed.json`.
  func failure(
    _ experiment: String, profile: String = "default", job: String, method: String, seed: Int,
    setting: [(key: String, value: JSON)], label: String, code: String, message: String
  ) throws {
    let json = JSON.object([
      ("job", .string(job)), ("experiment", .string(experiment)), ("profile", .string(profile)),
      ("spec", Self.spec(experiment: experiment, method: method, seed: seed, setting: setting)),
      ("setting", .object(setting)), ("setting_label", .string(label)),
      ("reason", .object([("code", .string(code)), ("message", .string(message))])),
      ("timing", .object([("seconds", .int(1))])),
    ])
    try write(json.pretty(indent: 2), to: "results/\(profile)/\(experiment)/\(job).failed.json")
  }
}

extension ReportTestWorkspace {
  static let toyManifest = """
    name: toy
    paper: "Doe et al. 2024, A Toy Paper"
    description: "Two methods on a long-tailed toy set."
    dataset: {name: fashion-mnist, imbalance: {profile: exponential, ratio: [100, 10]}}
    model: {name: mlp}
    train: {epochs: 3}
    methods:
      - {id: erm, loss: ce}
      - {id: ldam-drw, loss: {name: ldam}}
    seeds: [0, 1, 2]
    metrics: [top1_error, ece]
    profiles:
      smoke: {seeds: [0]}
    """

  static let toyReference = """
    references:
      - {profile: default, method: erm, setting: {dataset.imbalance.ratio: 100}, metric: top1_error, value: 30.0,
         unit: percent, tolerance: 1.0, source: "Table 1", verified: true}
      - {profile: default, method: erm, setting: {dataset.imbalance.ratio: 10}, metric: top1_error, value: 13.49,
         tolerance: 1.0, verified: null}
      - {profile: default, method: focal, setting: {dataset.imbalance.ratio: 100}, metric: top1_error, value: 29.0,
         tolerance: 1.0, verified: null}
      - {profile: paper, method: erm, setting: {dataset.name: cifar10}, metric: top1_error, value: 29.64, tolerance: 1.0, verified: null}
      - {profile: default, method: ldam-drw, setting: {dataset: {imbalance: {ratio: 100}}}, metric: top1_error,
         value: 25.0, tolerance: 0.6, verified: null}
      - {profile: default, method: ldam-drw, setting: {dataset.imbalance.ratio: 10.0, dataset.name: fashion-mnist},
         metric: top1_error, value: 11.2, tolerance: 1.0, verified: null}
    claims:
      - {id: ldam-beats-erm, text: "LDAM-DRW has lower error than ERM", better: ldam-drw, than: erm,
         metric: top1_error, direction: lower, per: [dataset.imbalance.ratio], source: paper, quote: "Table 1"}
      - {id: gain-grows, text: "The gain grows with the ratio", kind: gain-grows, better: ldam-drw, than: erm,
         metric: top1_error, direction: lower, along: dataset.imbalance.ratio, profiles: [default], source: project}
      - {id: erm-beats-ldam, text: "ERM beats LDAM-DRW", better: erm, than: ldam-drw, metric: top1_error,
         direction: lower, per: [dataset.imbalance.ratio], source: paper, quote: "Sec. 2"}
      - {id: focal-beats-erm, text: "Focal beats ERM", better: focal, than: erm, metric: top1_error, direction: lower,
         source: project}
      - {id: paper-only, text: "Only on CIFAR", better: ldam-drw, than: erm, metric: top1_error, direction: lower,
         profiles: [paper], source: project}
    """

  /// The toy experiment: erm and ldam-drw at ρ ∈ {100, 10}, three seeds, one failed ldam-drw run at
  /// ρ=100 (seed 2) and one collapsed erm run at ρ=10 (seed 3, NaN error).
  func writeToy(withReference: Bool = true) throws {
    try manifest("toy", Self.toyManifest)
    if withReference { try reference("toy", Self.toyReference) }
    let cells: [(method: String, ratio: Double, errors: [Double])] = [
      ("erm", 100, [30, 31, 32]), ("ldam-drw", 100, [25, 26]), ("erm", 10, [14, 14.5, 15]),
      ("ldam-drw", 10, [12.0, 12.2, 12.4]),
    ]
    for cell in cells {
      for (seed, error) in cell.errors.enumerated() {
        let base = cell.method == "erm" ? 0.0 : 10.0
        try result(
          "toy", job: "\(cell.method)-\(Int(cell.ratio))-s\(seed)", method: cell.method, seed: seed,
          setting: [("dataset.imbalance.ratio", .double(cell.ratio))], label: "ρ=\(Int(cell.ratio))",
          overall: [("top1_error", error), ("ece", 0.05 + 0.01 * Double(seed) - base / 500)],
          perClass: [
            "accuracy": [90, 50 + base, 10 + base], "train_count": [1000, 100, 10].map { $0 / (100 / cell.ratio) },
          ],
          reliability: [
            "confidence": [0.1, 0.3, 0.5, 0.7, 0.9], "accuracy": [0.1, 0.2, 0.45, 0.7, 0.95],
            "count": [0, 5, 20, 30, 45],
          ],
          data: [
            ("subset_sha256", "sha-\(Int(cell.ratio))"), ("class_counts", "1000,100,10"), ("many_threshold", "100"),
          ],
          curves: ["train_loss": [2, 1, 0.5 + base / 100], "test_error": [60, 40, error], "lr": [0.1, 0.1, 0.01]])
      }
    }
    try failure(
      "toy", job: "ldam-drw-100-s2", method: "ldam-drw", seed: 2, setting: [("dataset.imbalance.ratio", .int(100))],
      label: "ρ=100", code: "non-finite-loss", message: "loss is NaN at epoch 2")
    try result(
      "toy", job: "erm-10-s3", method: "erm", seed: 3, setting: [("dataset.imbalance.ratio", .int(10))],
      label: "ρ=10", overall: [("top1_error", nil), ("ece", 0.1)])
  }
}
