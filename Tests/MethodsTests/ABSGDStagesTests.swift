import Engine
import Foundation
import NN
import Testing
import _ReplicateTestSupport

@testable import Methods

/// A trainer on the blob data with the given loss and hooks (3 classes, 96 examples, batch 16).
private func blobTrainer(loss: ClassificationLoss, hooks: TrainingHooks, epochs: Int, seed: UInt64 = 3) throws
  -> Trainer
{
  let model = try ModelZoo.make("mlp", inputShape: [4, 4, 1], classes: 3, widths: [16])
  let key = RandomKey(seed: seed)
  model.initialize(.torchDefault, key: key.split("init"))
  return Trainer(
    model: model, loss: loss, optimizer: SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4),
    schedule: .constant(base: 0.1, warmup: 0), train: BlobSource(count: 96, classes: 3, seed: 1),
    test: BlobSource(count: 60, classes: 3, seed: 2), epochs: epochs, batchSize: 16, augment: false, hooks: hooks,
    key: key)
}

/// Records λ at every step, to check the schedule the component sets.
private final class LambdaRecorder: TrainingHooks {
  var lambdas: [Int: Double] = [:]
  var u: [Int: Double] = [:]
  func afterStep(_ trainer: Trainer, _ state: StepState) throws {
    let loss = trainer.loss as! ABSGDLoss
    lambdas[state.epoch] = loss.lambda
    u[state.epoch] = loss.state.u
  }
}

@Suite("ABSGD stages")
struct ABSGDStagesTests {
  @Test func noisyLabelFloorAddsOneOverBToEveryWeight() {
    // absgd.md §1, the noisy-label ABLoss: λ = −1, γ = 0.7, α = 0.5, ℓ = (0.1, 0.5, 1, 2): the main weights
    // (1.283268, 0.860200, 0.521738, 0.191937) plus 1/4 each; L = 1.464038 + Σℓ/4 = 2.364038.
    var state = ABSGDWeights(gamma: 0.7, alpha: 0.5, uniformFloor: true)
    var p: [Double] = []
    let total = state.step(losses: [0.1, 0.5, 1, 2], lambda: -1, weights: &p)
    expectApprox(p, [1.533268, 1.110200, 0.771738, 0.441937], abs: 1e-6)
    expectApprox(total, 2.364038, abs: 1e-6)
    // The plain-mean branch (λ ≥ 200) has no floor, as the code.
    var plain = ABSGDWeights(gamma: 0.7, alpha: 0.5, uniformFloor: true)
    #expect(plain.step(losses: [1, 3], lambda: 200, weights: &p) == 2 && p == [0.5, 0.5])
  }

