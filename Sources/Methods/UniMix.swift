import Engine
import Foundation

/// UniMix (Xu, Chai, Yuan, NeurIPS 2021): a tail-favouring partner sampler and mixing factor, as the
/// official code.
///
/// Per batch with labels y and training counts n:
/// 1. **Sampler.** Each example's partner is drawn i.i.d. with replacement from the same batch with
///    probability p_i = n[y_i]^τ / Σ_k n[y_k]^τ (τ = `unimix_tau`: −0.5 for the CIFAR-10 configs,
///    −0.1 for CIFAR-100; τ = 0 is uniform, τ = −1 balances the classes present in the batch).
/// 2. **Factor.** ξ = c + B with c = n[y2]/(n[y1] + n[y2]) (the partner's share) and
///    B ~ Beta(α, α) (α = `unimix_alp` = 0.8); if ξ > 1 then ξ ← ξ − 1. The inputs mix as
///    ξ·x1 + (1 − ξ)·x2, and the loss as ξ·ℓ(y1) + (1 − ξ)·ℓ(y2) (``MixedTargetLoss``).
/// The factor's law has a closed form with I the Beta(α, α) CDF: mean = c − 1/2 + I(1 − c), and with
/// m = 1 − I(1 − c) = P(ξ < c), the q-quantile is I⁻¹(q + I(1 − c)) − 1 + c for q ≤ m and
/// c + I⁻¹(q − m) otherwise. By the symmetry I(x) = 1 − I(1 − x) these are evaluated as
/// m = I(c), mean = c + 1/2 − I(c) and c − I⁻¹(m − q) for q ≤ m, which stays accurate where
/// q + I(1 − c) is close to 1 (the quantile function is steep there for α > 1).
///
/// **References:**
/// - Xu, Chai, Yuan, "Towards Calibrated Model for Long-Tailed Visual Recognition from Prior
///   Perspective", NeurIPS 2021 (arXiv 2111.03874).
/// - XuZhengzhuo/Prior-LT `core.py` `unimix_sampler`, `unimix_factor`, `unimix`.
public enum UniMix {
  /// The partner probabilities p_i = n[y_i]^τ / Σ_k n[y_k]^τ over the batch positions.
  public static func partnerProbabilities(labels: [Int], classCounts: [Int], tau: Double) -> [Double] {
    let raw = labels.map { pow(Double(classCounts[$0]), tau) }
    let total = raw.reduce(0, +)
    return raw.map { $0 / total }
  }

  /// The probability that a partner has class c: Σ_{i: y_i = c} p_i (0 for classes not in the batch).
  public static func classProbabilities(labels: [Int], classCounts: [Int], tau: Double) -> [Double] {
    var out = [Double](repeating: 0, count: classCounts.count)
    for (y, p) in zip(labels, partnerProbabilities(labels: labels, classCounts: classCounts, tau: tau)) {
      out[y] += p
    }
    return out
  }

  /// Draws one partner index per position from `probabilities` (inverse CDF on one uniform each).
  public static func samplePartners(probabilities: [Double], stream: inout RandomStream) -> [Int] {
    probabilities.indices.map { _ in
      let u = stream.nextDouble()
      var acc = 0.0
      for (i, p) in probabilities.enumerated() {
        acc += p
        if u < acc { return i }
      }
      return probabilities.count - 1
    }
  }

  /// The law of the mixing factor ξ for one pair.
  public struct Factor: Hashable, Sendable {
    /// c = n[y2]/(n[y1] + n[y2]).
    public var base: Double
    /// The Beta(α, α) parameter.
    public var alpha: Double

    /// The factor's law for a pair with counts n1 (the example) and n2 (its partner).
    public init(count1: Int, count2: Int, alpha: Double) {
      precondition(alpha > 0, "alpha must be positive")
      base = Double(count2) / Double(count1 + count2)
      self.alpha = alpha
    }

    /// I(x), the Beta(α, α) CDF.
    func cdf(_ x: Double) -> Double { Statistics.regularizedIncompleteBeta(x, alpha, alpha) }

    /// E[ξ] = c − 1/2 + I(1 − c) = c + 1/2 − I(c).
    public var mean: Double { base + 0.5 - cdf(base) }

