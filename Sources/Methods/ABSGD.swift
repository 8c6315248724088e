import Engine
import Foundation
import NN

/// ABSGD's attentional per-example weights with their moving-average normaliser
/// (Qi, Xu, Yin, Jin, Yang, TMLR 2023), as the official code.
///
/// The state u (a scalar, 0 at the start, never reset) lives across steps and epochs. For a batch
/// of per-example losses ℓ_1…ℓ_B at the current λ:
/// - if λ ≥ 200 (the code's "plain mean" sentinel): p_i = 1/B and u is **not** updated;
/// - otherwise: e_i = exp(ℓ_i/λ), u ← (1 − γ)·u + γ·α·mean_i e_i, p_i = e_i/(u·B).
/// The batch loss is Σ_i p_i·ℓ_i with p treated as a constant (`detach_`), so ∂L/∂ℓ_i = p_i.
/// The weights are **not** normalised: starting from u = 0 the first batch's weights sum to
/// 1/(γ·α), and they tend to 1/α. λ > 0 up-weights large losses (imbalance), λ < 0 down-weights them
/// (label noise). Computed in Double (exp(ℓ/λ) would overflow Float32 past ℓ/λ ≈ 88.7).
///
/// **References:**
/// - Qi, Xu, Yin, Jin, Yang, "Attentional-Biased Stochastic Gradient Descent", TMLR 2023
///   (arXiv 2012.06951).
/// - qiqi-helloworld/ABSGD `mylosses.py` `ABSGD.forward` (`train.py`: `--drogamma` γ default 0.1,
///   `--abAlpha` α default 0.5; README runs λ = 5 after 160 epochs of λ = 200).
public struct ABSGDWeights: Sendable, Hashable {
  /// The moving-average parameter γ (`--drogamma`).
  public var gamma: Double
  /// The normalisation parameter α (`--abAlpha`).
  public var alpha: Double
  /// The moving average u of α·mean exp(ℓ/λ).
  public var u: Double
  /// The noisy-label variant's uniform floor: in the weighted branch every p_i gets + 1/B
  /// (qiqi-helloworld/ABSGD `noisy_label/loss.py` `ABLoss.forward`: `p = p + 1/len(loss)`).
  public var uniformFloor: Bool

  /// The λ at and above which the code takes the plain mean.
  public static let plainMeanThreshold = 200.0

  /// Creates the state with u = `u` (0 as upstream); `uniformFloor` selects the noisy-label variant.
  public init(gamma: Double, alpha: Double, u: Double = 0, uniformFloor: Bool = false) {
    self.gamma = gamma
    self.alpha = alpha
    self.u = u
    self.uniformFloor = uniformFloor
  }

  /// Updates u with this batch and writes its weights p into `weights`; returns Σ_i p_i·ℓ_i.
  public mutating func step(losses: [Double], lambda: Double, weights: inout [Double]) -> Double {
    let b = Double(losses.count)
    weights.removeAll(keepingCapacity: true)
    guard !losses.isEmpty else { return 0 }
    if lambda >= Self.plainMeanThreshold {
      for _ in losses { weights.append(1 / b) }
    } else {
      var meanExp = 0.0
      for l in losses { meanExp += exp(l / lambda) }
      meanExp /= b
      u = (1 - gamma) * u + gamma * alpha * meanExp
      let floor = uniformFloor ? 1 / b : 0
      for l in losses { weights.append(exp(l / lambda) / (u * b) + floor) }
    }
    var total = 0.0
    for (p, l) in zip(weights, losses) { total += p * l }
    return total
  }
}

