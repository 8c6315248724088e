import Engine
import Foundation
import NN
import Testing
import _ReplicateTestSupport

@testable import Methods

/// Gaussian blobs with a long-tailed class profile: class c has `counts[c]` examples.
func tailedBlobs(counts: [Int], seed: UInt64) -> BlobSource {
  BlobSource(
    labels: counts.enumerated().flatMap { c, n in Array(repeating: c, count: n) }, classes: counts.count, seed: seed)
}

/// Cross-entropy that records what the mixing step handed it.
final class RecordingMixedLoss: MixedTargetLoss {
  var classWeights: [Float]? = nil
  let inner = CrossEntropyLoss()
  var calls: [(epoch: Int, targets: [Int], partners: [Int], lambdas: [Float])] = []
  var epoch = 0
  func loss(logits: Tensor, targets: [Int], gradient: Tensor) -> Double {
    inner.loss(logits: logits, targets: targets, gradient: gradient)
  }
  func loss(logits: Tensor, targets: [Int], partnerTargets: [Int], lambdas: [Float], gradient: Tensor) -> Double {
    calls.append((epoch, targets, partnerTargets, lambdas))
    return inner.loss(
      logits: logits, targets: targets, partnerTargets: partnerTargets, lambdas: lambdas, gradient: gradient)
  }
}

final class EpochTracker: TrainingHooks {
  let loss: RecordingMixedLoss
  init(_ loss: RecordingMixedLoss) { self.loss = loss }
  func epochStart(_ trainer: Trainer, epoch: Int) throws { loss.epoch = epoch }
}

let tailCounts = [60, 24, 8, 4]

func tailedTrainer(
  hooks: TrainingHooks, loss: ClassificationLoss = CrossEntropyLoss(), epochs: Int = 2, seed: UInt64 = 3
) throws -> Trainer {
  let model = try ModelZoo.make("mlp", inputShape: [4, 4, 1], classes: 4, widths: [16])
  let key = RandomKey(seed: seed)
  model.initialize(.torchDefault, key: key.split("init"))
  return Trainer(
    model: model, loss: loss, optimizer: SGD(learningRate: 0.1, momentum: 0.9),
    schedule: .constant(base: 0.1, warmup: 0), train: tailedBlobs(counts: tailCounts, seed: 1),
    test: BlobSource(count: 40, classes: 4, seed: 2), epochs: epochs, batchSize: 16, augment: false, hooks: hooks,
    key: key)
}

@Suite("Prior-LT: UniMix, Remix, best epoch")
struct PriorLTTests {
  @Test func uniMixPairsWithinTheBatchAndFavoursTheTail() throws {
    let loss = RecordingMixedLoss()
    // τ = −50: the partner is (almost surely) an example of the rarest class present in the batch.
    let step = UniMixStep(classCounts: tailCounts, alpha: 0.8, tau: -50, stopEpoch: nil, key: RandomKey(seed: 7))
    let trainer = try tailedTrainer(hooks: HookChain([EpochTracker(loss), step]), loss: loss)
    try trainer.run()
    #expect(loss.calls.count == 2 * 6)  // 96 examples, batch 16
    for call in loss.calls {
      let rarest = call.targets.max()!  // counts fall with the class index
      #expect(call.partners.allSatisfy { $0 == rarest })
      #expect(call.lambdas.allSatisfy { $0 >= 0 && $0 <= 1 })
    }
    #expect(trainer.curves["train_loss"]!.allSatisfy { $0.isFinite })
  }

  @Test func uniMixStopsMixingAtItsEpochAndIsDeterministic() throws {
    func run() throws -> (RecordingMixedLoss, Trainer) {
      let loss = RecordingMixedLoss()
      let step = UniMixStep(classCounts: tailCounts, alpha: 1, tau: 0, stopEpoch: 1, key: RandomKey(seed: 7))
      let trainer = try tailedTrainer(hooks: HookChain([EpochTracker(loss), step]), loss: loss)
      try trainer.run()
      return (loss, trainer)
    }
    let (a, ta) = try run()
    let (b, tb) = try run()
    #expect(a.calls.count == 6 && a.calls.allSatisfy { $0.epoch == 0 })
    #expect(a.calls.map(\.lambdas) == b.calls.map(\.lambdas))
    #expect(ta.curves == tb.curves)
  }

  @Test func mixingNeedsALossWithMixedTargets() throws {
    let step = UniMixStep(classCounts: tailCounts, alpha: 0.8, tau: -0.5, stopEpoch: nil, key: RandomKey(seed: 7))
    let trainer = try tailedTrainer(hooks: step, loss: LogitAdjustedLoss(classCounts: tailCounts, tau: 1))
    #expect(throws: JobFailure.self) { try trainer.run() }
  }

