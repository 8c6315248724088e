import Datasets
import Engine
import Foundation
import NN
import Testing
import _ReplicateTestSupport

@testable import Methods

/// A trainer on the blobs with `hooks`, an MLP 16→16→3.
func blobTrainer(seed: UInt64, hooks: TrainingHooks, epochs: Int = 2, validation: BatchSource? = nil) throws -> Trainer
{
  let model = try ModelZoo.make("mlp", inputShape: [4, 4, 1], classes: 3, widths: [16])
  let key = RandomKey(seed: seed)
  model.initialize(.torchDefault, key: key.split("init"))
  return Trainer(
    model: model, loss: CrossEntropyLoss(), optimizer: SGD(learningRate: 0.05, momentum: 0.9),
    schedule: .constant(base: 0.05, warmup: 0), train: BlobSource(count: 96, classes: 3, seed: 1),
    test: BlobSource(count: 60, classes: 3, seed: 2), validation: validation, epochs: epochs, batchSize: 16,
    augment: false, hooks: hooks, key: key)
}

@Suite("Randomized smoothing and SmoothMix")
struct CertifiedRobustnessTests {
  let normalization = Normalization(mean: [0.5], std: [0.25])

  @Test func pixelNoiseConvertsToNormalisedUnits() {
    let noise = PixelNoise(sigma: 0.5, normalization: normalization)
    #expect(noise.low == [-2] && noise.high == [2])
    let out = Tensor(shape: [20_000])
    var s = RandomKey(seed: 1).stream()
    noise.fillNoise(out, stream: &s)
    let values = out.toArray().map(Double.init)
    let std = (values.map { $0 * $0 }.reduce(0, +) / Double(values.count)).squareRoot()
    expectApprox(std, 0.5 / 0.25, abs: 0.03, rel: 0)
    // An ℓ2 step of (1, 1) in normalised units is (0.25, 0.25) in pixels.
    let v: [Float] = [1, 1]
    expectApprox(v.withUnsafeBufferPointer { noise.pixelNorm($0.baseAddress!, count: 2) }, 0.125.squareRoot())
    let x = Tensor(shape: [3], values: [-5, 0, 7])
    noise.clampToPixelRange(x)
    #expect(x.toArray() == [-2, 0, 2])
  }

  @Test func polarNormalsHaveUnitVariance() {
    var s = RandomKey(seed: 7).stream()
    var v = [Float](repeating: 0, count: 40_001)
    v.withUnsafeMutableBufferPointer { s.fillNormalPolar($0) }
    let mean = v.reduce(0.0) { $0 + Double($1) } / Double(v.count)
    let variance = v.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(v.count) - mean * mean
    expectApprox(mean, 0, abs: 0.02)
    expectApprox(variance, 1, abs: 0.03)
  }

  @Test func radiusGridAndMetricNames() {
    #expect(SmoothedCertification.radiusGrid(step: 0.25, max: 1) == [0, 0.25, 0.5, 0.75, 1])
    #expect(SmoothedCertification.radiusName(0) == "0" && SmoothedCertification.radiusName(0.25) == "0.25")
    let outcomes: [SmoothedCertification.Outcome] = [
      .init(label: 0, prediction: 0, radius: 0.6, predicted: 0),
      .init(label: 1, prediction: 1, radius: 0.2, predicted: 1),
      .init(label: 2, prediction: nil, radius: 0, predicted: nil),
      .init(label: 0, prediction: 1, radius: 0.9, predicted: 1),
    ]
    let m = SmoothedCertification.metrics(outcomes, radii: [0, 0.25, 0.5])
    #expect(m["certified_accuracy_at_l2_radius_0"] == 50)
    #expect(m["certified_accuracy_at_l2_radius_0.25"] == 25)
    #expect(m["certified_accuracy_at_l2_radius_0.5"] == 25)
    expectApprox(m["average_certified_radius"]!, 0.2)
    #expect(m["certify_abstention_rate"] == 25 && m["predict_abstention_rate"] == 25 && m["predict_accuracy"] == 50)
  }

