import Datasets
import Engine
import Foundation
import NN

/// The ℓ∞-dist net's `mixture` training objective on the last layer's outputs.
///
/// Inputs are the final ℓ∞-dist layer's outputs d [N, K] (distance plus bias) and targets t:
/// 1. logits = −scalar·d (the learnable `scalar` of `MLPModel(scalar=True)`);
/// 2. worst-case margin for j ≠ t_i: m_ij = (d_{i,t_i} − d_ij + 2·eps)/(2·eps), and m_{i,t_i} = 0
///    (MLPModel's training branch, which bounds the outputs by ±eps; eps in normalised input units);
/// 3. lam = lam0·exp(ln(lam_end/lam0)·ratio), ratio the schedule's progress in [0, 1];
/// 4. loss = mean_i max_j clamp(m_ij, 0, clip) + lam·CE(logits, t)   (unweighted mean).
/// The hinge uses the **unscaled** outputs, the CE term the **scaled** logits. Subgradients:
/// `max(dim=1)` sends the gradient to the first maximal index, and the clamp passes it for
/// 0 ≤ m < clip. At m = clip exactly (all-equal outputs) the official-code vectors carry no hinge
/// gradient (linf-dist-objective-005), although FORMAT.md describes PyTorch's clamp as passing it at
/// the bound; this follows the vectors.
/// ``loss(logits:targets:gradient:)`` takes d as `logits`; ``scalarGradient`` is ∂loss/∂scalar.
///
/// With ``v1Mix`` set, the objective is instead the repository's `hinge(mix)` (the ℓ∞-dist net v1 loss):
/// loss = (1 − mix)·mean_i max_j relu(m_ij) + mix·mean_{i,j} relu(m_ij) (the second mean over all N·K
/// entries, the target's 0 included), unclipped, with no cross-entropy term.
///
/// **References:**
/// - zbh2047/L_inf-dist-net-v2 `ell_inf_models.py` `MLPModel.forward`, `main.py` `mixture`
///   (`lam0=0.1`, `lam_end=0.001`, `clip=1` defaults; `update(ratio)`) and `hinge` (`mix=0.25`).
public final class LinfDistObjective: ClassificationLoss {
  /// Ignored: the objective is unweighted.
  public var classWeights: [Float]?
  /// The ℓ∞ radius ε of the worst-case margin.
  public var eps: Double
  /// The hinge's clip.
  public let clip: Double
  /// The CE weight's start and end.
  public let lam0: Double, lamEnd: Double
  /// The schedule's progress in [0, 1] (set by the trainer).
  public var ratio: Double
  /// The output scale (`scalar`).
  public var scalar: Double
  /// ∂loss/∂scalar of the last call.
  public private(set) var scalarGradient = 0.0
  /// The last call's worst-case margins m [N·K] (before the clamp), row-major.
  public private(set) var worstMargins: [Double] = []
  /// The v1 hinge's mix (`hinge(mix)`), or nil for the v2 `mixture` objective.
  public let v1Mix: Double?
  private var row = SoftmaxRow()

  /// Creates the objective (the v1 hinge when `v1Mix` is given; `clip` and λ are then unused).
  public init(
    eps: Double, clip: Double = 1, lam0: Double = 0.1, lamEnd: Double = 0.001, ratio: Double = 0, scalar: Double = 1,
    v1Mix: Double? = nil
  ) {
    precondition(eps > 0, "eps must be positive")
    self.v1Mix = v1Mix
    self.eps = eps
    self.clip = clip
    self.lam0 = lam0
    self.lamEnd = lamEnd
    self.ratio = ratio
    self.scalar = scalar
  }

  /// The CE weight lam0·exp(ln(lam_end/lam0)·ratio).
  /// (Constant when lam0 = lam_end, also 0: the hinge-only objective.)
  public var lam: Double { lam0 == lamEnd ? lam0 : lam0 * exp(log(lamEnd / lam0) * ratio) }

