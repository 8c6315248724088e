import Engine
import NN
import Testing
import _ReplicateTestSupport

@testable import Methods

/// Examples given as explicit rows (inputs [1, d, 1] each).
final class RowSource: BatchSource {
  let rows: [[Float]], labels: [Int], classes: Int
  var count: Int { rows.count }
  var exampleShape: [Int] { [1, rows[0].count, 1] }
  init(_ rows: [[Float]], labels: [Int], classes: Int) {
    self.rows = rows
    self.labels = labels
    self.classes = classes
  }
  func fill(_ positions: ArraySlice<Int>, into x: Tensor, labels y: inout [Int], augment: inout RandomStream?) {
    let d = rows[0].count
    x.resize([positions.count, 1, d, 1])
    y.removeAll(keepingCapacity: true)
    for (r, i) in positions.enumerated() {
      for j in 0..<d { x[r * d + j] = rows[i][j] }
      y.append(labels[i])
    }
  }
}

private func batch(_ source: BatchSource) -> (Tensor, [Int]) {
  let x = Tensor(shape: [0])
  var y: [Int] = []
  var none: RandomStream? = nil
  source.fill(ArraySlice(0..<source.count), into: x, labels: &y, augment: &none)
  return (x, y)
}

@Suite("L2RW")
struct L2RWTests {
  /// The worked example of methods/l2rw.md: softmax regression at W = 0, b = 0; α = 0.1 gives
  /// g = (0.0225, 0.0200, −0.01825), so ⟨∇ℓ_i, ∇L_val⟩ = g/α, and w = (9/17, 8/17, 0).
  @Test func workedExampleGivesTheHandComputedWeights() throws {
    let model = try ModelZoo.make("mlp", inputShape: [1, 2, 1], classes: 2, widths: [])
    for p in model.parameters { p.value.fill(0) }
    let clean = RowSource([[1, 0.2], [0.1, 1]], labels: [0, 1], classes: 2)
    let train = RowSource([[1, 0], [0, 1], [0.9, 0.1]], labels: [0, 1, 1], classes: 2)
    let l2rw = LearningToReweight(validation: clean, cleanBatch: 100, key: RandomKey(seed: 1))
    let (x, y) = batch(train)
    let (loss, _) = try l2rw.computeWeights(model: model, inputs: x, labels: y)
    expectApprox(loss, 0.693147, abs: 1e-5)
    expectApprox(l2rw.metaGradients, [0.225, 0.2, -0.1825], abs: 1e-6)
    expectApprox(l2rw.weights, [9.0 / 17, 8.0 / 17, 0], abs: 1e-6)
  }

  @Test func weightsAreClippedThenNormalisedAndAllZeroWhenNoneIsPositive() {
    #expect(LearningToReweight.normalizedWeights([-1, 1, 3]) == [0, 0.25, 0.75])
    #expect(LearningToReweight.normalizedWeights([-1, -2, 0]) == [0, 0, 0])
  }

  /// g_i = −∂L_val(θ − α Σ_k ε_k ∇ℓ_k)/∂ε_i at ε = 0 (α = 1), by central differences on ε_i, for a
  /// two-hidden-layer MLP with fused ReLUs and biases.
  @Test func metaGradientMatchesFiniteDifferencesOfTheLookAhead() throws {
    let model = try ModelZoo.make("mlp", inputShape: [4, 4, 1], classes: 3, widths: [12, 8])
    model.initialize(.torchDefault, key: RandomKey(seed: 7))
    let train = BlobSource(count: 6, classes: 3, seed: 11)
    let clean = BlobSource(count: 5, classes: 3, seed: 12)
    let l2rw = LearningToReweight(validation: clean, cleanBatch: 5, key: RandomKey(seed: 2))
    let (x, y) = batch(train)
    _ = try l2rw.computeWeights(model: model, inputs: x, labels: y)
    let g = l2rw.metaGradients
    let theta = model.parameters.map { $0.value.toArray() }
    let (cx, cy) = batch(clean)
    func cleanLoss() -> Double {
      plainCrossEntropy(model.forward(cx, training: true), cy, gradient: nil, perRowScale: 1)
    }
    let h = 1e-3
    let grad = Tensor(shape: [0])
    for i in 0..<6 {
      // ∇ℓ_i from a batch holding example i alone.
      let xi = Tensor(shape: [1, 4, 4, 1])
      for j in 0..<16 { xi[j] = x[i * 16 + j] }
      for (p, v) in zip(model.parameters, theta) { p.value.pointer.update(from: v, count: v.count) }
      plainCrossEntropy(model.forward(xi, training: true), [y[i]], gradient: grad, perRowScale: 1)
      _ = model.backward(grad)
      let gi = model.parameters.map { $0.grad.toArray() }
      func lossAt(_ eps: Double) -> Double {
        for ((p, v), d) in zip(zip(model.parameters, theta), gi) {
          for k in 0..<v.count { p.value[k] = v[k] - Float(eps) * d[k] }
        }
        return cleanLoss()
      }
      let fd = -(lossAt(h) - lossAt(-h)) / (2 * h)
      #expect(isApprox(g[i], fd, abs: 2e-4, rel: 2e-2), "example \(i): \(g[i]) vs \(fd)")
    }
  }

