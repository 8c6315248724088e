import Crypto
import Foundation
import Methods
import Testing

@testable import Harness

@Suite("Job identity")
struct IdentityTests {
  @Test("canonical JSON: sorted keys, no whitespace, shortest numbers, integers without .0, escapes")
  func canonical() {
    let value = JSON.object([
      ("b", .array([.double(100.0), .double(0.1), .double(1e-5), .double(-0.0), .int(-3), .double(2.5e20)])),
      ("a", .string("q\"\\\n\u{01}é")), ("B", .bool(true)), ("c", .null), ("n", .double(.nan)),
    ])
    #expect(value.canonical == #"{"B":true,"a":"q\"\\\n\u0001é","b":[100,0.1,1e-05,0,-3,2.5e+20],"c":null,"n":null}"#)
  }

  @Test("pretty JSON keeps key order and parses back to the same value")
  func prettyRoundTrip() throws {
    let value = JSON.object([("z", .int(1)), ("a", .array([.double(0.25), .string("x")])), ("m", .object([]))])
    #expect(value.pretty() == "{\n  \"z\": 1,\n  \"a\": [0.25, \"x\"],\n  \"m\": {}\n}")
    #expect(try JSON(parsing: Data(value.pretty().utf8)) == value)
  }

  @Test("doubles survive print and parse bit for bit")
  func doublesRoundTrip() throws {
    var g = SystemRandomNumberGenerator()
    for _ in 0..<500 {
      let d = Double(bitPattern: g.next() & 0x7FEF_FFFF_FFFF_FFFF) * (Bool.random() ? 1 : -1)
      let parsed = try JSON(parsing: Data("[\(JSON.double(d).canonical)]".utf8))
      #expect(parsed.arrayValue?.first?.doubleValue?.bitPattern == d.bitPattern || d == 0)
    }
  }

  @Test("the id is SHA-256 of {data, engine, spec} in canonical JSON")
  func idDefinition() throws {
    let job = try plannedJobs()[0]
    let text = try testIdentity.identityJSON(for: job.spec)
    #expect(text.hasPrefix(#"{"data":"test-data","engine":"engine-test/conv-2-im2col","spec":{"dataset":{"augment":"none""#))
    #expect(!text.contains(" ") || text.contains("Test paper") == false)
    let digest = SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    #expect(job.id == digest)
    #expect(job.id.count == 64 && job.id.allSatisfy { "0123456789abcdef".contains($0) })
  }

  @Test("the same spec gives the same id, whatever profile or manifest order produced it")
  func stable() throws {
    let a = try plannedJobs()
    let b = try plannedJobs()
    #expect(a.map(\.id) == b.map(\.id))
    // Reordering keys or switching flow/block style does not change ids.
    let reordered = baseManifest.replacingOccurrences(
      of: "  optimizer:\n    lr: 0.1\n    weight_decay: 2.0e-4",
      with: "  optimizer: {weight_decay: 0.0002, lr: 0.1, momentum: 0.9}")
    #expect(try plannedJobs(reordered).map(\.id) == a.map(\.id))
    // A profile whose overlay changes nothing gives the same ids as the base.
    #expect(try plannedJobs(profile: "paper").map(\.id) == a.map(\.id))
  }

  static let mutations: [(String, String)] = [
    ("    lr: 0.1", "    lr: 0.2"),
    ("  batch_size: 64", "  batch_size: 65"),
    ("    weight_decay: 2.0e-4", "    weight_decay: 2.0e-4\n    nesterov: true"),
    ("  name: cnn-small", "  name: cnn-small\n  init: kaiming-normal"),
    ("    milestones: [2]", "    milestones: [1]"),
    ("    name: step", "    name: cosine"),
    ("    profile: exponential", "    profile: step"),
    ("  name: fashion-mnist", "  name: fashion-mnist\n  augment: crop"),
    ("  name: fashion-mnist", "  name: fashion-mnist\n  seed: 1"),
    ("    reweight: {name: drw, start_epoch: 2}", "    reweight: {name: drw, start_epoch: 1}"),
    ("  - id: erm\n", "  - id: erm\n    classifier: normed\n"),
    ("  - id: erm\n", "  - id: erm-ce\n"),
  ]

  @Test("any change to the resolved spec changes the id", arguments: 0..<mutations.count)
  func changes(_ index: Int) throws {
    let (from, to) = Self.mutations[index]
    #expect(baseManifest.contains(from))
    let before = try plannedJobs()
    let after = try plannedJobs(baseManifest.replacingOccurrences(of: from, with: to))
    #expect(before.count == after.count)
    let changed = zip(before, after).filter { $0.id != $1.id }.count
    #expect(changed > 0)
    // Jobs whose spec did not change keep their id.
    for (b, a) in zip(before, after) where b.spec == a.spec { #expect(b.id == a.id) }
  }

  @Test("the data fingerprint and the engine version are part of the id")
  func dataAndEngine() throws {
    let spec = try plannedJobs()[0].spec
    let base = try testIdentity.id(for: spec)
    #expect(try JobIdentity(engine: "engine-test") { _ in "other-data" }.id(for: spec) != base)
    #expect(try JobIdentity(engine: "engine-2") { _ in "test-data" }.id(for: spec) != base)
  }

  @Test("a model family with its own kernels adds their version to the engine's; others keep the engine's alone")
  func familyKernelVersion() throws {
    var spec = try plannedJobs()[0].spec
    spec.model.name = "mlp"
    #expect(testIdentity.engineVersion(for: spec) == "engine-test")
    let mlp = try testIdentity.id(for: spec)
    spec.model.name = "linf-dist"
    #expect(testIdentity.engineVersion(for: spec) == "engine-test/lp-dist-2")
    #expect(try testIdentity.identityJSON(for: spec).contains("\"engine\":\"engine-test/lp-dist-2\""))
    #expect(try testIdentity.id(for: spec) != mlp)
    spec.model.name = "resnet32"
    // Tests run unoptimised, where `.auto` convolutions stay on im2col: the id says so.
    #expect(testIdentity.engineVersion(for: spec) == "engine-test/conv-2-im2col")
  }

  @Test("the data fingerprint hashes the files the dataset loader reads, in its order; absent data is 'absent'")
  func fingerprint() throws {
    let dir = TempDir()
    let names = [
      "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
    ]
    for (i, name) in names.enumerated() {
      try Data("file \(i)".utf8).write(to: URL(fileURLWithPath: "\(dir.path)/\(name)\(i == 0 ? ".gz" : "")"))
    }
    let listed = try #require(DataFingerprint.files(dataset: "mnist", dataDir: dir.path))
    #expect(listed.count == 4)
    var expected = SHA256()
    for path in listed { expected.update(data: try Data(contentsOf: URL(fileURLWithPath: path))) }
    let hex = expected.finalize().map { String(format: "%02x", $0) }.joined()
    #expect(DataFingerprint.fingerprint(dataset: "mnist", dataDir: dir.path) == hex)
    #expect(DataFingerprint.fingerprint(dataset: "cifar100", dataDir: dir.path + "/none") == "absent")
  }

}