  @Test func abceNoisyScalesEachRowsCrossEntropyGradientByItsWeight() throws {
    let loss = try #require(
      try LossRegistry.make(
        LossSpec(name: "abce-noisy", params: ["lambda": -2, "gamma": 0.5, "alpha": 0.5]), classCounts: [1, 1, 1])
        as? ABSGDLoss)
    #expect(loss.state.uniformFloor)
    #expect(
      (try LossRegistry.make(LossSpec(name: "abce"), classCounts: [1, 1]) as? ABSGDLoss)?.state.uniformFloor == false)
    let z: [Float] = [2, 0, -1, 0.5, 0.5, 0.5]
    let logits = Tensor(shape: [2, 3], values: z)
    let gradient = Tensor(shape: [0])
    let targets = [0, 2]
    let value = loss.loss(logits: logits, targets: targets, gradient: gradient)
    // Hand computation: CE per row, e = exp(ℓ/λ), u = 0.5·0.5·mean(e), p = e/(2u) + 1/2.
    var ce: [Double] = []
    var softmax: [[Double]] = []
    for r in 0..<2 {
      let row = (0..<3).map { Double(z[r * 3 + $0]) }
      let m = row.max()!
      let s = row.map { exp($0 - m) }.reduce(0, +)
      softmax.append(row.map { exp($0 - m) / s })
      ce.append(-log(softmax[r][targets[r]]))
    }
    let e = ce.map { exp($0 / -2) }
    let u = 0.25 * (e[0] + e[1]) / 2
    let p = e.map { $0 / (2 * u) + 0.5 }
    expectApprox(loss.weights, p, abs: 1e-9)
    expectApprox(value, p[0] * ce[0] + p[1] * ce[1], abs: 1e-6)
    for r in 0..<2 {
      for k in 0..<3 {
        let expected = p[r] * (softmax[r][k] - (k == targets[r] ? 1 : 0))
        expectApprox(Double(gradient[r * 3 + k]), expected, abs: 1e-6)
      }
    }
  }

  @Test func lambdaSwitchesAtTheStartEpochAndUStartsFromZero() throws {
    let loss = ABSGDLoss(criterion: .crossEntropy, lambda: 5, gamma: 0.7, alpha: 0.5)
    let stages = ABSGDStages(startEpoch: 2, initLambda: 200, lambda: 5)
    let recorder = LambdaRecorder()
    let trainer = try blobTrainer(loss: loss, hooks: HookChain([stages, recorder]), epochs: 4)
    try trainer.run()
    #expect(recorder.lambdas == [0: 200, 1: 200, 2: 5, 3: 5])
    #expect(recorder.u[0] == 0 && recorder.u[1] == 0)  // the plain-mean stage leaves u at 0
    #expect(recorder.u[2]! > 0)
    #expect(trainer.curves["absgd_u"]?.count == 4)
    var output = JobOutput()
    try trainer.hooks.finish(trainer, output: &output)
    let weights = try #require(output.perClass["absgd_weight"])
    #expect(weights.count == 3 && weights.allSatisfy { $0 > 0 && $0.isFinite })
  }

  @Test func stageOneIsPlainSGDOnTheMean() throws {
    // Before the switch an ABSGD run is bitwise the CE run (λ = 200 is the plain mean).
    let ab = try blobTrainer(
      loss: ABSGDLoss(criterion: .crossEntropy, lambda: 5),
      hooks: ABSGDStages(startEpoch: 5, initLambda: 200, lambda: 5), epochs: 2)
    let ce = try blobTrainer(loss: CrossEntropyLoss(), hooks: NoHooks(), epochs: 2)
    try ab.run()
    try ce.run()
    for (p, q) in zip(ab.model.parameters, ce.model.parameters) {
      expectApprox(p.value.toArray(), q.value.toArray(), abs: 1e-6)
    }
  }

  @Test func headOnlyStageFreezesTheFeaturesAndReinitRedrawsTheHead() throws {
    let stages = ABSGDStages(
      startEpoch: 1, initLambda: 200, lambda: 2, headOnly: true, reinitHead: true, key: RandomKey(seed: 11))
    let trainer = try blobTrainer(loss: ABSGDLoss(criterion: .crossEntropy, lambda: 2), hooks: stages, epochs: 1)
    try trainer.run()  // stage 1 only
    let featuresBefore = trainer.model.features.parameters.map { $0.value.toArray() }
    let headBefore = trainer.model.head.parameters.map { $0.value.toArray() }
    try stages.epochStart(trainer, epoch: 1)
    // The head is re-drawn from its own key (not the stage-1 values), the features are frozen.
    let redrawn = trainer.model.head.parameters.map { $0.value.toArray() }
    #expect(redrawn != headBefore)
    #expect(trainer.model.features.parameters.allSatisfy { !$0.isTrainable })
    #expect(trainer.model.head.parameters.allSatisfy { $0.isTrainable })
    var none: RandomStream? = nil
    let x = Tensor(shape: [0])
    var y: [Int] = []
    trainer.train.fill(Array(0..<16)[...], into: x, labels: &y, augment: &none)
    trainer.standardStep(x, labels: y)
    #expect(trainer.model.features.parameters.map { $0.value.toArray() } == featuresBefore)
    #expect(trainer.model.head.parameters.map { $0.value.toArray() } != redrawn)
  }

  @Test func componentsResolveWithTheOfficialDefaults() throws {
    let stages = try ComponentRegistry.resolve(ComponentSpec(name: "absgd-stages"))
    #expect(stages.params["start_epoch"] == .number(160) && stages.params["init_lambda"] == .number(200))
    #expect(stages.params["train"] == .text("all") && stages.params["head"] == .text("keep"))
    #expect(throws: JobFailure.self) {
      try ComponentRegistry.resolve(ComponentSpec(name: "absgd-stages", params: ["train": .text("lower")]))
    }
    #expect(try ComponentRegistry.resolve(ComponentSpec(name: "epoch-summary")).params["last"] == .number(10))
  }
}

@Suite("Epoch summary")
struct EpochSummaryTests {
  @Test func lastEpochsMeanBestAndGap() throws {
    let s = try #require(EpochSummary.summary([50, 30, 20, 25, 35], last: 3))
    expectApprox(s.lastMean, 80.0 / 3, abs: 1e-12)
    #expect(s.best == 20)
    expectApprox(s.gap, 80.0 / 3 - 20, abs: 1e-12)
    // Fewer epochs than `last`: all of them.
    expectApprox(try #require(EpochSummary.summary([10, 20], last: 10)).lastMean, 15, abs: 1e-12)
    #expect(EpochSummary.summary([], last: 3) == nil)
  }

  @Test func finishAddsTheMetricsFromTheTestErrorCurve() throws {
    let summary = EpochSummary(last: 2)
    let trainer = try blobTrainer(loss: CrossEntropyLoss(), hooks: summary, epochs: 3)
    try trainer.run()
    var output = JobOutput()
    try summary.finish(trainer, output: &output)
    let curve = try #require(trainer.curves["test_error"])
    expectApprox(try #require(output.overall["test_error_last_mean"]), (curve[1] + curve[2]) / 2, abs: 1e-12)
    #expect(output.overall["test_error_best_epoch"] == curve.min())
    #expect(try #require(output.overall["memorization_gap"]) >= 0)
  }
}
