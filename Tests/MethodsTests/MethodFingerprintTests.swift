import Crypto
import Datasets
import Engine
import Foundation
import NN
import Testing
import _ReplicateTestSupport

@testable import Methods

/// Guards job identity with numbers instead of memory: every versioned unit of code (``MethodVersions``:
/// losses, components, samplers, re-weighting, heads, model families, the data pipeline, the trainer) has a
/// fingerprint in `MethodFingerprints.swift`, recorded with the versions it depended on. A fingerprint is a
/// SHA-256 prefix over
/// - for a loss: its value and gradient on fixed logits, targets and class counts, with its defaults;
/// - for a model family: its initial weights, and logits and gradients of a forward and backward pass on a
///   fixed batch (convolutions pinned to im2col, so debug and release builds agree);
/// - for every unit but the model families: a one-epoch (two for deferred schedules) tiny training run of
///   `JobRunner` on small Fashion-MNIST-format files, with an MLP (the ℓ∞-dist net for its component), every
///   metric, per-class value, curve and data fact.
///
/// When a fingerprint moves and none of the versions it depends on did, the test fails naming the version
/// to bump; when a version moved, it fails asking for the entry to be recorded again. Recording:
/// `REPLICATE_RECORD_FINGERPRINTS=1 swift test --filter MethodFingerprint` rewrites the table. The test process
/// runs the pinned OpenBLAS kernel (`_ReplicateKernelPin`), as the CLI does.
@Suite("Method fingerprints")
struct MethodFingerprintTests {
  @Test("every unit's fingerprint matches its recorded versions")
  func fingerprintsMatchVersions() throws {
    let fixture = try FingerprintFixture()
    defer { fixture.remove() }
    var computed: [String: (versions: String, fingerprint: String)] = [:]
    for unit in FingerprintUnit.all {
      do {
        computed[unit.name] = (unit.versions, try unit.fingerprint(dataDir: fixture.dir))
      } catch {
        throw FingerprintError(description: "\(unit.name): \(error)")
      }
    }
    if ProcessInfo.processInfo.environment["REPLICATE_RECORD_FINGERPRINTS"] == "1" {
      try MethodFingerprints.write(computed)
      return
    }
    guard TestKernel.isPinnedKernel else {
      // Another kernel sums GEMMs in another order: the table holds the pinned kernel's numbers.
      Issue.record("OpenBLAS runs \(BLASKernel.current), not \(BLASKernel.pinned): unset OPENBLAS_CORETYPE to check")
      return
    }
    for unit in FingerprintUnit.all {
      let now = computed[unit.name]!
      guard let recorded = MethodFingerprints.table[unit.name] else {
        fail(
          "\(unit.name) has no recorded fingerprint: add \(MethodFingerprints.entry(unit.name, now)) to "
            + "MethodFingerprints.swift (or run REPLICATE_RECORD_FINGERPRINTS=1 swift test --filter MethodFingerprint)")
        continue
      }
      if recorded.versions != now.versions {
        fail(
          "\(unit.name): versions moved (\(recorded.versions) → \(now.versions)); record its new fingerprint: "
            + MethodFingerprints.entry(unit.name, now))
      } else if recorded.fingerprint != now.fingerprint {
        fail(
          "\(unit.name) computes other numbers (fingerprint \(recorded.fingerprint) → \(now.fingerprint)) but no "
            + "version moved: bump \(unit.versionLocation) if you changed \(unit.name), or the version of whatever "
            + "else you changed among \(now.versions); then record the table again")
      }
    }
    let stale = Set(MethodFingerprints.table.keys).subtracting(computed.keys)
    #expect(stale.isEmpty, "fingerprints of units that no longer exist: \(stale.sorted())")
  }

  func fail(_ message: String) { Issue.record(Comment(rawValue: message)) }

  @Test("every versioned unit has a fingerprint unit, and nothing else does")
  func everyVersionedUnitIsFingerprinted() {
    var expected: Set<String> = ["trainer", "data"]
    expected.formUnion(LossRegistry.versions.keys.map { "loss/\($0)" })
    expected.formUnion(ComponentRegistry.definitions.keys.map { "component/\($0)" })
    expected.formUnion(MethodVersions.samplers.keys.map { "sampler/\($0)" })
    expected.formUnion(MethodVersions.reweights.keys.map { "reweight/\($0)" })
    expected.formUnion(MethodVersions.classifiers.keys.map { "classifier/\($0)" })
    expected.formUnion(ModelZoo.versions.keys.map { "model/\($0)" })
    #expect(Set(FingerprintUnit.all.map(\.name)) == expected)
    #expect(Set(LossRegistry.versions.keys) == Set(LossRegistry.parameters.keys))
    #expect(Set(ModelZoo.versions.keys) == Set(ModelZoo.names))
  }
}