  public func loss(logits dist: Tensor, targets: [Int], gradient: Tensor) -> Double {
    let n = dist.rows
    let k = dist.rowSize
    precondition(targets.count == n, "\(targets.count) targets for \(n) rows")
    gradient.resize(dist.shape)
    row.resize(k)
    worstMargins.removeAll(keepingCapacity: true)
    if let mix = v1Mix {
      return v1Hinge(dist, targets: targets, gradient: gradient, mix: mix)
    }
    let inv = n > 0 ? 1 / Double(n) : 0
    let lam = self.lam
    var hinge = 0.0
    var ce = 0.0
    var dScalar = 0.0
    for i in 0..<n {
      let t = targets[i]
      let d = dist.pointer + i * k
      let g = gradient.pointer + i * k
      // Cross-entropy of −scalar·d: ∂/∂d = −scalar·(p − e_t), ∂/∂scalar = Σ_j (p − e_t)_j·(−d_j).
      for j in 0..<k { row.logits[j] = -scalar * Double(d[j]) }
      row.update()
      ce += row.nll(t)
      for j in 0..<k {
        let r = row.probabilities[j] - (j == t ? 1 : 0)
        dScalar -= r * Double(d[j])
        g[j] = Float(inv * lam * -scalar * r)
      }
      // Hinge on the worst-case margin: first maximal index of clamp(m, 0, clip).
      var best = 0
      var bestValue = -Double.infinity
      for j in 0..<k {
        let m = j == t ? 0 : (Double(d[t]) - Double(d[j]) + 2 * eps) / (2 * eps)
        worstMargins.append(m)
        let clamped = Swift.min(Swift.max(m, 0), clip)
        if clamped > bestValue { (best, bestValue) = (j, clamped) }
      }
      hinge += bestValue
      let m = worstMargins[i * k + best]
      if best != t && m >= 0 && m < clip {
        let s = inv / (2 * eps)
        g[t] = Float(Double(g[t]) + s)
        g[best] = Float(Double(g[best]) - s)
      }
    }
    scalarGradient = inv * lam * dScalar
    return inv * hinge + lam * inv * ce
  }

  /// `hinge(mix)`: (1 − mix)·mean_i max_j relu(m_ij) + mix·mean_{i,j} relu(m_ij); the max's subgradient
  /// goes to the first maximal index, relu passes it for m ≥ 0, and the target's m = 0 is a constant.
  private func v1Hinge(_ dist: Tensor, targets: [Int], gradient: Tensor, mix: Double) -> Double {
    let n = dist.rows
    let k = dist.rowSize
    gradient.fill(0)
    scalarGradient = 0
    let (maxWeight, meanWeight) = ((1 - mix) / Double(n), mix / Double(n * k))
    let s = 1 / (2 * eps)
    var total = 0.0
    for i in 0..<n {
      let t = targets[i]
      let d = dist.pointer + i * k
      let g = gradient.pointer + i * k
      var best = 0
      var bestValue = -Double.infinity
      for j in 0..<k {
        let m = j == t ? 0 : (Double(d[t]) - Double(d[j]) + 2 * eps) / (2 * eps)
        worstMargins.append(m)
        let r = Swift.max(m, 0)
        if r > bestValue { (best, bestValue) = (j, r) }
        total += meanWeight * r
        if j != t && m >= 0 {
          g[t] = Float(Double(g[t]) + meanWeight * s)
          g[j] = Float(Double(g[j]) - meanWeight * s)
        }
      }
      total += maxWeight * bestValue
      if best != t && worstMargins[i * k + best] >= 0 {
        g[t] = Float(Double(g[t]) + maxWeight * s)
        g[best] = Float(Double(g[best]) - maxWeight * s)
      }
    }
    return total
  }
}