  /// A network that predicts class 2 whatever the input: every noisy draw votes for it, so the radius is
  /// σ·Φ⁻¹(α^{1/n}) (all-correct counts) for examples of class 2 and they are the only correct ones.
  @Test func aConstantClassifierIsCertifiedAtTheLargestRadius() throws {
    let trainer = try blobTrainer(seed: 0, hooks: NoHooks(), epochs: 0)
    for p in trainer.model.parameters { p.value.fill(0) }
    trainer.model.parameters.last!.value[2] = 1  // head bias
    let hook = SmoothedCertification(
      noise: PixelNoise(sigma: 0.5, normalization: normalization), n0: 10, n: 200, alpha: 0.001, maxExamples: 9,
      batch: 64, radii: [0, 0.5, 1], key: RandomKey(seed: 3))
    var output = JobOutput()
    try hook.finish(trainer, output: &output)
    let expected = 0.5 * Statistics.normalQuantile(pow(0.001, 1 / 200.0))
    #expect(hook.outcomes.count == 9)
    for o in hook.outcomes {
      #expect(o.prediction == 2 && o.predicted == 2)
      expectApprox(o.radius, expected, abs: 1e-9)
    }
    let correct = 100 * Double(hook.outcomes.filter { $0.label == 2 }.count) / 9
    #expect(output.overall["certified_accuracy_at_l2_radius_0"] == correct)
    #expect(output.overall["certified_accuracy_at_l2_radius_1"] == (expected >= 1 ? correct : 0))
    #expect(output.series["certified_accuracy"]?["radius"]?.first == 0)
  }

  /// Certifying twice, or with another batch size, gives the same outcomes (per-example streams).
  @Test func certificationIsDeterministicAndBatchIndependent() throws {
    let trainer = try blobTrainer(seed: 1, hooks: NoHooks(), epochs: 2)
    try trainer.run()
    func outcomes(batch: Int) throws -> [SmoothedCertification.Outcome] {
      let hook = SmoothedCertification(
        noise: PixelNoise(sigma: 0.25, normalization: .unit(channels: 1)), n0: 20, n: 150, alpha: 0.01,
        maxExamples: 12, batch: batch, radii: [0], key: RandomKey(seed: 4))
      var output = JobOutput()
      try hook.finish(trainer, output: &output)
      return hook.outcomes
    }
    let a = try outcomes(batch: 1000)
    #expect(a == (try outcomes(batch: 1000)))
    #expect(a == (try outcomes(batch: 7)))
    #expect(a.contains { $0.prediction != nil && $0.radius > 0 })
  }

  /// The gradient of SmoothMix's loss (CE + masked KL to the calibrated target, through the
  /// non-detached p̂) against finite differences of its value.
  @Test func smoothMixLossGradientMatchesFiniteDifferences() {
    let m = 2
    let b = 3
    let c = 4
    let z = testMatrix(rows: 2 * m * b, cols: c, seed: 11, scale: 1.5)
    // Labels: the arg-max of p̂ for examples 0 and 1 (mask on), another class for example 2 (mask off).
    var labels: [Int] = []
    for j in 0..<b {
      var pHat = [Double](repeating: 0, count: c)
      for i in 0..<m {
        let r = i * b + j
        let lse = Kernels.logSumExp(z.pointer + r * c, cols: c)
        for k in 0..<c { pHat[k] += exp(Double(z[r * c + k]) - lse) }
      }
      let best = pHat.indices.max { pHat[$0] < pHat[$1] }!
      labels.append(j < 2 ? best : (best + 1) % c)
    }
    let lambdas = [0.1, 0.4, 0.3]
    let gradient = Tensor(shape: [0])
    let averaged = Tensor(shape: [0])
    let value = SmoothMixTraining.loss(
      logits: z, labels: labels, copies: m, lambdas: lambdas, eta: 2.5, gradient: gradient, averaged: averaged)
    #expect(value.isFinite && value > 0)
    let analytic = gradient.toArray()
    let scratch = Tensor(shape: [0])
    expectGradientMatchesFiniteDifferences(z, analytic: analytic, step: 1e-3, abs: 1e-5, rel: 1e-3) {
      SmoothMixTraining.loss(
        logits: $0, labels: labels, copies: m, lambdas: lambdas, eta: 2.5, gradient: scratch, averaged: averaged)
    }
    // With η = 0 the loss is the plain CE over the m·b clean rows.
    let ce = SmoothMixTraining.loss(
      logits: z, labels: labels, copies: m, lambdas: lambdas, eta: 0, gradient: scratch, averaged: averaged)
    var expected = 0.0
    for r in 0..<(m * b) {
      expected += Kernels.logSumExp(z.pointer + r * c, cols: c) - Double(z[r * c + labels[r % b]])
    }
    expectApprox(ce, expected / Double(m * b), abs: 1e-9)
  }

