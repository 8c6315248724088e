import Datasets
import Engine
import Foundation
import NN
import Testing
import _ReplicateTestSupport

@testable import Methods

@Suite("ℓ∞-dist net")
struct LinfDistNetTests {
  /// A layer's input and weight gradients (negated output with bias, and mean shift) against finite
  /// differences of Σ c ⊙ y.
  @Test(arguments: [false, true])
  func layerGradientsMatchFiniteDifferences(last: Bool) {
    let layer = LpDistLinear(5, 3, meanShift: !last, bias: last, negate: last)
    layer.initialize(.torchDefault, key: RandomKey(seed: 1))
    layer.order = .finite(6)
    if let b = layer.bias { b.value.copy(from: Tensor(shape: [3], values: [0.1, -0.2, 0.3])) }
    let x = testMatrix(rows: 4, cols: 5, seed: 3)
    let c = testMatrix(rows: 4, cols: 3, seed: 4)
    func objective(_ x: Tensor) -> Double {
      let y = layer.forward(x, training: true)
      return (0..<y.count).reduce(0.0) { $0 + Double(y[$1]) * Double(c[$1]) }
    }
    _ = objective(x)
    let dx = layer.backward(c).toArray()
    let dw = layer.weight.grad.toArray()
    expectGradientMatchesFiniteDifferences(x, analytic: dx, step: 1e-2, abs: 2e-3, rel: 1e-2) { objective($0) }
    expectGradientMatchesFiniteDifferences(layer.weight.value, analytic: dw, step: 1e-2, abs: 2e-3, rel: 1e-2) {
      _ in objective(x)
    }
  }

  @Test func identityInitialisationAndModelShape() throws {
    let model = try ModelZoo.make("linf-dist", inputShape: [2, 2, 1], classes: 3, widths: [8, 8])
    model.initialize(.torchDefault, key: RandomKey(seed: 0))
    let layers = ModelZoo.distanceLayers(of: model)
    #expect(layers.count == 3)
    #expect(layers[0].weight.value[0 * 4 + 0] == -10 && layers[0].weight.value[5 * 4 + 1] == -10)
    #expect(layers[2].bias != nil && layers[2].negate && layers[0].runningMean != nil)
    let logits = model.forward(Tensor(shape: [2, 2, 2, 1], repeating: 0.5), training: false)
    #expect(logits.shape == [2, 3])
  }

