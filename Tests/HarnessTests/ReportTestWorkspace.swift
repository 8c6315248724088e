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
  static func spec(experiment: String, method: String, seed: Int, setting: [(String, OrderedJSON)]) -> OrderedJSON {
    var spec = OrderedJSON.object([
      ("dataset", .object([("name", .string("fashion-mnist")), ("augment", .string("none")), ("seed", .number(0))])),
      ("experiment", .string(experiment)),
      ("method", .object([("id", .string(method)), ("loss", .object([("name", .string("ce"))]))])),
      ("model", .object([("name", .string("mlp"))])),
      ("seed", .number(Double(seed))),
      ("train", .object([("epochs", .number(3)), ("batch_size", .number(128))])),
    ])
    for (path, value) in setting { spec = set(spec, path.split(separator: ".").map(String.init), value) }
    return spec
  }

  static func set(_ json: OrderedJSON, _ path: [String], _ value: OrderedJSON) -> OrderedJSON {
    guard let head = path.first else { return value }
    var members = json.members ?? []
    if let i = members.firstIndex(where: { $0.0 == head }) {
      members[i].1 = set(members[i].1, Array(path.dropFirst()), value)
    } else {
      members.append((head, set(.object([]), Array(path.dropFirst()), value)))
    }
    return .object(members)
  }

  static func numbers(_ xs: [Double]) -> OrderedJSON { .array(xs.map { $0.isFinite ? .number($0) : .null }) }

  /// Writes `results/<profile>/<experiment>/<job>.json`.
  func result(
    _ experiment: String, profile: String = "default", job: String, method: String, seed: Int,
    setting: [(String, OrderedJSON)], label: String, overall: [(String, Double?)],
    perClass: [String: [Double]] = [:], reliability: [String: [Double]] = [:], data: [(String, String)] = [],
    curves: [String: [Double]] = [:]
  ) throws {
    let json = OrderedJSON.object([
      ("job", .string(job)), ("experiment", .string(experiment)), ("profile", .string(profile)),
      ("spec", Self.spec(experiment: experiment, method: method, seed: seed, setting: setting)),
      ("setting", .object(setting)), ("setting_label", .string(label)),
      ("metrics", .object([
        ("overall", .object(overall.map { ($0.0, $0.1.map(OrderedJSON.number) ?? .null) })),
        ("per_class", .object(perClass.sorted { $0.key < $1.key }.map { ($0.key, Self.numbers($0.value)) })),
        ("reliability", .object(reliability.sorted { $0.key < $1.key }.map { ($0.key, Self.numbers($0.value)) })),
        ("data", .object(data.map { ($0.0, .string($0.1)) })),
      ])),
      ("curves", .object(curves.sorted { $0.key < $1.key }.map { ($0.key, Self.numbers($0.value)) })),
      ("environment", .object([("hostname", .string("h-\(job)"))])),
      ("timing", .object([("seconds", .number(Double(job.count))), ("started", .string("2025-01-01T00:00:00Z"))])),
    ])
    try write(json.serialized(indent: 2), to: "results/\(profile)/\(experiment)/\(job).json")
  }

  /// Writes `results/<profile>/<experiment>/<job>.failed.json`.
  func failure(
    _ experiment: String, profile: String = "default", job: String, method: String, seed: Int,
    setting: [(String, OrderedJSON)], label: String, code: String, message: String
  ) throws {
    let json = OrderedJSON.object([
      ("job", .string(job)), ("experiment", .string(experiment)), ("profile", .string(profile)),
      ("spec", Self.spec(experiment: experiment, method: method, seed: seed, setting: setting)),
      ("setting", .object(setting)), ("setting_label", .string(label)),
      ("reason", .object([("code", .string(code)), ("message", .string(message))])),
      ("timing", .object([("seconds", .number(1))])),
    ])
    try write(json.serialized(indent: 2), to: "results/\(profile)/\(experiment)/\(job).failed.json")
  }
}
