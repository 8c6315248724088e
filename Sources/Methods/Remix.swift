import Engine

/// Remix (Chou, Chang, Pan, Wei, Juan, "Remix: Rebalanced Mixup", ECCV 2020 Workshops, arXiv 2007.03943):
/// mixup of the inputs with the label weight moved to the minority class.
///
/// Per batch (mixup's pairing, Zhang et al. `mixup_data`): one λ ~ Beta(α, α) and a random permutation
/// k of the batch; x̃_i = λ·x_i + (1 − λ)·x_{k_i}. The label weight of y_i is
/// - 0 when n[y_i]/n[y_k] ≥ κ and λ < τ (a mostly-minority image keeps only the minority label),
/// - 1 when n[y_i]/n[y_k] ≤ 1/κ and 1 − λ < τ (the same with the roles swapped),
/// - λ otherwise;
/// loss = (1/B) Σ_i μ_i·ℓ(z̃_i, y_i) + (1 − μ_i)·ℓ(z̃_i, y_{k_i}) (``MixedTargetLoss``). Defaults κ = 3,
/// τ = 0.5, α = 1 (the paper's CIFAR setting).
///
/// Prior-LT's official code has no Remix (its table's Remix row came from elsewhere); this is the paper's
/// rule with mixup's reference pairing. Random draws come from the job key's `remix` stream folded by epoch
/// and step: λ first, then the permutation.
///
/// **References:** Chou et al. 2020 (Algorithm 1); facebookresearch/mixup-cifar10 `train.py` `mixup_data`.
public final class RemixStep: TrainingHooks {
  /// The registry entry `remix`: `alpha` 1, `kappa` 3, `tau` 0.5, `stop_epoch` never.
  public static let definition = ComponentDefinition(
    name: "remix", version: 1,
    parameters: ["alpha": .number(1), "kappa": .number(3), "tau": .number(0.5), "stop_epoch": .text("never")],
    choices: ["stop_epoch": ["never"]], numberAllowed: ["stop_epoch"]
  ) { spec, context in
    RemixStep(
      classCounts: context.trainCounts, alpha: try spec.number("alpha", { $0 > 0 && $0.isFinite }, expected: "> 0"),
      kappa: try spec.number("kappa", { $0 >= 1 && $0.isFinite }, expected: "≥ 1"),
      tau: try spec.number("tau", { $0 >= 0 && $0 <= 1 }, expected: "in [0, 1]"),
      stopEpoch: try UniMixStep.stopEpoch(spec), key: context.key.split("remix"))
  }

  /// Whole-training-set counts per class.
  public let classCounts: [Int]
  /// Beta(α, α) parameter, the count ratio κ and the threshold τ.
  public let alpha: Double, kappa: Double, tau: Double
  /// Mixing is on for epochs below this (nil = always).
  public let stopEpoch: Int?
  private let key: RandomKey
  private let mixer = InputMixer()

  /// A Remix step for a training set with `classCounts`.
  public init(classCounts: [Int], alpha: Double, kappa: Double, tau: Double, stopEpoch: Int?, key: RandomKey) {
    self.classCounts = classCounts
    self.alpha = alpha
    self.kappa = kappa
    self.tau = tau
    self.stopEpoch = stopEpoch
    self.key = key
  }

  /// The label weight of the first example given the input factor λ and the two classes' counts.
  public static func labelWeight(lambda: Double, count1: Int, count2: Int, kappa: Double, tau: Double) -> Double {
    let ratio = Double(count1) / Double(count2)
    if ratio >= kappa && lambda < tau { return 0 }
    if ratio <= 1 / kappa && 1 - lambda < tau { return 1 }
    return lambda
  }

  public func trainStep(_ trainer: Trainer, _ batch: TrainingBatch) throws -> StepOutcome? {
    if let stopEpoch, batch.epoch >= stopEpoch { return nil }
    var stream = key.fold(batch.epoch).fold(batch.step).stream()
    let lambda = Statistics.inverseRegularizedIncompleteBeta(stream.nextDouble(), alpha, alpha)
    let labels = batch.labels
    let partners = stream.permutation(labels.count)
    let weights = labels.indices.map { i in
      Float(
        Self.labelWeight(
          lambda: lambda, count1: classCounts[labels[i]], count2: classCounts[labels[partners[i]]], kappa: kappa,
          tau: tau))
    }
    return try mixer.step(
      trainer, batch, partners: partners, inputLambdas: Array(repeating: Float(lambda), count: labels.count),
      targetLambdas: weights, by: "remix")
  }
}