/// Training of the ℓ∞-dist net v2 (Zhang, Jiang, He, Wang, ICLR 2022) as a custom step, and its exact
/// certification after training.
///
/// Per mini-batch, with t the global batch counter and n_b batches per epoch:
/// 1. r = clip((t − e_p_start·n_b)/((e_p_end − e_p_start)·n_b), 0, 1) (1 when e_p_end ≤ e_p_start);
///    p = p_start·(p_end/p_start)^r for every ℓp-dist layer, and p = ∞ once r = 1 (p_end ≥ 100);
/// 2. the objective ``LinfDistObjective`` at ratio r (λ = lam0·(lam_end/lam0)^r) with ε = eps_train/s
///    (normalised units) on the distances d = −logits: clipped hinge on the worst-case margin plus
///    λ·CE(s·z) (`objective: mixture`), the clipped hinge alone (`objective: hinge`, λ = 0: the paper's
///    ablation), or the repository's v1 loss `hinge(mix)` (`objective: hinge-v1`, unclipped, `mix` 0.25);
/// 3. Adam (β = (0.9, 0.99), ε = 1e−10, no weight decay) with a per-batch cosine learning rate
///    lr_t = ½·lr₀·(1 + cos(π·t/T)), T = epochs·n_b; the output scale s has its own lr (`scalar_lr`).
/// The trainer's SGD and epoch schedule are not used (manifest `train.optimizer.lr` is ignored).
/// After training every layer gets p = ∞ and the first `max_examples` test examples (all when 0) are
/// certified at ε = `eps_step`, 2·`eps_step`, … ≤ `eps_max` (pixel units) by interval bounds
/// (``LpDistLinear/intervalBounds(lower:upper:outLower:outUpper:)``) over the box
/// [max(x − ε, 0), min(x + ε, 1)]: certified iff every other class's upper logit bound is below the
/// true class's lower bound; the same examples are attacked by ``pgdCorrect(_:inputs:labels:stream:)``
/// (`pgd_steps` steps, 0 = none). Metrics (percent): `certified_accuracy_at_linf_radius_<ε>`,
/// `certified_accuracy` (at `eps_test`), `clean_accuracy` (p = ∞), `pgd_accuracy` (at `eps_test`).
/// The test set is evaluated every `test_every` epochs and after the last (`main.py` tests every 5
/// epochs), since evaluating at a finite p costs as much as a training epoch on five times the data.
/// Input normalisation: the official net divides by one scalar std; here the per-channel std of the
/// pipeline is used for the box (exact), and ε_train/mean(s_c) for the training margin (exact with one
/// channel, Fashion-MNIST/MNIST).
///
/// **References:**
/// - zbh2047/L_inf-dist-net-v2 `main.py` (`parse_function_call`, the p/λ/ε schedules, `train`,
///   `certified_test`), `ell_inf_models.py` `MLPModel`, `command/*.sh` (lr 0.03, scalar lr 0.006,
///   p 8 → 1000, Adam β₂ 0.99, ε 1e−10).
public final class LinfDistTraining: TrainingHooks {
  /// The registry entry: `linf-dist` with the MNIST ε = 0.1 command's values.
  public static let definition = ComponentDefinition(
    name: "linf-dist", version: 1,
    parameters: [
      "objective": .text("mixture"), "eps_train": .number(0.3), "eps_test": .number(0.1), "p_start": .number(8),
      "p_end": .number(1000), "p_start_epoch": .number(0), "p_end_epoch": .number(400), "lam0": .number(0.05),
      "lam_end": .number(0.0002), "lr": .number(0.03), "scalar_lr": .number(0.006), "eps_step": .number(0.05),
      "eps_max": .number(0.3), "max_examples": .number(0), "mix": .number(0.25), "test_every": .number(5),
      "pgd_steps": .number(100),
    ],
    choices: ["objective": ["mixture", "hinge", "hinge-v1"]]
  ) { spec, context in
    guard context.spec.model.name == "linf-dist" else {
      throw JobFailure(.badSpec, "component 'linf-dist' needs model 'linf-dist', not '\(context.spec.model.name)'")
    }
    let form = try spec.text("objective")
    let std = Double(context.normalization.std.reduce(0, +)) / Double(context.normalization.std.count)
    let epsTrain = try spec.number("eps_train", { $0 > 0 })
    let mixture = form == "mixture"
    let lam0 = mixture ? try spec.number("lam0", { $0 > 0 }) : 0
    let lamEnd = mixture ? try spec.number("lam_end", { $0 > 0 }) : 0
    let v1Mix = form == "hinge-v1" ? try spec.number("mix", { $0 >= 0 && $0 <= 1 }) : nil
    return LinfDistTraining(
      objective: LinfDistObjective(eps: epsTrain / std, clip: 1, lam0: lam0, lamEnd: lamEnd, v1Mix: v1Mix),
      pStart: try spec.number("p_start", { $0 >= 1 }), pEnd: try spec.number("p_end", { $0 >= 1 }),
      pEpochs: (try spec.number("p_start_epoch", { $0 >= 0 }), try spec.number("p_end_epoch", { $0 >= 0 })),
      lr: try spec.number("lr", { $0 > 0 }), scalarLR: try spec.number("scalar_lr", { $0 >= 0 }),
      epsTest: try spec.number("eps_test", { $0 > 0 }),
      radii: SmoothedCertification.radiusGrid(
        step: try spec.number("eps_step", { $0 > 0 }), max: try spec.number("eps_max", { $0 > 0 })),
      maxExamples: try spec.integer("max_examples"), normalization: context.normalization,
      testEvery: try spec.integer("test_every"), pgdSteps: try spec.integer("pgd_steps"),
      pgdKey: context.key.split("pgd"))
  }

