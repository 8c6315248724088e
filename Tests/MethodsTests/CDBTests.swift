import Datasets
import Engine
import Foundation
import NN
import Testing
import _ReplicateTestSupport

@testable import Methods

/// A validation source whose every 5th label is moved to the next class, so no class reaches 100% accuracy.
final class FlippedLabels: BatchSource {
  let base: BatchSource
  let labels: [Int]
  init(_ base: BatchSource) {
    self.base = base
    labels = base.labels.enumerated().map { $0.offset % 5 == 0 ? ($0.element + 1) % base.classes : $0.element }
  }
  var count: Int { base.count }
  var classes: Int { base.classes }
  var exampleShape: [Int] { base.exampleShape }
  func fill(_ positions: ArraySlice<Int>, into x: Tensor, labels y: inout [Int], augment: inout RandomStream?) {
    base.fill(positions, into: x, labels: &y, augment: &augment)
    y = positions.map { labels[$0] }
  }
}

@Suite("CDB-W / CDB-S")
struct CDBTests {
  /// The worked example of shared/methods/cdb.md §1: A = (0.9, 0.5, 0.1), d = (0.1, 0.5, 0.9).
  @Test func workedExampleWeightsForBothDynamicTauFormulas() throws {
    let d = [0.1, 0.5, 0.9]
    let tauCIFAR = ClassDifficulty.dynamicTau(d, form: .cifar)
    expectApprox(tauCIFAR, 0.999720, abs: 1e-6)
    expectApprox(try #require(ClassDifficulty.weights(difficulty: d, tau: tauCIFAR)), [0.200104, 1.000069, 1.799828])
    let tauImageNet = ClassDifficulty.dynamicTau(d, form: .imagenet)
    expectApprox(tauImageNet, 1.998481, abs: 1e-6)
    expectApprox(
      try #require(ClassDifficulty.weights(difficulty: d, tau: tauImageNet)), [0.028124, 0.701393, 2.270483])
    // A fixed τ: w ∝ d^1.5, Σ w = C.
    let w = try #require(ClassDifficulty.weights(difficulty: d, tau: 1.5))
    let raw = d.map { pow($0, 1.5) }
    expectApprox(w, raw.map { $0 / raw.reduce(0, +) * 3 })
  }

  @Test func epochZeroIsUnweightedAndASolvedClassGetsWeightZero() throws {
    let ones = [Double](repeating: 1, count: 4)
    #expect(ClassDifficulty.dynamicTau(ones, form: .cifar) == 0.5)
    expectApprox(ClassDifficulty.dynamicTau(ones, form: .imagenet), 2 / (1 + exp(1.0)))
    #expect(ClassDifficulty.weights(difficulty: ones, tau: 0.5) == ones)
    let w = try #require(ClassDifficulty.weights(difficulty: [0, 0.5, 0.5], tau: 1))
    #expect(w == [0, 1.5, 1.5])
    // Every class solved: the code's 0/0.
    #expect(ClassDifficulty.weights(difficulty: [0, 0, 0], tau: 1) == nil)
  }

  @Test func everyClassSolvedIsAJobFailure() throws {
    let tracker = ClassDifficultyTracker(
      classes: 3, validation: BlobSource(count: 30, classes: 3, seed: 9), fixedTau: nil, dynamicForm: .cifar,
      validateEvery: 1)
    tracker.difficulty = [0, 0, 0]
    #expect(throws: JobFailure.self) { try tracker.weights() }
  }

  /// L = Σ_i w_{y_i} ℓ_i / N (the CIFAR code's `reduction='none'` + `torch.mean`), not ÷ Σ_i w_{y_i}; values
  /// from NumPy on the same logits.
  @Test func cifarReductionDividesByTheBatchSize() throws {
    let logits = Tensor(shape: [4, 3])
    let z: [Float] = [1, 0, -1, 0.5, 0.2, 0.1, 0, 2, 0, 0.3, -0.3, 1]
    for (i, v) in z.enumerated() { logits[i] = v }
    let targets = [0, 2, 1, 2]
    let weights: [Float] = [0.2, 1, 1.8]
    let gradient = Tensor(shape: [0])
    let batchMean = CrossEntropyLoss(classWeights: weights, reduction: .batchMean)
    expectApprox(batchMean.loss(logits: logits, targets: targets, gradient: gradient), 0.9130272884583595, rel: 1e-6)
    let weightedMean = CrossEntropyLoss(classWeights: weights)
    expectApprox(
      weightedMean.loss(logits: logits, targets: targets, gradient: Tensor(shape: [0])), 0.7608560737152996, rel: 1e-6)
    // The gradient of the ÷ N form against central differences.
    let analytic = (0..<12).map { gradient[$0] }
    for k in 0..<12 {
      let h: Float = 1e-3
      let saved = logits[k]
      logits[k] = saved + h
      let up = batchMean.loss(logits: logits, targets: targets, gradient: Tensor(shape: [0]))
      logits[k] = saved - h
      let down = batchMean.loss(logits: logits, targets: targets, gradient: Tensor(shape: [0]))
      logits[k] = saved
      expectApprox(Double(analytic[k]), (up - down) / Double(2 * h), abs: 1e-3, "∂L/∂z[\(k)]")
    }
  }

  func trainer(hooks: TrainingHooks, validation: BatchSource, epochs: Int = 3) throws -> Trainer {
    try blobTrainer(seed: 5, hooks: hooks, epochs: epochs, validation: validation)
  }

  @Test func cdbWTrainsWithWeightsFromTheLastValidationPass() throws {
    let validation = FlippedLabels(BlobSource(count: 30, classes: 3, seed: 9))
    let tracker = ClassDifficultyTracker(
      classes: 3, validation: validation, fixedTau: nil, dynamicForm: .cifar, validateEvery: 1)
    let cdb = CDBWeighting(tracker: tracker, reduction: .batchMean)
    let selection = BestValidationSelection(validation: validation, criterion: .meanClass, use: .report)
    let t = try trainer(hooks: HookChain([cdb, selection]), validation: validation)
    try t.run()
    // Epoch 0 is unweighted (d = 1); every epoch's weights sum to C.
    let w = (0..<3).map { c in t.curves["cdb_weight_\(c)"]! }
    #expect(w.allSatisfy { $0.count == 3 && $0[0] == 1 })
    for e in 0..<3 { expectApprox(w[0][e] + w[1][e] + w[2][e], 3) }
    #expect(t.curves["cdb_tau"]?.first == 0.5)
    // The criterion holds the weights of the last epoch, computed from the validation pass before it; the
    // tracker now holds the difficulties of the final pass, 1 − A_c.
    #expect(cdb.criterion.classWeights == (0..<3).map { Float(w[$0][2]) })
    #expect(tracker.difficulty == tracker.accuracy.map { 1 - $0 })
    var output = JobOutput()
    try t.hooks.finish(t, output: &output)
    let final = try #require(output.perClass["cdb_weight"])
    #expect(final == ClassDifficulty.weights(difficulty: tracker.difficulty, tau: tracker.tau))
    #expect(output.overall["cdb_weight_at_class_1"] == final[1])
    let bestEpoch = try #require(output.overall["best_validation_epoch"])
    #expect(output.overall["best_validation_top1_error"] == t.curves["test_error"]![Int(bestEpoch)])
    #expect(t.curves["validation_balanced_error"]?.count == 3)
  }

  @Test func cdbSSamplesClassesByDifficulty() throws {
    let validation = FlippedLabels(BlobSource(count: 30, classes: 3, seed: 9))
    let tracker = ClassDifficultyTracker(
      classes: 3, validation: validation, fixedTau: 1, dynamicForm: .cifar, validateEvery: 1)
    let labels = (0..<96).map { $0 % 3 }
    let cdb = CDBSampling(tracker: tracker, labels: labels)
    let t = try trainer(hooks: cdb, validation: validation, epochs: 2)
    try t.run()
    #expect(t.curves["cdb_weight_0"]?.count == 2)
    // With d = (0, 1, 1) class 0 is never drawn; N draws per epoch.
    tracker.difficulty = [0, 1, 1]
    try cdb.epochStart(t, epoch: 2)
    let order = try #require(cdb.epochOrder(t, epoch: 2, key: RandomKey(seed: 1)))
    #expect(order.count == 96)
    #expect(order.allSatisfy { labels[$0] != 0 })
    #expect(Set(order.map { labels[$0] }) == [1, 2])
  }

  /// The separable blobs are solved after one epoch: every difficulty is 0, and the next epoch fails as a job
  /// (the official code would train on NaN weights).
  @Test func aFullySolvedValidationSplitFailsTheJob() throws {
    let validation = BlobSource(count: 30, classes: 3, seed: 9)
    let tracker = ClassDifficultyTracker(
      classes: 3, validation: validation, fixedTau: nil, dynamicForm: .cifar, validateEvery: 1)
    let t = try trainer(hooks: CDBWeighting(tracker: tracker, reduction: .batchMean), validation: validation)
    #expect(throws: JobFailure.self) { try t.run() }
    #expect(tracker.difficulty == [0, 0, 0])
    #expect(t.curves["cdb_weight_0"] == [1])
  }

  @Test func registryDefaultsAndTheLossRequirement() throws {
    let w = try ComponentRegistry.resolve(ComponentSpec(name: "cdb-w"))
    #expect(w.params["tau"] == .text("dynamic"))
    #expect(w.params["dynamic_tau"] == .text("cifar"))
    #expect(w.params["reduction"] == .text("batch-mean"))
    #expect(w.params["validate_every"] == .number(1))
    #expect(throws: JobFailure.self) {
      try ComponentRegistry.resolve(ComponentSpec(name: "cdb-w", params: ["tau": .text("static")]))
    }
    let s = try ComponentRegistry.resolve(ComponentSpec(name: "cdb-s", params: ["tau": .number(1.5)]))
    #expect(s.params["tau"] == .number(1.5) && s.params["reduction"] == nil)
  }
}