/// A unit whose fingerprint could not be computed.
struct FingerprintError: Error, CustomStringConvertible {
  var description: String
}

/// One versioned unit and how to fingerprint it.
struct FingerprintUnit: Sendable {
  /// `kind/name` as in ``MethodVersions/of(_:)``.
  var name: String
  /// The tiny run (nil for model families).
  var spec: JobSpec?
  /// Extra numbers computed without training (a loss on fixed inputs, a model's pass).
  var direct: (@Sendable () throws -> [Double])?

  /// The versions the fingerprint depends on, `key=value` sorted, with the engine's.
  var versions: String {
    var v: [String: String] = [:]
    if let spec {
      for (key, value) in MethodVersions.of(spec) { v[key] = String(value) }
      v["engine"] =
        ModelZoo.kernelVersion(model: spec.model.name).map { "\(BLAS.numericVersion)/\($0)" }
        ?? BLAS.numericVersion
    }
    if name.hasPrefix("model/") {
      let model = String(name.dropFirst("model/".count))
      v[name] = String(ModelZoo.versions[model] ?? 0)
      // Convolutions are pinned to im2col here, whatever the build's `.auto` would pick.
      let kernel = ["cnn-small", "resnet32"].contains(model) ? "im2col" : ModelZoo.kernelVersion(model: model)
      v["engine"] = kernel.map { "\(BLAS.numericVersion)/\($0)" } ?? BLAS.numericVersion
    }
    if name.hasPrefix("loss/") { v[name] = String(LossRegistry.versions[String(name.dropFirst(5))] ?? 0) }
    return v.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
  }

  /// Where this unit's version is declared.
  var versionLocation: String {
    let parts = name.split(separator: "/", maxSplits: 1).map(String.init)
    let key = parts.count == 2 ? parts[1] : ""
    switch parts[0] {
    case "loss": return "LossRegistry.versions[\"\(key)\"]"
    case "component": return "the `version:` of ComponentDefinition \"\(key)\""
    case "sampler": return "MethodVersions.samplers[\"\(key)\"]"
    case "reweight": return "MethodVersions.reweights[\"\(key)\"]"
    case "classifier": return "MethodVersions.classifiers[\"\(key)\"]"
    case "model": return "ModelZoo.versions[\"\(key)\"] (or ModelZoo.kernelVersion for a kernel)"
    case "data": return "DataPreparation.version"
    default: return "MethodVersions.trainer"
    }
  }

  /// The fingerprint: SHA-256 over the direct numbers and the tiny run's output, first 16 hex digits.
  func fingerprint(dataDir: String) throws -> String {
    var hasher = SHA256()
    func add(_ x: Double) { withUnsafeBytes(of: x.bitPattern.littleEndian) { hasher.update(bufferPointer: $0) } }
    func add(_ s: String) { hasher.update(data: Data((s + "\u{0}").utf8)) }
    if let direct { for x in try direct() { add(x) } }
    if let spec {
      let out = try JobRunner.run(spec, dataDir: dataDir, checkOfficialCounts: false, log: { _ in })
      for (k, v) in out.overall.sorted(by: { $0.key < $1.key }) {
        add(k)
        add(v)
      }
      for table in [out.perClass, out.reliability, out.curves] {
        for (k, values) in table.sorted(by: { $0.key < $1.key }) {
          add(k)
          for value in values { add(value) }
        }
      }
      for (k, v) in out.data.sorted(by: { $0.key < $1.key }) {
        add(k)
        add(v)
      }
    }
    return hasher.finalize().prefix(8).map { String(format: "%02x", $0) }.joined()
  }
}

extension FingerprintUnit {
  /// A tiny run: the fixture's Fashion-MNIST files, exponential ρ = 10, an MLP of width 32, batch 32, SGD.
  static func run(
    loss: LossSpec = LossSpec(name: "ce"), reweight: ReweightSpec? = nil, sampler: SamplerSpec? = nil,
    classifier: String? = nil, components: [ComponentSpec] = [],
    model: ModelSpec = ModelSpec(name: "mlp", widths: [32]),
    validation: Int? = nil, noise: NoiseSpec? = nil, epochs: Int = 1, maxTrain: Int? = nil, lr: Double = 0.05,
    imbalance: String = "exponential", augment: String = "none",
    schedule: ScheduleSpec = ScheduleSpec(name: "step", warmupEpochs: 0, milestones: [1], gamma: 0.1)
  ) -> JobSpec {
    JobSpec(
      experiment: "fingerprint",
      dataset: DatasetSpec(
        name: "fashion-mnist", imbalance: ImbalanceSpec(profile: imbalance, ratio: 10), noise: noise,
        maxTrain: maxTrain, validationPerClass: validation, augment: augment),
      model: model,
      train: TrainSpec(
        epochs: epochs, batchSize: 32, optimizer: OptimizerSpec(lr: lr, momentum: 0.9, weightDecay: 5e-4),
        schedule: schedule),
      method: MethodSpec(
        id: "unit", loss: loss, reweight: reweight, sampler: sampler, classifier: classifier, components: components),
      seed: 7)
  }