  @Test func trainsEndToEndAndRecordsItsCurves() throws {
    let validation = BlobSource(count: 30, classes: 3, seed: 9)
    let hooks = LearningToReweight(validation: validation, cleanBatch: 10, key: RandomKey(seed: 3))
    let model = try ModelZoo.make("mlp", inputShape: [4, 4, 1], classes: 3, widths: [16])
    model.initialize(.torchDefault, key: RandomKey(seed: 5))
    let trainer = Trainer(
      model: model, loss: CrossEntropyLoss(), optimizer: SGD(learningRate: 0.1, momentum: 0.9),
      schedule: .constant(base: 0.1, warmup: 0), train: BlobSource(count: 96, classes: 3, seed: 1),
      test: BlobSource(count: 60, classes: 3, seed: 2), validation: validation, epochs: 4, batchSize: 16,
      augment: false, hooks: hooks, key: RandomKey(seed: 5))
    try trainer.run()
    #expect(trainer.curves["l2rw_zero_weight_fraction"]?.count == 4)
    #expect(trainer.curves["test_error"]!.last! < 30)
    #expect(abs(hooks.weights.reduce(0, +) - 1) < 1e-9 || hooks.weights.allSatisfy { $0 == 0 })
  }

  @Test func refusesModelsWithNonLinearParameters() throws {
    let model = try ModelZoo.make("cnn-small", inputShape: [4, 4, 1], classes: 3)
    let l2rw = LearningToReweight(
      validation: BlobSource(count: 6, classes: 3, seed: 1), cleanBatch: 3, key: RandomKey(seed: 1))
    let (x, y) = batch(BlobSource(count: 4, classes: 3, seed: 2))
    #expect(throws: JobFailure.self) { try l2rw.computeWeights(model: model, inputs: x, labels: y) }
  }
}

@Suite("CALS and MbLS")
struct CALSComponentTests {
  @Test func mblsValueAndGradientMatchHandAndFiniteDifferences() {
    let loss = MbLSLoss(margin: 2, alpha: 0.5)
    let z = Tensor(shape: [2, 3])
    let values: [Float] = [5, 0, 1, 0.3, -0.2, 0.1]
    for (k, v) in values.enumerated() { z[k] = v }
    let grad = Tensor(shape: [0])
    let value = loss.loss(logits: z, targets: [1, 0], gradient: grad)
    let ce = CrossEntropyLoss().loss(logits: z, targets: [1, 0], gradient: Tensor(shape: [0]))
    // Row 0: excesses 5 − 0 − 2 = 3 and 5 − 1 − 2 = 2; row 1 none. Mean over 6 entries.
    expectApprox(value, ce + 0.5 * 5 / 6, abs: 1e-6)
    let h: Float = 1e-3
    for k in 0..<6 {
      let up = Tensor(shape: [2, 3])
      let down = Tensor(shape: [2, 3])
      for j in 0..<6 { (up[j], down[j]) = (values[j], values[j]) }
      up[k] += h
      down[k] -= h
      let fd =
        (loss.loss(logits: up, targets: [1, 0], gradient: Tensor(shape: [0]))
          - loss.loss(logits: down, targets: [1, 0], gradient: Tensor(shape: [0]))) / Double(2 * h)
      expectApprox(Double(grad[k]), fd, abs: 2e-3)
    }
  }

  @Test func classwiseECEWithOneBinIsTheGapOfMeanProbabilityAndFrequency() {
    let z = Tensor(shape: [2, 2])
    z[0] = Float(log64(9.0))
    z[3] = Float(log64(4.0))
    // p(class 0) = 0.9 and 0.2; labels 0, 1: |1.1 − 1|/2 = 0.05 for each class.
    expectApprox(classwiseECE(logits: z, labels: [0, 1], bins: 1), 0.05, abs: 1e-6)
  }