    /// The q-quantile of ξ, q ∈ [0, 1].
    public func quantile(_ q: Double) -> Double {
      let m = cdf(base)  // P(ξ < c) = P(B > 1 − c) = I(c)
      if q <= m { return base - Statistics.inverseRegularizedIncompleteBeta(m - q, alpha, alpha) }
      return base + Statistics.inverseRegularizedIncompleteBeta(q - m, alpha, alpha)
    }

    /// One draw of ξ: c + B (minus 1 above 1), B drawn by inverting the Beta CDF at one uniform.
    public func sample(_ stream: inout RandomStream) -> Double {
      let b = Statistics.inverseRegularizedIncompleteBeta(stream.nextDouble(), alpha, alpha)
      let xi = base + b
      return xi > 1 ? xi - 1 : xi
    }
  }
}

/// The UniMix training step (a component, `unimix`): every batch is replaced by its UniMix-mixed
/// version and trained with the mixed-target loss, as Prior-LT `core.py` `train()`:
///
/// 1. partners k_i ~ p_i ∝ n[y_i]^τ, drawn from the same batch with replacement (``UniMix/samplePartners(probabilities:stream:)``);
/// 2. λ_i = (n[y_k]/(n[y_i] + n[y_k]) + b_i) mod 1, b_i ~ Beta(α, α) per example (``UniMix/Factor``);
/// 3. x̃_i = λ_i·x_i + (1 − λ_i)·x_{k_i} (inputs after augmentation and normalisation);
/// 4. one forward pass on x̃ only; loss = (1/B) Σ_i λ_i·ℓ(z̃_i, y_i) + (1 − λ_i)·ℓ(z̃_i, y_{k_i}) with ℓ
///    the per-example CE or Bayias loss (``MixedTargetLoss``); backward; one SGD step.
///
/// Mixing is on while the 0-based epoch is below `stop_epoch` (`never` = the released configs, which set
/// `mix_stop_epoch` = the number of epochs). With α = 1, τ = 0 this is the official code's "origin mixup":
/// λ ~ U(0, 1) per example and uniform partners with replacement (not Zhang et al.'s one λ per batch).
///
/// Deviations from the code: the CE path of `core.py` reduces `nn.CrossEntropyLoss` to a batch mean before
/// the λ-mix (mean(λ)·CE̅(y_1) + …); here both losses are mixed per example, as its Bayias path does. The
/// UniMix "sampler" is the partner draw inside the batch; the data loader stays the plain shuffle (the
/// code has no second, class-balanced loader), so the component does not change the epoch order.
/// Random draws come from the job key's `unimix` stream, folded by epoch and step: partners first, then
/// the Beta draws (inverse CDF at one uniform each).
///
/// **References:** XuZhengzhuo/Prior-LT `core.py` (`unimix_sampler`, `unimix_factor`, `unimix`, `train`),
/// `config/cifar10_*.py` (`unimix_alp` 0.8, `unimix_tau` −0.5), `config/cifar100_*.py` (τ −0.1).
public final class UniMixStep: TrainingHooks {
  /// The registry entry `unimix`: `alpha` 0.8, `tau` auto (the released configs: −0.5 for CIFAR-10,
  /// −0.1 for CIFAR-100; here −0.5 up to 10 classes, −0.1 above), `stop_epoch` never.
  public static let definition = ComponentDefinition(
    name: "unimix", version: 1, parameters: ["alpha": .number(0.8), "tau": .text("auto"), "stop_epoch": .text("never")],
    choices: ["tau": ["auto"], "stop_epoch": ["never"]], numberAllowed: ["tau", "stop_epoch"]
  ) { spec, context in
    let tau =
      spec.params["tau"]?.text == "auto" ? configTau(classes: context.trainCounts.count) : try spec.number("tau")
    return UniMixStep(
      classCounts: context.trainCounts, alpha: try spec.number("alpha", { $0 > 0 && $0.isFinite }, expected: "> 0"),
      tau: tau, stopEpoch: try stopEpoch(spec), key: context.key.split("unimix"))
  }