  static func component(_ name: String, _ params: [String: ParameterValue] = [:]) -> ComponentSpec {
    ComponentSpec(name: name, params: params)
  }

  /// A loss's value and gradient on fixed logits (6 × 4), targets and class counts, with its defaults.
  static func lossNumbers(_ name: String) throws -> [Double] {
    let loss = try LossRegistry.make(LossSpec(name: name), classCounts: [100, 30, 10, 3])
    let logits = Tensor(shape: [6, 4])
    var stream = RandomKey(seed: 11).stream()
    for i in 0..<logits.count { logits[i] = stream.nextNormal() * 2 }
    let gradient = Tensor(shape: [6, 4])
    let value = loss.loss(logits: logits, targets: [0, 1, 2, 3, 0, 3], gradient: gradient)
    return [value] + gradient.toArray().map(Double.init)
  }

  /// A model family's initial weights (both schemes), logits on a fixed batch of two, and the gradients of
  /// their sum.
  static func modelNumbers(_ name: String) throws -> [Double] {
    let shape = name == "resnet32" ? [32, 32, 3] : [28, 28, 1]
    let model = try ModelZoo.make(
      name, inputShape: shape, classes: 10, widths: name == "mlp" || name == "linf-dist" ? [16, 16] : nil,
      convolution: .im2col)
    // Both initialisations (LDAM-DRW's Kaiming-normal, then PyTorch's defaults the pass uses).
    model.initialize(.kaimingNormal, key: RandomKey(seed: 4))
    var out = model.parameters.flatMap { $0.value.toArray().prefix(64).map(Double.init) }
    model.initialize(.torchDefault, key: RandomKey(seed: 5))
    let x = Tensor(shape: [2] + shape)
    var stream = RandomKey(seed: 6).stream()
    for i in 0..<x.count { x[i] = stream.nextNormal() }
    let logits = model.forward(x, training: true)
    let dLogits = Tensor(shape: logits.shape, repeating: 1)
    _ = model.backward(dLogits)
    out += logits.toArray().map(Double.init)
    for p in model.parameters {
      out += p.value.toArray().prefix(64).map(Double.init)
      out.append(p.grad.toArray().reduce(0) { $0 + Double($1) })
    }
    return out
  }