  /// The attack's input gradient of Σ −log F(x)_y (through the network, summed over the m noises).
  /// An MLP 16→8→3 with input gradients, a SmoothMix hook (m = 2, σ = 0.5) with fixed noises for a batch
  /// of two, and that batch x.
  func attackFixture(steps: Int, stepSize: Double, scale: Float) throws -> (Classifier, SmoothMixTraining, Tensor) {
    let model = try ModelZoo.make("mlp", inputShape: [4, 4, 1], classes: 3, widths: [8])
    model.initialize(.torchDefault, key: RandomKey(seed: 2))
    model.needsInputGradient = true
    let hook = SmoothMixTraining(
      noise: PixelNoise(sigma: 0.5, normalization: normalization), copies: 2, steps: steps, stepSize: stepSize,
      eta: 1, mixStep: 0, warmup: 1, key: RandomKey(seed: 0))
    let x = Tensor(shape: [2, 4, 4, 1], values: testMatrix(rows: 2, cols: 16, seed: 5, scale: scale).toArray())
    hook.deltas.resize([4, 4, 4, 1])
    var s = RandomKey(seed: 9).stream()
    hook.noise.fillNoise(hook.deltas, stream: &s)
    return (model, hook, x)
  }

  @Test func smoothedNLLInputGradientMatchesFiniteDifferences() throws {
    let (model, hook, x) = try attackFixture(steps: 1, stepSize: 1, scale: 2)
    let labels = [0, 2]
    _ = hook.smoothedNLLGradient(model, x, labels: labels)
    let analytic = hook.gradient.toArray()
    expectGradientMatchesFiniteDifferences(x, analytic: analytic, step: 1e-2, abs: 1e-3, rel: 2e-2) {
      hook.smoothedNLLGradient(model, $0, labels: labels)
    }
  }

  @Test func gaussianAndSmoothMixTrainEndToEndDeterministically() throws {
    func run(_ make: () -> TrainingHooks) throws -> Trainer {
      let trainer = try blobTrainer(seed: 5, hooks: make(), epochs: 2)
      try trainer.run()
      return trainer
    }
    let noise = PixelNoise(sigma: 0.25, normalization: .unit(channels: 1))
    let gaussian = { GaussianNoiseTraining(noise: noise, copies: 2, key: RandomKey(seed: 1)) }
    let smoothMix = {
      SmoothMixTraining(
        noise: noise, copies: 2, steps: 2, stepSize: 0.5, eta: 1, mixStep: 1, warmup: 2, key: RandomKey(seed: 1))
    }
    for make in [gaussian, smoothMix] as [() -> TrainingHooks] {
      let a = try run(make)
      let b = try run(make)
      #expect(a.curves == b.curves)
      #expect(a.curves["train_loss"]!.allSatisfy { $0.isFinite })
      #expect(a.curves["test_error"]!.last! < 50)  // the blobs are separable
    }
  }

  @Test func smoothMixPairStaysInThePixelRangeAndStartsAtTheInputWithMixStepZero() throws {
    let (model, hook, x) = try attackFixture(steps: 3, stepSize: 0.5, scale: 1.5)
    hook.attack(model, x, labels: [0, 1], epoch: 0)
    #expect(hook.start.toArray() == x.toArray())
    #expect(hook.adv.toArray().allSatisfy { $0 >= -2 && $0 <= 2 })
    // Each step moves at most α in pixel ℓ2: ‖x₁ − x‖ ≤ T·α.
    let difference = zip(hook.adv.toArray(), x.toArray()).map { $0 - $1 }
    let norm = difference.withUnsafeBufferPointer { hook.noise.pixelNorm($0.baseAddress!, count: 16) }
    #expect(norm > 0 && norm <= 1.5 + 1e-4)
  }
}