  /// The objective (its ratio, scale and ε are updated per batch).
  public let objective: LinfDistObjective
  /// p schedule: start and end orders, start and end epochs.
  public let pStart: Double, pEnd: Double, pEpochs: (start: Double, end: Double)
  /// Peak learning rates of the weights and of the output scale.
  public let lr: Double, scalarLR: Double
  /// The test radius of `certified_accuracy` and the radii of the family (pixel units).
  public let epsTest: Double, radii: [Double]
  /// Test examples certified and attacked (0 = all).
  public let maxExamples: Int
  /// The test set is evaluated every `testEvery` epochs (and after the last).
  public let testEvery: Int
  /// PGD steps of the attack at `eps_test` (0 = no attack).
  public let pgdSteps: Int
  private let pgdKey: RandomKey
  private let normalization: Normalization
  private var adam: [ObjectIdentifier: (m: [Double], v: [Double])] = [:]
  private var scalarMoments = (m: 0.0, v: 0.0)
  private var adamSteps = 0
  private let distances = Tensor(shape: [0]), dDistances = Tensor(shape: [0]), dLogits = Tensor(shape: [0])

  /// Creates the hook.
  public init(
    objective: LinfDistObjective, pStart: Double, pEnd: Double, pEpochs: (Double, Double), lr: Double,
    scalarLR: Double, epsTest: Double, radii: [Double], maxExamples: Int, normalization: Normalization,
    testEvery: Int = 1, pgdSteps: Int = 0, pgdKey: RandomKey = RandomKey(seed: 0)
  ) {
    self.testEvery = Swift.max(testEvery, 1)
    self.pgdSteps = pgdSteps
    self.pgdKey = pgdKey
    self.objective = objective
    self.pStart = pStart
    self.pEnd = pEnd
    self.pEpochs = pEpochs
    self.lr = lr
    self.scalarLR = scalarLR
    self.epsTest = epsTest
    self.radii = radii
    self.maxExamples = maxExamples
    self.normalization = normalization
  }

  /// The progress ratio r and the order p at global batch t with n_b batches per epoch.
  public func schedule(batch t: Int, perEpoch nb: Int) -> (ratio: Double, order: DistanceOrder) {
    let (a, b) = pEpochs
    let ratio =
      b <= a ? 1 : Swift.min(1, Swift.max(0, (Double(t) - a * Double(nb)) / ((b - a) * Double(nb))))
    if ratio >= 1 && pEnd >= 100 { return (ratio, .infinity) }
    return (ratio, .finite(pStart * pow(pEnd / pStart, ratio)))
  }

  public func evaluatesTest(_ trainer: Trainer, epoch: Int) -> Bool { (epoch + 1) % testEvery == 0 }

  public func trainStep(_ trainer: Trainer, _ batch: TrainingBatch) throws -> StepOutcome? {
    let model = trainer.model
    let nb = (trainer.train.count + trainer.batchSize - 1) / trainer.batchSize
    let t = batch.epoch * nb + batch.step
    let (ratio, order) = schedule(batch: t, perEpoch: nb)
    for layer in ModelZoo.distanceLayers(of: model) { layer.order = order }
    objective.ratio = ratio
    let logits = model.forward(batch.inputs, training: true)
    distances.resize(logits.shape)
    for k in 0..<logits.count { distances[k] = -logits[k] }
    let value = objective.loss(logits: distances, targets: batch.labels, gradient: dDistances)
    guard value.isFinite else { return StepOutcome(loss: value, logits: logits) }
    dLogits.resize(logits.shape)
    for k in 0..<logits.count { dLogits[k] = -dDistances[k] }
    _ = model.backward(dLogits)
    let rate = 0.5 * (1 + cos(Double.pi * Double(t) / Double(Swift.max(trainer.epochs * nb, 1))))
    adamStep(model.parameters, lr: lr * rate, scalarLR: scalarLR * rate)
    return StepOutcome(loss: value, logits: logits)
  }