  /// Every unit, in name order.
  static let all: [FingerprintUnit] = {
    var units: [FingerprintUnit] = [
      // The trainer with a warm-up and the cosine schedule, Nesterov-free SGD, over two epochs.
      FingerprintUnit(
        name: "trainer", spec: run(epochs: 2, schedule: ScheduleSpec(name: "cosine", warmupEpochs: 1))),
      // The data pipeline: the step profile, a validation carve-out, counter-based label noise, random crops.
      FingerprintUnit(
        name: "data",
        spec: run(
          validation: 3, noise: NoiseSpec(kind: "symmetric", rate: 0.2, generator: "counter"), imbalance: "step",
          augment: "crop")),
      FingerprintUnit(name: "classifier/linear", spec: run(classifier: "linear")),
      FingerprintUnit(name: "classifier/normed", spec: run(classifier: "normed")),
      FingerprintUnit(name: "reweight/cb", spec: run(reweight: ReweightSpec(name: "cb", beta: 0.999, startEpoch: 0))),
      FingerprintUnit(
        name: "reweight/drw", spec: run(reweight: ReweightSpec(name: "drw", beta: 0.999, startEpoch: 1), epochs: 2)),
      FingerprintUnit(name: "sampler/class-balanced", spec: run(sampler: SamplerSpec(name: "class-balanced"))),
      FingerprintUnit(name: "sampler/sqrt", spec: run(sampler: SamplerSpec(name: "sqrt"))),
      FingerprintUnit(
        // β = 0.9 so the weights differ from class-balanced ones at these counts (4 to 37 per class).
        name: "sampler/effective-number", spec: run(sampler: SamplerSpec(name: "effective-number", beta: 0.9))),
    ]
    for name in LossRegistry.versions.keys.sorted() {
      // ABSGD's exponential weights overflow within a few steps of this toy run at its default λ = 1 and
      // lr 0.05 (u starts at 0, so the first weighted steps take about 1/(γα) = 20 times the step): λ = 5 as `bench`
      // uses (the noisy-label variant's negative λ as its manifest) and lr 0.002.
      let absgd = name.hasPrefix("ab")
      let params: [String: Double] = name == "abce-noisy" ? ["lambda": -2] : absgd ? ["lambda": 5] : [:]
      units.append(
        FingerprintUnit(
          name: "loss/\(name)",
          // LDAM's scale s = 30 wants the cosine head (a linear head's logits × 30 overflow exp(ℓ/λ)).
          spec: run(
            loss: LossSpec(name: name, params: params), classifier: name == "abldam" ? "normed" : nil,
            lr: absgd ? 0.002 : 0.05),
          direct: { try lossNumbers(name) }))
    }
    for name in ModelZoo.versions.keys.sorted() {
      units.append(FingerprintUnit(name: "model/\(name)", spec: nil, direct: { try modelNumbers(name) }))
    }
    let components: [String: JobSpec] = [
      "validation-probe": run(components: [component("validation-probe")], validation: 3),
      "unimix": run(components: [component("unimix", ["alpha": .number(0.8), "tau": .text("auto")])]),
      "remix": run(components: [component("remix")]),
      "best-epoch": run(components: [component("best-epoch")], epochs: 2),
      "ladc": run(components: [component("ladc", ["epochs": .number(1), "batch_size": .number(64)])]),
      "l2rw": run(components: [component("l2rw", ["clean_batch": .number(10)])], validation: 3),
      "cals": run(components: [component("cals")], validation: 3),
      "best-validation": run(components: [component("best-validation")], validation: 3, epochs: 2),
      "susceptibility": run(components: [component("susceptibility", ["size": .number(40)])]),
      "absgd-stages": run(
        loss: LossSpec(name: "abce"), components: [component("absgd-stages", ["start_epoch": .number(1)])],
        epochs: 2),
      "epoch-summary": run(components: [component("epoch-summary", ["last": .number(1)])], epochs: 2),
      "cdb-w": run(components: [component("cdb-w")], validation: 3, epochs: 2),
      "cdb-s": run(components: [component("cdb-s")], validation: 3, epochs: 2),
      "gaussian-noise": run(components: [component("gaussian-noise", ["sigma": .number(0.25)])]),
      "smoothmix": run(
        components: [
          component("smoothmix", ["sigma": .number(0.25), "steps": .number(2), "warmup": .number(1)])
        ]),
      "certify": run(
        components: [
          component(
            "certify", ["n0": .number(10), "n": .number(100), "max_examples": .number(5), "batch": .number(50)])
        ]),
      "set-valued": run(components: [component("set-valued")], validation: 3),
      "ambiguity-oracle": run(components: [component("ambiguity-oracle", ["samples": .number(200)])]),
      "linf-dist": run(
        components: [
          component("linf-dist", ["max_examples": .number(5), "test_every": .number(1), "pgd_steps": .number(2)])
        ],
        model: ModelSpec(name: "linf-dist", widths: [16]), maxTrain: 60),
    ]
    for (name, spec) in components.sorted(by: { $0.key < $1.key }) {
      units.append(FingerprintUnit(name: "component/\(name)", spec: spec))
    }
    return units.sorted { $0.name < $1.name }
  }()
}

/// Small Fashion-MNIST-format files: 40 training and 10 test images per class, 28 × 28, each class a
/// brighter band of rows over a deterministic texture, so that a network learns something in one epoch.
struct FingerprintFixture {
  let dir: String

  init() throws {
    dir = FileManager.default.temporaryDirectory.appendingPathComponent("fingerprint-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    func be(_ v: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8((v >> $0) & 0xff) } }
    func images(_ count: Int, salt: Int) -> [UInt8] {
      var bytes = be(0x803) + be(count) + be(28) + be(28)
      for n in 0..<count {
        let label = n % 10
        for y in 0..<28 {
          for x in 0..<28 {
            let band = y / 3 == label ? 120 : 0
            bytes.append(UInt8((band + (n &* 37 &+ y &* 11 &+ x &* 5 &+ salt) % 100) % 256))
          }
        }
      }
      return bytes
    }
    func labels(_ count: Int) -> [UInt8] { be(0x801) + be(count) + (0..<count).map { UInt8($0 % 10) } }
    let files: [(String, [UInt8])] = [
      ("train-images-idx3-ubyte", images(400, salt: 1)), ("train-labels-idx1-ubyte", labels(400)),
      ("t10k-images-idx3-ubyte", images(100, salt: 2)), ("t10k-labels-idx1-ubyte", labels(100)),
    ]
    for (name, bytes) in files { try Data(bytes).write(to: URL(fileURLWithPath: "\(dir)/\(name)")) }
  }

  func remove() { try? FileManager.default.removeItem(atPath: dir) }
}
