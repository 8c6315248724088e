import Foundation
import Testing

@testable import Methods

/// Writes CIFAR-10 binary fixture files (`data_batch_1…5.bin`, `test_batch.bin`: one label byte then
/// 3072 CHW pixel bytes per record) into a fresh folder; pixels are a deterministic function of the
/// record, brighter per class so a network can learn something.
func writeCIFAR10Fixture(trainPerClassPerBatch: Int, testPerClass: Int) throws -> String {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cifar-fixture-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  func batch(_ perClass: Int, salt: Int) -> Data {
    var bytes: [UInt8] = []
    for i in 0..<(perClass * 10) {
      let label = i % 10
      bytes.append(UInt8(label))
      for p in 0..<3072 { bytes.append(UInt8(truncatingIfNeeded: label * 20 + (p * 7 + i * 13 + salt) % 40)) }
    }
    return Data(bytes)
  }
  for b in 1...5 {
    try batch(trainPerClassPerBatch, salt: b).write(to: dir.appendingPathComponent("data_batch_\(b).bin"))
  }
  try batch(testPerClass, salt: 99).write(to: dir.appendingPathComponent("test_batch.bin"))
  return dir.path
}

@Suite("Paper profile on CIFAR-format fixtures")
struct PaperProfileTests {
  /// The `paper` protocol of ldam-drw (CIFAR-10-LT, ResNet-32 with the cosine head, Kaiming-normal init,
  /// crop + flip, LDAM-DRW) for one epoch on small CIFAR-format files: the whole pipeline runs and
  /// reports its metrics and the long-tailed subset.
  @Test func ldamDrwOnResNet32RunsOneEpoch() throws {
    let dir = try writeCIFAR10Fixture(trainPerClassPerBatch: 4, testPerClass: 3)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let spec = JobSpec(
      experiment: "ldam-drw",
      dataset: DatasetSpec(
        name: "cifar10", imbalance: ImbalanceSpec(profile: "exponential", ratio: 10), augment: "crop-flip"),
      model: ModelSpec(name: "resnet32", initialization: "kaiming-normal"),
      train: TrainSpec(
        epochs: 1, batchSize: 32, optimizer: OptimizerSpec(lr: 0.1, momentum: 0.9, weightDecay: 2e-4),
        schedule: ScheduleSpec(name: "step", warmupEpochs: 5, milestones: [160, 180], gamma: 0.01)),
      method: MethodSpec(
        id: "ldam-drw", loss: LossSpec(name: "ldam", params: ["max_m": 0.5, "s": 30]),
        reweight: ReweightSpec(name: "drw", beta: 0.9999, startEpoch: 0)),
      seed: 0)
    var lines: [String] = []
    let out = try JobRunner.run(spec, dataDir: dir, checkOfficialCounts: false) { lines.append($0) }
    // 20 images per class; exponential ρ=10 keeps int(20·0.1^(i/9)) per class.
    let counts = (0..<10).map { Int(20 * pow(0.1, Double($0) / 9)) }
    #expect(out.perClass["train_count"] == counts.map(Double.init))
    #expect(out.data["subset_counts"] == counts.map(String.init).joined(separator: ","))
    #expect(out.data["subset_sha256"]?.count == 64)
    #expect(out.perClass["test_count"] == [Double](repeating: 3, count: 10))
    #expect(out.curves["lr"] == [0.02])
    #expect(lines.count == 1)
    for key in ["top1_error", "balanced_error", "ece", "nll"] {
      let v = try #require(out.overall[key])
      #expect(v.isFinite, "\(key) = \(v)")
    }
  }
}