  /// One Adam step (β₁ 0.9, β₂ 0.99, ε 1e−10, bias-corrected, no weight decay) on the parameters and on
  /// the output scale s.
  func adamStep(_ parameters: [Parameter], lr: Double, scalarLR: Double) {
    let (b1, b2, eps) = (0.9, 0.99, 1e-10)
    adamSteps += 1
    let c1 = 1 - pow(b1, Double(adamSteps))
    let c2 = 1 - pow(b2, Double(adamSteps))
    for p in parameters where p.isTrainable {
      let id = ObjectIdentifier(p)
      var state =
        adam[id] ?? ([Double](repeating: 0, count: p.value.count), [Double](repeating: 0, count: p.value.count))
      adam[id] = nil
      for k in 0..<p.value.count {
        let g = Double(p.grad[k])
        state.m[k] = b1 * state.m[k] + (1 - b1) * g
        state.v[k] = b2 * state.v[k] + (1 - b2) * g * g
        p.value[k] -= Float(lr * (state.m[k] / c1) / ((state.v[k] / c2).squareRoot() + eps))
      }
      adam[id] = state
    }
    let g = objective.scalarGradient
    scalarMoments.m = b1 * scalarMoments.m + (1 - b1) * g
    scalarMoments.v = b2 * scalarMoments.v + (1 - b2) * g * g
    objective.scalar -= scalarLR * (scalarMoments.m / c1) / ((scalarMoments.v / c2).squareRoot() + eps)
  }

  /// Whether every class other than `label` has an upper logit bound below the label's lower bound.
  static func certified(lower: UnsafePointer<Float>, upper: UnsafePointer<Float>, classes: Int, label: Int) -> Bool {
    (0..<classes).allSatisfy { $0 == label || upper[$0] < lower[label] }
  }

  /// Per example, whether it is certified at pixel radius ε ([N] of `inputs` [N, …], normalised).
  public func certify(_ model: Classifier, inputs: Tensor, labels: [Int], eps: Double) -> [Bool] {
    let layers = ModelZoo.distanceLayers(of: model)
    let n = inputs.rows
    let d = inputs.rowSize
    let c = normalization.std.count
    var lower = Tensor(shape: [n, d])
    var upper = Tensor(shape: [n, d])
    for k in 0..<(n * d) {
      let ch = k % c
      let e = Float(eps) / normalization.std[ch]
      let low = (0 - normalization.mean[ch]) / normalization.std[ch]
      let high = (1 - normalization.mean[ch]) / normalization.std[ch]
      lower[k] = Swift.max(inputs[k] - e, low)
      upper[k] = Swift.min(inputs[k] + e, high)
    }
    for layer in layers {
      let nextLower = Tensor(shape: [0])
      let nextUpper = Tensor(shape: [0])
      layer.intervalBounds(lower: lower, upper: upper, outLower: nextLower, outUpper: nextUpper)
      (lower, upper) = (nextLower, nextUpper)
    }
    let k = model.classes
    return (0..<n).map {
      Self.certified(lower: lower.pointer + $0 * k, upper: upper.pointer + $0 * k, classes: k, label: labels[$0])
    }
  }