  @Test func registryResolvesTheOfficialDefaults() throws {
    let unimix = try ComponentRegistry.resolve(ComponentSpec(name: "unimix"))
    #expect(unimix.params["alpha"] == .number(0.8) && unimix.params["tau"] == .text("auto"))
    #expect(UniMixStep.configTau(classes: 10) == -0.5 && UniMixStep.configTau(classes: 100) == -0.1)
    #expect(throws: JobFailure.self) {
      try ComponentRegistry.resolve(ComponentSpec(name: "unimix", params: ["tau": .text("inverse")]))
    }
    let remix = try ComponentRegistry.resolve(ComponentSpec(name: "remix", params: ["stop_epoch": .number(5)]))
    #expect(remix.params["kappa"] == .number(3) && remix.params["stop_epoch"] == .number(5))
  }

  @Test func remixLabelWeightFollowsThePaperRule() {
    // Head example (n 300) with a tail partner (n 10): ratio 30 ≥ κ.
    #expect(RemixStep.labelWeight(lambda: 0.3, count1: 300, count2: 10, kappa: 3, tau: 0.5) == 0)
    #expect(RemixStep.labelWeight(lambda: 0.7, count1: 300, count2: 10, kappa: 3, tau: 0.5) == 0.7)
    // Tail example with a head partner: ratio 1/30 ≤ 1/κ; 1 − λ = 0.3 < τ gives the tail label all.
    #expect(RemixStep.labelWeight(lambda: 0.7, count1: 10, count2: 300, kappa: 3, tau: 0.5) == 1)
    #expect(RemixStep.labelWeight(lambda: 0.3, count1: 10, count2: 300, kappa: 3, tau: 0.5) == 0.3)
    // Similar counts: plain mixup.
    #expect(RemixStep.labelWeight(lambda: 0.2, count1: 20, count2: 10, kappa: 3, tau: 0.5) == 0.2)
  }

  @Test func remixMixesWithOneLambdaPerBatchAndAPermutation() throws {
    let loss = RecordingMixedLoss()
    let step = RemixStep(
      classCounts: tailCounts, alpha: 1, kappa: 3, tau: 0.5, stopEpoch: nil, key: RandomKey(seed: 2))
    let trainer = try tailedTrainer(hooks: HookChain([EpochTracker(loss), step]), loss: loss, epochs: 1)
    try trainer.run()
    for call in loss.calls {
      #expect(call.partners.sorted() == call.targets.sorted())  // a permutation of the batch
      #expect(call.lambdas.allSatisfy { $0 >= 0 && $0 <= 1 })
    }
  }

  @Test func bestEpochKeepsTheBestTestErrorAndItsECE() throws {
    let best = BestEpoch()
    let trainer = try tailedTrainer(hooks: best, epochs: 3)
    try trainer.run()
    var output = JobOutput()
    try best.finish(trainer, output: &output)
    let curve = trainer.curves["test_error"]!
    let epoch = Int(output.overall["best_epoch"]!) - 1
    #expect(output.overall["best_epoch_top1_error"] == curve.min())
    #expect(curve[epoch] == curve.min() && curve[..<epoch].allSatisfy { $0 > curve.min()! })
    #expect(output.overall["best_epoch_ece"] == trainer.curves["test_ece"]![epoch])
  }
}

@Suite("LADC")
struct LADCTests {
  @Test func classStatisticsMatchHandComputedValues() {
    // Class 0: (1, 2), (3, 6); class 1: (0, 1) only.
    let s = LADC.statistics(features: [1, 2, 0, 1, 3, 6], labels: [0, 1, 0], classes: 2, dimension: 2)
    expectApprox(s[0].mean, [2, 4], abs: 1e-12)
    expectApprox(s[0].covariance, [2, 4, 4, 8], abs: 1e-6)  // denominator n − 1
    expectApprox(s[1].mean, [0, 1], abs: 1e-12)
    #expect(s[1].covariance == [0, 0, 0, 0])
  }

