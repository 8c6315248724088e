import Datasets
import Engine
import NN
import Testing
import _ReplicateTestSupport

@testable import Methods

/// A tiny in-memory data set: two Gaussian blobs per class in 4×4×1 images.
final class BlobSource: BatchSource {
  let count: Int, classes: Int
  let labels: [Int]
  let exampleShape = [4, 4, 1]
  let pixels: [Float]
  convenience init(count: Int, classes: Int, seed: UInt64) {
    self.init(labels: (0..<count).map { $0 % classes }, classes: classes, seed: seed)
  }
  /// Blobs with the given labels (e.g. a long-tailed profile).
  init(labels: [Int], classes: Int, seed: UInt64) {
    self.count = labels.count
    self.classes = classes
    self.labels = labels
    var s = RandomKey(seed: seed).stream()
    var p = [Float](repeating: 0, count: count * 16)
    for i in 0..<count {
      for j in 0..<16 { p[i * 16 + j] = s.nextNormal() * 0.5 + (j % classes == labels[i] ? 1.5 : 0) }
    }
    pixels = p
  }
  func fill(_ positions: ArraySlice<Int>, into x: Tensor, labels y: inout [Int], augment: inout RandomStream?) {
    x.resize([positions.count, 4, 4, 1])
    y.removeAll(keepingCapacity: true)
    for (r, i) in positions.enumerated() {
      for j in 0..<16 { x[r * 16 + j] = pixels[i * 16 + j] }
      y.append(labels[i])
    }
  }
}

func makeTrainer(seed: UInt64, hooks: TrainingHooks = NoHooks(), epochs: Int = 3) throws -> Trainer {
  let model = try ModelZoo.make("mlp", inputShape: [4, 4, 1], classes: 3, widths: [16])
  let key = RandomKey(seed: seed)
  model.initialize(.torchDefault, key: key.split("init"))
  return Trainer(
    model: model, loss: CrossEntropyLoss(), optimizer: SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4),
    schedule: .step(base: 0.1, warmup: 1, milestones: [2], gamma: 0.1),
    train: BlobSource(count: 96, classes: 3, seed: 1), test: BlobSource(count: 60, classes: 3, seed: 2),
    epochs: epochs, batchSize: 16, augment: false, hooks: hooks, key: key)
}