@Suite("Set-valued prediction")
struct SetValuedPredictionTests {
  @Test func thresholdSetsCountMissesAndSizes() {
    let scores: [[Double]] = [[0.9, 0.05, 0.05], [0.4, 0.35, 0.25]]
    let (error, size) = SetValuedPrediction.thresholdSets(scores, labels: [0, 1], threshold: 0.3)
    #expect(error == 0 && size == 1.5)
    let (error2, size2) = SetValuedPrediction.thresholdSets(scores, labels: [0, 1], threshold: 0.4)
    #expect(error2 == 50 && size2 == 1)
  }

  @Test func bothRulesReportErrorAndSizeAgainstK() throws {
    var outputs: [JobOutput] = []
    for averageK in [true, false] {
      let validation = BlobSource(count: 45, classes: 3, seed: 7)
      let hook = SetValuedPrediction(averageK: averageK, kMax: 3, validation: averageK ? validation : nil)
      let trainer = try blobTrainer(seed: 2, hooks: hook, epochs: 2, validation: validation)
      try trainer.run()
      var output = JobOutput()
      try hook.finish(trainer, output: &output)
      outputs.append(output)
      let errors = (1...3).map { output.overall["set_error_at_k_\($0)"]! }
      #expect(errors[0] >= errors[1] && errors[1] >= errors[2])
      #expect(errors[2] == 0)  // k = C: every label is in the set
      if !averageK {
        #expect(output.overall["mean_set_size_at_k_2"] == 2)
        expectApprox(errors[0], trainer.curves["test_error"]!.last!, abs: 1e-9)
      } else {
        expectApprox(output.overall["mean_set_size_at_k_1"]!, 1, abs: 0.35)
      }
    }
  }
}

@Suite("Ambiguity oracle")
struct AmbiguityOracleTests {
  @Test func closedFormsOfTheTwoTypeMixture() {
    // m = 4, d = 1: types (½, 3) and (½, 5). k = 2: top-K ½·(1/3) + ½·(3/5); average-K fills the 3-group
    // (1.5 slots), then 0.5 slot on the 5-group: ½ − 0.5/5.
    let types: [(weight: Double, groupSize: Int)] = [(0.5, 3), (0.5, 5)]
    expectApprox(AmbiguityOracle.topKError(types, k: 2), 0.5 / 3 + 0.3)
    expectApprox(AmbiguityOracle.averageKError(types, k: 2), 0.4)
    // k = m: average-K covers every group; top-K errs ½·d/(m + d).
    expectApprox(AmbiguityOracle.averageKError(types, k: 4), 0, abs: 1e-12)
    expectApprox(AmbiguityOracle.topKError(types, k: 4), 0.5 * 1 / 5)
  }

  @Test func gapGrowsWithSpreadAndThePlugInEstimateIsClose() throws {
    let hook = AmbiguityOracle(classes: 10, meanGroupSize: 5, k: 5, samples: 4000, key: RandomKey(seed: 1))
    #expect(hook.spreads == [0, 1, 2, 3, 4])
    let trainer = try blobTrainer(seed: 0, hooks: NoHooks(), epochs: 0)
    var output = JobOutput()
    try hook.finish(trainer, output: &output)
    let gaps = hook.spreads.map { output.overall["synthetic_gap_at_spread_\($0)"]! }
    expectApprox(gaps[0], 0, abs: 1e-9)
    for i in 1..<gaps.count { #expect(gaps[i] > gaps[i - 1]) }
    for d in hook.spreads {
      let bayes = output.overall["synthetic_average_k_error_at_spread_\(d)"]!
      let plugin = output.overall["synthetic_plugin_average_k_error_at_spread_\(d)"]!
      #expect(Swift.abs(plugin - bayes) < 3, "spread \(d): plug-in \(plugin) vs Bayes \(bayes)")
      #expect(bayes <= output.overall["synthetic_top_k_error_at_spread_\(d)"]! + 1e-9)
    }
  }
}