  /// The interval bounds (p = ∞, evaluation mode) contain the outputs of points drawn from the box.
  @Test func intervalBoundsContainSampledOutputs() throws {
    let model = try ModelZoo.make("linf-dist", inputShape: [3, 3, 1], classes: 4, widths: [6, 6])
    model.initialize(.torchDefault, key: RandomKey(seed: 2))
    let layers = ModelZoo.distanceLayers(of: model)
    for l in layers { l.order = .infinity }
    _ = model.forward(
      Tensor(shape: [8, 3, 3, 1], values: testMatrix(rows: 8, cols: 9, seed: 8).toArray()), training: true)
    let x = testMatrix(rows: 1, cols: 9, seed: 9)
    let eps: Float = 0.3
    var lower = Tensor(shape: [1, 9], values: x.toArray().map { $0 - eps })
    var upper = Tensor(shape: [1, 9], values: x.toArray().map { $0 + eps })
    for l in layers {
      let (a, b) = (Tensor(shape: [0]), Tensor(shape: [0]))
      l.intervalBounds(lower: lower, upper: upper, outLower: a, outUpper: b)
      (lower, upper) = (a, b)
    }
    var s = RandomKey(seed: 5).stream()
    for _ in 0..<200 {
      let point = Tensor(shape: [1, 3, 3, 1], values: x.toArray().map { $0 + eps * (2 * s.nextFloat() - 1) })
      let z = model.forward(point, training: false)
      for k in 0..<4 { #expect(z[k] >= lower[k] - 1e-4 && z[k] <= upper[k] + 1e-4) }
    }
  }

  @Test func scheduleRaisesPToInfinity() {
    let hook = LinfDistTraining(
      objective: LinfDistObjective(eps: 1), pStart: 8, pEnd: 1000, pEpochs: (1, 3), lr: 0.03, scalarLR: 0.006,
      epsTest: 0.1, radii: [0, 0.1], maxExamples: 0, normalization: .unit(channels: 1))
    #expect(hook.schedule(batch: 5, perEpoch: 10).order == .finite(8))
    let mid = hook.schedule(batch: 20, perEpoch: 10)
    #expect(mid.ratio == 0.5)
    expectApprox({ if case .finite(let p) = mid.order { return p } else { return 0 } }(), 8 * pow(125, 0.5))
    #expect(hook.schedule(batch: 30, perEpoch: 10).order == .infinity)
  }

  /// Training on the blobs lowers the loss, ends at p = ∞, and certified accuracy is at most the clean
  /// accuracy and falls with ε; an example certified at ε keeps its prediction on sampled points of the box.
  /// Pixel range [0, 1] = [−5, 5] in normalised units, so the blobs lie inside it; pixel ε 0.03 = 0.3 normalised.
  let normalization = Normalization(mean: [0.5], std: [0.1])

  @Test(arguments: ["mixture", "hinge", "hinge-v1"])
  func trainsAndCertifies(objective: String) throws {
    let model = try ModelZoo.make("linf-dist", inputShape: [4, 4, 1], classes: 3, widths: [12, 12])
    let key = RandomKey(seed: 4)
    model.initialize(.torchDefault, key: key.split("init"))
    let hinge = objective != "mixture"
    let hook = LinfDistTraining(
      objective: LinfDistObjective(
        eps: 0.3, clip: 1, lam0: hinge ? 0 : 0.05, lamEnd: hinge ? 0 : 0.0002,
        v1Mix: objective == "hinge-v1" ? 0.25 : nil),
      pStart: 8, pEnd: 1000, pEpochs: (0, 2), lr: 0.03, scalarLR: 0.006, epsTest: 0.01, radii: [0, 0.01, 0.03, 0.1],
      maxExamples: 30, normalization: normalization, testEvery: 5, pgdSteps: 10)
    let trainer = Trainer(
      model: model, loss: CrossEntropyLoss(), optimizer: SGD(learningRate: 0.1),
      schedule: .constant(base: 0.1, warmup: 0),
      train: BlobSource(count: 96, classes: 3, seed: 1), test: BlobSource(count: 60, classes: 3, seed: 2), epochs: 12,
      batchSize: 16, augment: false, hooks: hook, key: key)
    try trainer.run()
    let losses = trainer.curves["train_loss"]!
    #expect(losses.allSatisfy { $0.isFinite } && losses.last! < losses.first!)
    // The test set is evaluated after epochs 5, 10 and the last (12) only.
    #expect(trainer.curves["test_error"]!.indices.filter { trainer.curves["test_error"]![$0].isFinite } == [4, 9, 11])
    var output = JobOutput()
    try hook.finish(trainer, output: &output)
    let m = output.overall
    #expect(ModelZoo.distanceLayers(of: model).allSatisfy { $0.order == .infinity })
    #expect(m["certified_accuracy_at_linf_radius_0"]! <= m["clean_accuracy"]!)
    #expect(m["certified_accuracy_at_linf_radius_0.01"]! >= m["certified_accuracy_at_linf_radius_0.03"]!)
    #expect(m["certified_accuracy_at_linf_radius_0.03"]! >= m["certified_accuracy_at_linf_radius_0.1"]!)
    #expect(m["certified_accuracy"] == m["certified_accuracy_at_linf_radius_0.01"])
    // A certified example cannot be attacked.
    #expect(m["certified_accuracy"]! <= m["pgd_accuracy"]!)
    #expect(m.filter { $0.key.contains("accuracy") }.values.allSatisfy { $0 >= 0 && $0 <= 100 })
    #expect(m["clean_accuracy"]! > 50)
    // Soundness on one certified example.
    let x = Tensor(shape: [0])
    var labels: [Int] = []
    var none: RandomStream? = nil
    trainer.test.fill(Array(0..<30)[...], into: x, labels: &labels, augment: &none)
    let ok = hook.certify(model, inputs: x, labels: labels, eps: 0.03)
    if let i = ok.firstIndex(of: true) {
      var s = RandomKey(seed: 6).stream()
      for _ in 0..<50 {
        let p = Tensor(shape: [1, 4, 4, 1], values: (0..<16).map { x[i * 16 + $0] + 0.3 * (2 * s.nextFloat() - 1) })
        let z = model.forward(p, training: false)
        #expect((0..<3).allSatisfy { $0 == labels[i] || z[$0] < z[labels[i]] })
      }
    }
  }

  /// PGD on a two-neuron net with a known answer: logits −‖x − w_c‖_∞ with w₀ = (0, 0), w₁ = (1, 0), and
  /// x = (0.45, 0) of class 0 (distances 0.45 and 0.55: certified radius 0.05). At ε = 0.1 the attack
  /// moves x₀ past 0.5 and flips the class; at ε = 0.03 nothing can, and the example is certified.
  @Test(arguments: [(0.1, 0), (0.03, 1)])
  func pgdFlipsExactlyWhatCertificationCannotCover(eps: Double, survivors: Int) throws {
    let model = try ModelZoo.make("linf-dist", inputShape: [1, 2, 1], classes: 2, widths: [])
    let head = ModelZoo.distanceLayers(of: model)[0]
    head.weight.value.copy(from: Tensor(shape: [2, 2], values: [0, 0, 1, 0]))
    head.bias!.value.fill(0)
    head.order = .infinity
    let hook = LinfDistTraining(
      objective: LinfDistObjective(eps: 1), pStart: 8, pEnd: 1000, pEpochs: (0, 1), lr: 0.03, scalarLR: 0.006,
      epsTest: eps, radii: [eps], maxExamples: 0, normalization: .unit(channels: 1), pgdSteps: 20)
    let x = Tensor(shape: [1, 1, 2, 1], values: [0.45, 0])
    var stream = RandomKey(seed: 1).stream()
    #expect(hook.pgdCorrect(model, inputs: x, labels: [0], stream: &stream) == survivors)
    #expect(hook.certify(model, inputs: x, labels: [0], eps: eps) == [survivors == 1])
  }
}