  @Test func calsUpdatesMultipliersAndBestValidationRestoresTheBestEpoch() throws {
    let validation = BlobSource(count: 30, classes: 3, seed: 9)
    let penalty = CALSPenalty(classes: 3, margin: 2, rhoStep: 2)
    let cals = CALSTraining(penalty: penalty, validation: validation)
    let test = BlobSource(count: 60, classes: 3, seed: 2)
    let selection = BestValidationSelection(validation: validation)
    let model = try ModelZoo.make("mlp", inputShape: [4, 4, 1], classes: 3, widths: [16])
    model.initialize(.torchDefault, key: RandomKey(seed: 5))
    let trainer = Trainer(
      model: model, loss: CrossEntropyLoss(), optimizer: SGD(learningRate: 0.1, momentum: 0.9),
      schedule: .constant(base: 0.1, warmup: 0), train: BlobSource(count: 96, classes: 3, seed: 1),
      test: test, validation: validation, epochs: 4, batchSize: 16, augment: false,
      hooks: HookChain([cals, selection]), key: RandomKey(seed: 5))
    try trainer.run()
    #expect(penalty.lambdas != [Double](repeating: 1e-6, count: 3))
    #expect(trainer.curves["cals_lambda_mean"]?.count == 4)
    var output = JobOutput()
    try trainer.hooks.finish(trainer, output: &output)
    let curve = try #require(trainer.curves["validation_error"])
    #expect(output.overall["validation_error"] == curve.min())
    let epoch = Int(try #require(output.overall["selected_epoch"]))
    #expect(curve[epoch - 1] == curve.min() && curve[..<(epoch - 1)].allSatisfy { $0 > curve.min()! })
    // The restored model gives the selected epoch's validation error again.
    #expect(trainer.evaluate(validation, into: Tensor(shape: [0])) == curve.min())
    #expect(output.perClass["cals_lambda"] == penalty.lambdas)
    #expect((output.overall["classwise_ece"] ?? -1) >= 0)
  }
}

@Suite("Susceptibility")
struct SusceptibilityTests {
  @Test func runningAndNotebookAverages() {
    let r = [0, 0.3, 0.2, 0.1, 0.05]
    let notebook = (1...5).map { Susceptibility.average(Array(r.prefix($0)), notebook: true) }
    expectApprox(notebook, [0, 0, 0.15, 0.5 / 3, 0.15], abs: 1e-12)
    expectApprox(Susceptibility.average(r, notebook: false), 0.13, abs: 1e-12)
  }

  @Test func snapshotRestoresWeightsRunningStatisticsAndMomentum() throws {
    let model = Classifier(
      features: Sequential([Flatten(), BatchNorm(16)]), head: Linear(16, 3), featureSize: 16, classes: 3,
      inputShape: [4, 4, 1])
    model.initialize(.torchDefault, key: RandomKey(seed: 1))
    let optimizer = SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 1e-3)
    let (x, y) = batch(BlobSource(count: 8, classes: 3, seed: 3))
    let grad = Tensor(shape: [0])
    func step() {
      plainCrossEntropy(model.forward(x, training: true), y, gradient: grad, perRowScale: 1.0 / 8)
      _ = model.backward(grad)
      optimizer.step(model.parameters)
    }
    step()
    let snapshot = ModelSnapshot(model, optimizer: optimizer)
    let before = (model.parameters + []).map { $0.value.toArray() }
    let stats = model.runningStatistics.map { $0.toArray() }
    step()
    snapshot.restore(model, optimizer: optimizer)
    #expect(model.parameters.map { $0.value.toArray() } == before)
    #expect(model.runningStatistics.map { $0.toArray() } == stats)
    step()
    let afterRestore = model.parameters.map { $0.value.toArray() }
    snapshot.restore(model, optimizer: optimizer)
    step()
    #expect(model.parameters.map { $0.value.toArray() } == afterRestore)  // momentum restored too
  }

  /// The probe is undone: training with the component gives bitwise the same run as without it.
  @Test func theProbeLeavesTrainingUnchangedAndRecordsCurves() throws {
    let source = BlobSource(count: 40, classes: 3, seed: 8)
    let probe = Susceptibility(
      source: source, size: 40, batchSize: 16, notebookAverage: false, key: RandomKey(seed: 4),
      trainLabels: ((0..<96).map { $0 % 3 }, (0..<96).map { $0 < 30 ? ($0 + 1) % 3 : $0 % 3 }))
    let with = try makeTrainer(seed: 3, hooks: probe, epochs: 3)
    try with.run()
    let plain = try makeTrainer(seed: 3, epochs: 3)
    try plain.run()
    #expect(with.curves["train_loss"] == plain.curves["train_loss"])
    #expect(with.testLogits.toArray() == plain.testLogits.toArray())
    let r = try #require(with.curves["susceptibility_r"])
    #expect(r.count == 3 && r.allSatisfy { $0.isFinite }, "\(r)")
    #expect(with.curves["train_accuracy_noisy_subset"]?.count == 3)
  }
}