@Suite("Trainer")
struct TrainerTests {
  @Test func sameSeedGivesBitwiseIdenticalWeightsAndMetrics() throws {
    let a = try makeTrainer(seed: 3)
    let b = try makeTrainer(seed: 3)
    try a.run()
    try b.run()
    for (p, q) in zip(a.model.parameters, b.model.parameters) { #expect(p.value.toArray() == q.value.toArray()) }
    #expect(a.curves == b.curves)
    #expect(a.testLogits.toArray() == b.testLogits.toArray())
  }

  @Test func anotherSeedGivesOtherWeights() throws {
    let a = try makeTrainer(seed: 3)
    let b = try makeTrainer(seed: 4)
    try a.run()
    try b.run()
    #expect(a.model.parameters[0].value.toArray() != b.model.parameters[0].value.toArray())
  }

  @Test func learnsTheBlobsAndRecordsCurves() throws {
    let t = try makeTrainer(seed: 5, epochs: 6)
    try t.run()
    expectApprox(t.curves["lr"]!, [0.1, 0.1, 0.01, 0.01, 0.01, 0.01], abs: 1e-15)
    #expect(t.curves["train_loss"]!.count == 6)
    #expect(t.curves["train_loss"]!.last! < t.curves["train_loss"]!.first!)
    #expect(t.curves["test_error"]!.last! < 20)
  }

  final class Recorder: TrainingHooks {
    var weights: [[Float]?] = []
    func epochStart(_ trainer: Trainer, epoch: Int) throws { weights.append(trainer.loss.classWeights) }
  }

  @Test func deferredReweightingSwitchesAtItsEpoch() throws {
    let recorder = Recorder()
    let drw = DeferredReweighting(classCounts: [50, 10, 2], beta: 0.9999, startEpoch: 2)
    let t = try makeTrainer(seed: 6, hooks: HookChain([drw, recorder]), epochs: 4)
    try t.run()
    #expect(recorder.weights[0] == nil && recorder.weights[1] == nil)
    let w = try #require(recorder.weights[2])
    expectApprox(Double(w.reduce(0, +)), 3, abs: 1e-5)
    #expect(w[2] > w[1] && w[1] > w[0])
  }

  @Test func divergingLossFailsTheJob() throws {
    let model = try ModelZoo.make("mlp", inputShape: [4, 4, 1], classes: 3, widths: [16])
    model.initialize(.torchDefault, key: RandomKey(seed: 1))
    let t = Trainer(
      model: model, loss: CrossEntropyLoss(), optimizer: SGD(learningRate: 1e30),
      schedule: .constant(base: 1e30, warmup: 0), train: BlobSource(count: 64, classes: 3, seed: 1),
      test: BlobSource(count: 30, classes: 3, seed: 2), epochs: 3, batchSize: 16, augment: false,
      key: RandomKey(seed: 1))
    #expect(throws: JobFailure.self) { try t.run() }
  }
}

@Suite("Classification metrics")
struct MetricsTests {
  /// Three examples, three classes: predictions 0 (correct), 2 (wrong, label 1), 2 (correct).
  @Test func handComputedValues() {
    let logits = Tensor(shape: [3, 3], values: [2, 0, 0, 0, 1, 3, 0, 0, 1])
    let m = ClassificationMetrics(logits: logits, labels: [0, 1, 2])
    expectApprox(m.top1Error, 100.0 / 3, abs: 1e-12)
    #expect(m.perClassAccuracy == [100, 0, 100])
    expectApprox(m.balancedError, 100.0 / 3, abs: 1e-12)
    #expect(m.top5Error == 0)
    // NLL: mean of lse − z_y.
    let lse = { (a: Double, b: Double, c: Double) in log64(exp64(a) + exp64(b) + exp64(c)) }
    let nll = ((lse(2, 0, 0) - 2) + (lse(0, 1, 3) - 1) + (lse(0, 0, 1) - 1)) / 3
    expectApprox(m.nll, nll, abs: 1e-9)
    // ECE: confidences p1 = e²/(e²+2), p2 = e³/(1+e+e³), p3 = e/(2+e); bins of width 1/15.
    let p1 = exp64(2) / (exp64(2) + 2)
    let p2 = exp64(3) / (1 + exp64(1) + exp64(3))
    let p3 = exp64(1) / (2 + exp64(1))
    var bins: [Int: (Double, Double, Double)] = [:]
    for (p, ok) in [(p1, 1.0), (p2, 0.0), (p3, 1.0)] {
      let b = Int((p * 15).rounded(.up)) - 1
      let (c, a, n) = bins[b] ?? (0, 0, 0)
      bins[b] = (c + p, a + ok, n + 1)
    }
    let ece = bins.values.reduce(0.0) { $0 + $1.2 / 3 * Swift.abs($1.1 / $1.2 - $1.0 / $1.2) }
    expectApprox(m.ece, 100 * ece, abs: 1e-9)
    #expect(m.predictedClasses == 2)
  }

  @Test func balancedErrorWeighsClassesEqually() {
    // Class 0: 3 examples all right; class 1: 1 example wrong → top-1 error 25 %, balanced 50 %.
    let logits = Tensor(shape: [4, 2], values: [1, 0, 1, 0, 1, 0, 1, 0])
    let m = ClassificationMetrics(logits: logits, labels: [0, 0, 0, 1])
    #expect(m.top1Error == 25)
    #expect(m.balancedError == 50)
  }

  @Test func topKCountsTiesToTheLowerIndex() {
    // C = 6 → top-5. The label scores lowest; with a tie the lower index ranks first.
    let logits = Tensor(shape: [2, 6], values: [5, 4, 3, 2, 1, 0, 1, 1, 1, 1, 1, 1])
    let m = ClassificationMetrics(logits: logits, labels: [5, 5])
    #expect(m.top5Error == 100)
  }
}