  @Test func headNeighboursAndCalibration() {
    #expect(LADC.headClasses(counts: [500, 200, 90, 40, 10], share: 0.4) == [0, 1])
    #expect(LADC.headClasses(counts: [5, 50, 50, 1], share: 0.25) == [1])
    let means: [[Double]] = [[1, 0], [0, 1], [1, 1], [0.1, 1]]
    #expect(LADC.neighbours(of: means[3], head: [0, 1, 2], means: means, k: 2) == [1, 2])
    let own = LADC.Gaussian(mean: [0, 0], covariance: [1, 0, 0, 1])
    let h1 = LADC.Gaussian(mean: [4, 0], covariance: [3, 0, 0, 3])
    let h2 = LADC.Gaussian(mean: [0, 4], covariance: [5, 1, 1, 5])
    // m = 100, n = 100: α = 1/2, each neighbour 1/4.
    let c = LADC.calibrate(own: own, count: 100, neighbours: [h1, h2], strength: 100)
    expectApprox(c.mean, [1, 1], abs: 1e-12)
    expectApprox(c.covariance, [2.5, 0.25, 0.25, 2.5], abs: 1e-12)
    #expect(LADC.calibrate(own: own, count: 5, neighbours: [h1], strength: 0) == own)
  }

  @Test func choleskyFactorReproducesTheRidgedCovariance() throws {
    let sigma: [Double] = [4, 2, 0.4, 2, 3, 0.5, 0.4, 0.5, 1]
    let l = try #require(LADC.choleskyFactor(sigma, dimension: 3, ridge: 0))
    for i in 0..<3 {
      for j in 0..<3 {
        let v = (0..<3).reduce(0.0) { $0 + l[i * 3 + $1] * l[j * 3 + $1] }
        expectApprox(v, sigma[i * 3 + j], abs: 1e-12)
      }
    }
    // A singular covariance (rank 1) succeeds with the ridge.
    let singular = try #require(LADC.choleskyFactor([1, 1, 1, 1], dimension: 2, ridge: 1e-3))
    expectApprox(singular[0] * singular[0], 1.001, abs: 1e-12)
  }

  @Test func samplesHaveTheRequestedMomentsAndInvertTheTukeyTransform() throws {
    let mean: [Double] = [2, 3]
    let sigma: [Double] = [0.25, 0.1, 0.1, 0.16]
    let l = try #require(LADC.choleskyFactor(sigma, dimension: 2, ridge: 0))
    var stream = RandomKey(seed: 11).stream()
    var out: [Float] = []
    LADC.sample(mean: mean, factor: l, dimension: 2, count: 20_000, beta: 1, stream: &stream, into: &out)
    let s = LADC.statistics(features: out, labels: Array(repeating: 0, count: 20_000), classes: 1, dimension: 2)
    expectApprox(s[0].mean, mean, abs: 0.02)
    expectApprox(s[0].covariance, sigma, abs: 0.02)
    // β = 1/2: samples are squared back (z ↦ max(z, 0)²).
    var again = RandomKey(seed: 11).stream()
    var squared: [Float] = []
    LADC.sample(mean: mean, factor: l, dimension: 2, count: 4, beta: 0.5, stream: &again, into: &squared)
    expectApprox(squared.map(Double.init), out.prefix(8).map { Double($0 * $0) }, rel: 1e-5)
    #expect(LADC.tukey(4, beta: 0.5) == 2 && LADC.inverseTukey(-1, beta: 0.5) == 0)
  }

  @Test(arguments: [LADCStage.Source.calibrated, .own, .crt, .real])
  func stageRetrainsTheHeadAndTheTrainerReEvaluates(source: LADCStage.Source) throws {
    let stage = LADCStage(
      source: source, k: 1, headShare: 0.5, strength: 10, beta: 0.5, ridge: 1e-3, epochs: 3, learningRate: 0.1,
      batchSize: 32, weightDecay: 5e-4, momentum: 0.9, classCounts: tailCounts, initialization: .torchDefault,
      key: RandomKey(seed: 4))
    let trainer = try tailedTrainer(hooks: stage, epochs: 3)
    let headBefore = trainer.model.head.parameters[0].value.toArray()
    try trainer.run()
    let headAfter = trainer.model.head.parameters[0].value.toArray()
    #expect(headAfter != headBefore)
    var output = JobOutput()
    try stage.finish(trainer, output: &output)
    let sampled = source == .calibrated || source == .own
    #expect(output.overall["synthetic_features"] == (sampled ? Double(4 * 60 - tailCounts.reduce(0, +)) : 0))
    #expect(output.overall["stage1_top1_error"] == trainer.curves["test_error"]!.last)
    #expect((output.data["ladc_neighbours"] != nil) == (source == .calibrated))
    // A head re-trained on balanced data separates the blobs (`real` keeps the imbalance and may not).
    let metrics = ClassificationMetrics(logits: trainer.testLogits, labels: trainer.test.labels)
    if source != .real { #expect(metrics.top1Error < 30) }
  }
}