  /// The number of examples of `inputs` (normalised, [N, …]) still classified correctly after the
  /// official PGD attack at ℓ∞ radius `eps_test` in the evaluation-mode network: a random start
  /// x₀ + clamp(N(0, (ε/4)²), −ε/2, ε/2), then `pgdSteps` steps x ← Π(x + ε/4·sign(∇ₓ Σ CE(s·z(x), y))),
  /// Π the projection on the ε-box around x₀ and the valid pixel range (all in normalised units, ε per
  /// channel). `attack.py` `AttackPGD.find` (one restart, 100 steps, step ε/4, as `main.py` builds it).
  public func pgdCorrect(
    _ model: Classifier, inputs: Tensor, labels: [Int], stream: inout RandomStream
  ) -> Int {
    let n = inputs.rows
    let d = inputs.rowSize
    let c = normalization.std.count
    let count = n * d
    let channel = { (k: Int) in k % c }
    let radius = (0..<c).map { Float(epsTest) / normalization.std[$0] }
    let low = (0..<c).map { (0 - normalization.mean[$0]) / normalization.std[$0] }
    let high = (0..<c).map { (1 - normalization.mean[$0]) / normalization.std[$0] }
    let needed = model.needsInputGradient
    model.needsInputGradient = true
    defer { model.needsInputGradient = needed }
    let x = Tensor(shape: inputs.shape)
    stream.fillNormal(x.buffer)
    for k in 0..<count {
      let e = radius[channel(k)]
      let start = inputs[k] + Swift.min(Swift.max(x[k] * e / 4, -e / 2), e / 2)
      x[k] = Swift.min(Swift.max(start, low[channel(k)]), high[channel(k)])
    }
    let dLogits = Tensor(shape: [0])
    var row = SoftmaxRow()
    let classes = model.classes
    row.resize(classes)
    let s = objective.scalar
    for _ in 0..<pgdSteps {
      let logits = model.forward(x, training: false)
      dLogits.resize(logits.shape)
      for i in 0..<n {
        for j in 0..<classes { row.logits[j] = s * Double(logits[i * classes + j]) }
        row.update()
        for j in 0..<classes {
          dLogits[i * classes + j] = Float(s * (row.probabilities[j] - (j == labels[i] ? 1 : 0)))
        }
      }
      let grad = model.backward(dLogits)
      for k in 0..<count {
        let ch = channel(k)
        let e = radius[ch]
        let g = grad[k]
        let stepped = x[k] + (g > 0 ? e / 4 : g < 0 ? -e / 4 : 0)
        let boxed = Swift.min(Swift.max(stepped, inputs[k] - e), inputs[k] + e)
        x[k] = Swift.min(Swift.max(boxed, low[ch]), high[ch])
      }
    }
    return n - misclassified(model.forward(x, training: false), labels)
  }

  public func finish(_ trainer: Trainer, output: inout JobOutput) throws {
    let model = trainer.model
    for layer in ModelZoo.distanceLayers(of: model) { layer.order = .infinity }
    let test = trainer.test
    let count = maxExamples > 0 ? Swift.min(maxExamples, test.count) : test.count
    guard count > 0 else { return }
    let inputs = Tensor(shape: [0])
    var labels: [Int] = []
    var none: RandomStream? = nil
    var attackStream = pgdKey.stream()
    let all = Array(0..<count)
    let grid = Set(radii + [epsTest]).sorted()
    var hits = [Double: Int]()
    var correct = 0
    var robust = 0
    var start = 0
    while start < count {
      let end = Swift.min(start + 256, count)
      test.fill(all[start..<end], into: inputs, labels: &labels, augment: &none)
      correct += (end - start) - misclassified(model.forward(inputs, training: false), labels)
      for eps in grid {
        let ok = certify(model, inputs: inputs, labels: labels, eps: eps)
        hits[eps, default: 0] += ok.filter { $0 }.count
      }
      if pgdSteps > 0 { robust += pgdCorrect(model, inputs: inputs, labels: labels, stream: &attackStream) }
      start = end
    }
    let percent = { (h: Int) in 100 * Double(h) / Double(count) }
    for eps in radii {
      output.overall["certified_accuracy_at_linf_radius_\(SmoothedCertification.radiusName(eps))"] = percent(hits[eps]!)
    }
    output.overall["certified_accuracy"] = percent(hits[epsTest]!)
    output.overall["clean_accuracy"] = percent(correct)
    if pgdSteps > 0 { output.overall["pgd_accuracy"] = percent(robust) }
    output.overall["output_scale"] = objective.scalar
    output.series["certified_accuracy"] = ["radius": radii, "accuracy": radii.map { percent(hits[$0]!) }]
  }
}