  /// The released configs' τ: −0.5 (`cifar10_*.py`) for up to 10 classes, −0.1 (`cifar100_*.py`) above.
  public static func configTau(classes: Int) -> Double { classes <= 10 ? -0.5 : -0.1 }

  /// Whole-training-set counts per class.
  public let classCounts: [Int]
  /// Beta(α, α) parameter and the sampler's exponent τ.
  public let alpha: Double, tau: Double
  /// Mixing is on for epochs below this (nil = always).
  public let stopEpoch: Int?
  private let key: RandomKey
  private let mixer = InputMixer()

  /// A UniMix step for a training set with `classCounts`.
  public init(classCounts: [Int], alpha: Double, tau: Double, stopEpoch: Int?, key: RandomKey) {
    self.classCounts = classCounts
    self.alpha = alpha
    self.tau = tau
    self.stopEpoch = stopEpoch
    self.key = key
  }

  public func trainStep(_ trainer: Trainer, _ batch: TrainingBatch) throws -> StepOutcome? {
    if let stopEpoch, batch.epoch >= stopEpoch { return nil }
    var stream = key.fold(batch.epoch).fold(batch.step).stream()
    let labels = batch.labels
    let probabilities = UniMix.partnerProbabilities(labels: labels, classCounts: classCounts, tau: tau)
    let partners = UniMix.samplePartners(probabilities: probabilities, stream: &stream)
    let lambdas = labels.indices.map { i in
      Float(
        UniMix.Factor(count1: classCounts[labels[i]], count2: classCounts[labels[partners[i]]], alpha: alpha)
          .sample(&stream))
    }
    return try mixer.step(
      trainer, batch, partners: partners, inputLambdas: lambdas, targetLambdas: lambdas, by: "unimix")
  }

  /// `stop_epoch`: `never` → nil, else a whole number ≥ 0.
  static func stopEpoch(_ spec: ComponentSpec) throws -> Int? {
    spec.params["stop_epoch"]?.text == "never" ? nil : try spec.integer("stop_epoch")
  }
}

/// The shared input-mixing step of UniMix and Remix: mixes each example with its partner, runs one
/// forward pass on the mixed batch, the mixed-target loss, backward and one SGD step. Its buffers are
/// reused from step to step.
final class InputMixer {
  private let mixed = Tensor(shape: [0])
  private var partnerLabels: [Int] = []

  /// x̃_i = λ_i·x_i + (1 − λ_i)·x_{p_i}; loss = (1/B) Σ_i μ_i·ℓ(z̃_i, y_i) + (1 − μ_i)·ℓ(z̃_i, y_{p_i}) with
  /// λ = `inputLambdas`, μ = `targetLambdas`. The trainer's loss must accept mixed targets.
  func step(
    _ trainer: Trainer, _ batch: TrainingBatch, partners: [Int], inputLambdas: [Float], targetLambdas: [Float],
    by component: String
  ) throws -> StepOutcome {
    guard let loss = trainer.loss as? MixedTargetLoss else {
      throw JobFailure(.badSpec, "component '\(component)' needs a loss that takes mixed targets (ce, bayias)")
    }
    let x = batch.inputs
    let b = batch.labels.count
    let size = b > 0 ? x.count / b : 0
    mixed.resize(x.shape)
    for i in 0..<b {
      let lam = inputLambdas[i]
      let rest = 1 - lam
      let a = x.pointer + i * size
      let p = x.pointer + partners[i] * size
      let out = mixed.pointer + i * size
      for j in 0..<size { out[j] = a[j] * lam + p[j] * rest }
    }
    partnerLabels.removeAll(keepingCapacity: true)
    for i in 0..<b { partnerLabels.append(batch.labels[partners[i]]) }
    let logits = trainer.model.forward(mixed, training: true)
    let value = loss.loss(
      logits: logits, targets: batch.labels, partnerTargets: partnerLabels, lambdas: targetLambdas,
      gradient: trainer.lossGradient)
    guard value.isFinite else { return StepOutcome(loss: value, logits: logits) }
    _ = trainer.model.backward(trainer.lossGradient)
    trainer.optimizer.step(trainer.model.parameters)
    return StepOutcome(loss: value, logits: logits)
  }
}