/// ABSGD's two-stage protocol as a training-loop component (`absgd-stages`), for the `ab*` losses.
///
/// Algorithm (qiqi-helloworld/ABSGD `train.py` for imbalance, `noisy_label/train.py` for label noise):
/// 1. Stage 1, 0-based epochs e < `start_epoch` (`--lamda_shots`): λ = `init_lambda` (`--init_lamda`,
///    200 = the code's "plain mean" sentinel), i.e. momentum SGD on the mean loss: the SGD pre-training.
/// 2. Stage 2, e ≥ `start_epoch`: λ = the loss's own `lambda` (> 0 imbalance, < 0 label noise), one step,
///    no gradual decay. The optimizer and its momentum buffers carry on; the moving average u starts from
///    0 at the first weighted step and is never reset.
/// 3. What trains in stage 2 (`train`): `all` (the CIFAR recipe: nothing frozen, `--frozen_aside_fc`
///    False) or `head` (`--frozen_aside_fc True`, the ImageNet-LT / iNaturalist / Places runs: every
///    parameter but the classifier frozen; BN statistics still update, the model stays in train mode).
/// 4. The classifier (`head`): `keep` (the code: never re-initialised, on CIFAR nor when a stage-1
///    checkpoint is loaded) or `reinit` (a project option for the paper's "re-learn the classifier"
///    wording: the head is re-drawn with the model's init scheme and its momentum state dropped).
///
/// Paper vs code: the abstract speaks of "SGD pre-training, then ABSGD to learn a robust classifier and
/// fine-tune lower layers"; the only runs with commands (CIFAR-LT, noisy CIFAR) freeze and re-initialise
/// nothing, so `train: all, head: keep` is the default. The LR drop of the recipes (one epoch before the
/// switch on CIFAR-LT, at the switch in the noisy runs) is the manifest's schedule, not this component's.
///
/// It also records the mechanism (claim 5): the per-class mean of B·p_i over the last epoch
/// (`absgd_weight` per class; 1 = the plain mean's weight, 0 for a class absent from it) and the state u
/// at each epoch's end (`absgd_u` curve).
///
/// Cost (claim 6: one backward pass per step, as SGD): `replicate bench --workload mlp` vs `mlp-absgd` (and `cnn` vs
/// `cnn-absgd`; batch 128, 1 thread, stage-2 weights active), three alternating runs each on the shared 2-core machine
/// (load ≈ 18), medians of 5 repeats: mlp 6483/6704/6602 ex/s vs mlp-absgd 6686/6459/6276 (step-time ratio 1.02);
/// cnn 590/583/589 vs cnn-absgd 554/583/583 (ratio 1.02), i.e. within the run-to-run spread. The extra work is
/// O(B·C): B exponentials, a moving average and a row scaling of the logit gradient.
///
/// **References:** qiqi-helloworld/ABSGD `train.py` (`myLambda` by `lamda_shots`, `frozen_aside_fc`),
/// `noisy_label/train.py` `train_fixed` (`myLambda = args.init_lamda` until `lamda_shots`).
public final class ABSGDStages: TrainingHooks {
  /// The registry entry: `absgd-stages` with the official defaults (`train.py`).
  public static let definition = ComponentDefinition(
    name: "absgd-stages", version: 1,
    parameters: [
      "start_epoch": .number(160), "init_lambda": .number(200), "train": .text("all"), "head": .text("keep"),
    ],
    choices: ["train": ["all", "head"], "head": ["keep", "reinit"]]
  ) { spec, context in
    let loss = try LossRegistry.resolve(context.spec.method.loss)
    guard ["abce", "abfocal", "abldam", "abce-noisy"].contains(loss.name), let lambda = loss.params["lambda"] else {
      throw JobFailure(.badSpec, "component 'absgd-stages' needs an ABSGD loss (abce, abfocal, abldam, abce-noisy)")
    }
    guard let initialization = Initialization(rawValue: context.spec.model.initialization) else {
      throw JobFailure(.badSpec, "unknown init '\(context.spec.model.initialization)'")
    }
    return ABSGDStages(
      startEpoch: try spec.integer("start_epoch"),
      initLambda: try spec.number("init_lambda", { $0 != 0 && $0.isFinite }, expected: "a non-zero number"),
      lambda: lambda, headOnly: try spec.text("train") == "head", reinitHead: try spec.text("head") == "reinit",
      initialization: initialization, key: context.key.split("absgd-head"))
  }

  /// The first 0-based epoch of stage 2.
  public let startEpoch: Int
  /// λ in stage 1 and in stage 2.
  public let initLambda: Double, lambda: Double
  /// Whether stage 2 trains the classifier only, and whether it re-draws it first.
  public let headOnly: Bool, reinitHead: Bool
  private let initialization: Initialization
  private let key: RandomKey
  private var weightSums: [Double] = []
  private var weightCounts: [Int] = []

  /// The component with its schedule; `key` draws a re-initialised head.
  public init(
    startEpoch: Int, initLambda: Double, lambda: Double, headOnly: Bool = false, reinitHead: Bool = false,
    initialization: Initialization = .torchDefault, key: RandomKey = RandomKey(seed: 0)
  ) {
    self.startEpoch = startEpoch
    self.initLambda = initLambda
    self.lambda = lambda
    self.headOnly = headOnly
    self.reinitHead = reinitHead
    self.initialization = initialization
    self.key = key
  }

  private func absgdLoss(_ trainer: Trainer) throws -> ABSGDLoss {
    guard let loss = trainer.loss as? ABSGDLoss else {
      throw JobFailure(.badSpec, "component 'absgd-stages' needs an ABSGD loss, got \(type(of: trainer.loss))")
    }
    return loss
  }

  public func epochStart(_ trainer: Trainer, epoch: Int) throws {
    try absgdLoss(trainer).lambda = epoch < startEpoch ? initLambda : lambda
    guard epoch == startEpoch else { return }
    if reinitHead {
      trainer.model.head.initialize(initialization, key: key)
      for p in trainer.model.head.parameters { trainer.optimizer.reset(p) }
    }
    if headOnly {
      for p in trainer.model.features.parameters { p.isTrainable = false }
    }
  }

  public func afterStep(_ trainer: Trainer, _ state: StepState) throws {
    guard state.epoch == trainer.epochs - 1 else { return }
    let loss = try absgdLoss(trainer)
    if weightSums.isEmpty {
      weightSums = Array(repeating: 0, count: trainer.model.classes)
      weightCounts = Array(repeating: 0, count: trainer.model.classes)
    }
    let b = Double(state.labels.count)
    for (p, y) in zip(loss.weights, state.labels) {
      weightSums[y] += p * b
      weightCounts[y] += 1
    }
  }

  public func epochEnd(_ trainer: Trainer, epoch: Int) throws {
    trainer.curves["absgd_u", default: []].append(try absgdLoss(trainer).state.u)
  }

  public func finish(_ trainer: Trainer, output: inout JobOutput) throws {
    guard !weightSums.isEmpty else { return }
    output.perClass["absgd_weight"] = zip(weightSums, weightCounts).map { $1 > 0 ? $0 / Double($1) : 0 }
  }
}
