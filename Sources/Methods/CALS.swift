import Engine
import Foundation

/// CALS: class-adaptive, augmented-Lagrangian calibration penalty (Liu, Rony, Galdran, Dolz, Ben Ayed,
/// CVPR 2023), as the official code's `AugLagrangianClass`.
///
/// Constraints on the logits x [N, C] (logit distance, as MbLS):
///   h_ij = max_k x_ik − x_ij − m, divided by m when ``normalize`` (goal h ≤ 0).
/// With a class-wise multiplier λ_j and penalty parameter ρ_j, the training objective is
/// CE + ``penalty(logits:gradient:)``, where
///   penalty = mean over all N·C entries of P(h_ij; λ_j, ρ_j)   (a mean, not a sum over classes),
///   constraint = mean h.
/// The gradient flows through the row max too; PyTorch's `amax` splits it evenly among tied maxima.
/// After each epoch a validation pass updates the multipliers (``resetMultiplierUpdate()``,
/// ``accumulateMultiplierUpdate(logits:)`` per batch, ``setMultipliers()``):
///   λ_j ← clamp(mean_i clamp(P′(h_ij), λ_min, λ_max), λ_min, λ_max),
/// and ``updatePenaltyParameters(epoch:)`` raises ρ_j ← γ·ρ_j where the mean constraint did not fall
/// below τ·max(previous, 0) (every `rhoStep` epochs, clamped to [ρ_min, ρ_max]).
///
/// **References:**
/// - Liu, Rony, Galdran, Dolz, Ben Ayed, "Class Adaptive Network Calibration", CVPR 2023
///   (arXiv 2211.15088).
/// - by-liu/CALS `calibrate/lagrangian/aug_lagrangian_class.py` `AugLagrangianClass`,
///   `calibrate/lagrangian/aug_lagrangian.py` `get_constraints`, `calibrate/lagrangian/penalty.py`.
public final class CALSPenalty {
  /// The penalty function P(h; λ, ρ).
  public enum Kind: String, Sendable, CaseIterable {
    /// PHR: y = λ + ρh; P = (y² − λ²)/(2ρ) if y ≥ 0, else −λ²/(2ρ). P′ = y or 0.
    case phr
    /// P2: λh + λρh² + ρ²h³/6 if h ≥ 0, else λh/(1 − ρh).
    case p2
    /// P3: λh + λρh² if h ≥ 0, else λh/(1 − ρh).
    case p3

    /// P(h) and dP/dh.
    public func evaluate(_ h: Double, lambda l: Double, rho r: Double) -> (value: Double, derivative: Double) {
      switch self {
      case .phr:
        let y = l + r * h
        return y >= 0 ? ((y * y - l * l) / (2 * r), y) : (-l * l / (2 * r), 0)
      case .p2:
        if h >= 0 { return (l * h + l * r * h * h + r * r * h * h * h / 6, l + 2 * l * r * h + r * r * h * h / 2) }
        let d = 1 - r * h
        return (l * h / d, l / (d * d))
      case .p3:
        if h >= 0 { return (l * h + l * r * h * h, l + 2 * l * r * h) }
        let d = 1 - r * h
        return (l * h / d, l / (d * d))
      }
    }
  }

  /// The margin m (config 20; the README runs use 10).
  public let margin: Double
  /// The penalty function.
  public let kind: Kind
  /// Whether h is divided by m.
  public let normalize: Bool
  /// Bounds of λ.
  public let lambdaMin: Double, lambdaMax: Double
  /// Bounds of ρ and its growth factor γ and tolerance τ (`tao`); `rhoStep` ≤ 0 disables the update.
  public let rhoMin: Double, rhoMax: Double, rhoGrowth: Double, rhoTolerance: Double, rhoStep: Int
  /// The class-wise multipliers λ (initially λ_min).
  public var lambdas: [Double]
  /// The class-wise penalty parameters ρ (initially ρ_min).
  public var rhos: [Double]
  private var derivativeSums: [Double] = []
  private var constraintSums: [Double] = []
  private var sampleCount = 0
  private var previousConstraints: [Double]? = nil

  /// Creates the penalty with the official defaults (`configs/lag/aug_lagrangian_class.yaml`).
  public init(
    classes: Int, margin: Double = 10, kind: Kind = .phr, normalize: Bool = true,
    lambdaMin: Double = 1e-6, lambdaMax: Double = 1e6, rhoMin: Double = 1, rhoMax: Double = 10,
    rhoStep: Int = 10, rhoGrowth: Double = 1.2, rhoTolerance: Double = 0.9
  ) {
    precondition(margin > 0, "margin must be positive")
    self.margin = margin
    self.kind = kind
    self.normalize = normalize
    self.lambdaMin = lambdaMin
    self.lambdaMax = lambdaMax
    self.rhoMin = rhoMin
    self.rhoMax = rhoMax
    self.rhoStep = rhoStep
    self.rhoGrowth = rhoGrowth
    self.rhoTolerance = rhoTolerance
    lambdas = [Double](repeating: lambdaMin, count: classes)
    rhos = [Double](repeating: rhoMin, count: classes)
    resetMultiplierUpdate()
  }

  /// h for an entry x_ij of a row whose max is `rowMax`.
  @inline(__always) private func constraint(_ x: Double, rowMax: Double) -> Double {
    let h = rowMax - x - margin
    return normalize ? h / margin : h
  }

  /// The penalty mean_{ij} P(h_ij) and the mean constraint mean_{ij} h_ij of a batch; writes
  /// ∂penalty/∂logits into `gradient` when given (resized to `logits.shape`).
  public func penalty(logits: Tensor, gradient: Tensor? = nil) -> (penalty: Double, constraint: Double) {
    let n = logits.rows
    let c = logits.rowSize
    precondition(c == lambdas.count, "\(c) logits per row for \(lambdas.count) classes")
    gradient?.resize(logits.shape)
    let count = Double(n * c)
    let hScale = normalize ? 1 / margin : 1
    var total = 0.0
    var constraintTotal = 0.0
    for i in 0..<n {
      let x = logits.pointer + i * c
      let (m, ties) = rowMax(x, count: c)
      var derivativeSum = 0.0
      let g = gradient.map { $0.pointer + i * c }
      for j in 0..<c {
        let h = constraint(Double(x[j]), rowMax: Double(m))
        let (p, dp) = kind.evaluate(h, lambda: lambdas[j], rho: rhos[j])
        total += p
        constraintTotal += h
        derivativeSum += dp
        g?[j] = Float(-dp * hScale / count)
      }
      // ∂h_ij/∂x_ik also has +1/ties (÷ m) for each tied maximum k.
      if let g {
        let share = derivativeSum * hScale / count / Double(ties)
        for j in 0..<c where x[j] == m { g[j] = Float(Double(g[j]) + share) }
      }
    }
    return (total / count, constraintTotal / count)
  }

  /// Starts a multiplier update (`reset_update_lambd`).
  public func resetMultiplierUpdate() {
    derivativeSums = [Double](repeating: 0, count: lambdas.count)
    constraintSums = [Double](repeating: 0, count: lambdas.count)
    sampleCount = 0
  }

  /// Adds a validation batch (`update_lambd`): Σ_i clamp(P′(h_ij), λ_min, λ_max) and Σ_i h_ij per class.
  public func accumulateMultiplierUpdate(logits: Tensor) {
    let n = logits.rows
    let c = logits.rowSize
    precondition(c == lambdas.count, "\(c) logits per row for \(lambdas.count) classes")
    for i in 0..<n {
      let x = logits.pointer + i * c
      let m = rowMax(x, count: c).max
      for j in 0..<c {
        let h = constraint(Double(x[j]), rowMax: Double(m))
        let dp = kind.evaluate(h, lambda: lambdas[j], rho: rhos[j]).derivative
        derivativeSums[j] += Swift.min(Swift.max(dp, lambdaMin), lambdaMax)
        constraintSums[j] += h
      }
    }
    sampleCount += n
  }

  /// The multipliers the accumulated batches give: clamp(mean_i clamp(P′), λ_min, λ_max).
  public func nextMultipliers() -> [Double] {
    guard sampleCount > 0 else { return lambdas }
    return derivativeSums.map { Swift.min(Swift.max($0 / Double(sampleCount), lambdaMin), lambdaMax) }
  }

  /// Sets λ from the accumulated batches (`set_lambd`, with `lambd_step` 1).
  public func setMultipliers() { lambdas = nextMultipliers() }

  /// The ρ update after an epoch's validation pass (`update_rho`; `epoch` is 0-based).
  public func updatePenaltyParameters(epoch: Int) {
    guard rhoStep > 0, sampleCount > 0 else { return }
    let current = constraintSums.map { $0 / Double(sampleCount) }
    if (epoch + 1) % rhoStep == 0, let previous = previousConstraints {
      for j in rhos.indices where current[j] > Swift.max(previous[j], 0) * rhoTolerance {
        rhos[j] *= rhoGrowth
      }
      rhos = rhos.map { Swift.min(Swift.max($0, rhoMin), rhoMax) }
    }
    previousConstraints = current
  }
}

/// The CALS training loop (`DistributedLagrangianTrainer` in by-liu/CALS): every step minimises
/// CE + ``CALSPenalty/penalty(logits:gradient:)`` with λ, ρ fixed; after every epoch a pass over the
/// validation split (evaluation mode) sets λ_k to the mean clamped PHR derivative of class k
/// (`lambd_step` 1) and raises ρ where the class's mean constraint did not shrink (every `rho_step`
/// epochs).
///
/// Curves: `cals_lambda_mean`, `cals_lambda_max` (after each update); per-class vectors `cals_lambda`
/// and `cals_rho` (final). Not followed: the official trainer's gradient-norm clipping (2.0) and AMP
/// (the CE and MbLS baselines here run without them too, so the comparison stays like for like).
///
/// **References:** by-liu/CALS `calibrate/engine/distributed_lagrangian_trainer.py`,
/// `calibrate/lagrangian/aug_lagrangian_class.py`, `configs/lag/aug_lagrangian_class.yaml`.
public final class CALSTraining: TrainingHooks {
  /// The registry entry `cals`: `margin` 10 (the README runs; the config says 20), `penalty` `phr`,
  /// `normalize` 1, `lambda_min` 1e-6, `lambda_max` 1e6, `rho_min` 1, `rho_max` 10, `rho_step` 10,
  /// `gamma` 1.2, `tao` 0.9 (`configs/lag/aug_lagrangian_class.yaml`).
  public static let definition = ComponentDefinition(
    name: "cals", version: 1,
    parameters: [
      "margin": .number(10), "penalty": .text("phr"), "normalize": .number(1), "lambda_min": .number(1e-6),
      "lambda_max": .number(1e6), "rho_min": .number(1), "rho_max": .number(10), "rho_step": .number(10),
      "gamma": .number(1.2), "tao": .number(0.9),
    ],
    choices: ["penalty": CALSPenalty.Kind.allCases.map(\.rawValue)]
  ) { spec, context in
    let validation = try context.requireValidation(for: "cals")
    let positive: (Double) -> Bool = { $0 > 0 && $0.isFinite }
    let penalty = CALSPenalty(
      classes: context.data.train.classes, margin: try spec.number("margin", positive, expected: "> 0"),
      kind: CALSPenalty.Kind(rawValue: try spec.text("penalty"))!, normalize: try spec.number("normalize") != 0,
      lambdaMin: try spec.number("lambda_min"), lambdaMax: try spec.number("lambda_max"),
      rhoMin: try spec.number("rho_min", positive, expected: "> 0"),
      rhoMax: try spec.number("rho_max", positive, expected: "> 0"),
      rhoStep: try spec.integer("rho_step"), rhoGrowth: try spec.number("gamma"),
      rhoTolerance: try spec.number("tao"))
    return CALSTraining(penalty: penalty, validation: validation)
  }

  /// The penalty with its multipliers.
  public let penalty: CALSPenalty
  private let validation: BatchSource
  private let penaltyGradient = Tensor(shape: [0])
  private let validationLogits = Tensor(shape: [0])

  /// The training loop around `penalty`, updated from `validation`.
  public init(penalty: CALSPenalty, validation: BatchSource) {
    self.penalty = penalty
    self.validation = validation
  }

  public func trainStep(_ trainer: Trainer, _ batch: TrainingBatch) throws -> StepOutcome? {
    let logits = trainer.model.forward(batch.inputs, training: true)
    let gradient = trainer.lossGradient
    let ce = trainer.loss.loss(logits: logits, targets: batch.labels, gradient: gradient)
    let (value, _) = penalty.penalty(logits: logits, gradient: penaltyGradient)
    let (g, p) = (gradient.pointer, penaltyGradient.pointer)
    for k in 0..<gradient.count { g[k] += p[k] }
    if (ce + value).isFinite {
      _ = trainer.model.backward(gradient)
      trainer.optimizer.step(trainer.model.parameters)
    }
    return StepOutcome(loss: ce + value, logits: logits)
  }

  public func epochEnd(_ trainer: Trainer, epoch: Int) throws {
    trainer.evaluate(validation, into: validationLogits)
    penalty.resetMultiplierUpdate()
    penalty.accumulateMultiplierUpdate(logits: validationLogits)
    penalty.setMultipliers()
    penalty.updatePenaltyParameters(epoch: epoch)
    trainer.curves["cals_lambda_mean", default: []].append(penalty.lambdas.reduce(0, +) / Double(penalty.lambdas.count))
    trainer.curves["cals_lambda_max", default: []].append(penalty.lambdas.max() ?? 0)
  }

  public func finish(_ trainer: Trainer, output: inout JobOutput) throws {
    output.perClass["cals_lambda"] = penalty.lambdas
    output.perClass["cals_rho"] = penalty.rhos
  }
}

/// Classwise ECE (by-liu/CALS `calibrate/evaluation/metrics.py` `ClasswiseECELoss`): for each class k,
/// the ECE of the predicted probability p_ik against the indicator [y_i = k] over all examples, with
/// `bins` equal-width bins right-closed (lo, hi]; the mean over classes. A fraction in [0, 1].
public func classwiseECE(logits: Tensor, labels: [Int], bins: Int = 15) -> Double {
  let n = logits.rows
  let c = logits.rowSize
  guard n > 0, c > 0 else { return .nan }
  var confidence = [Double](repeating: 0, count: c * bins)
  var hits = [Double](repeating: 0, count: c * bins)
  var counts = [Double](repeating: 0, count: c * bins)
  for i in 0..<n {
    let z = logits.pointer + i * c
    let lse = rowLogSumExp(z, count: c)
    for j in 0..<c {
      let p = exp64(Double(z[j]) - lse)
      guard p > 0 else { continue }
      let b = Swift.min(Int((p * Double(bins)).rounded(.up)) - 1, bins - 1)
      confidence[j * bins + b] += p
      hits[j * bins + b] += labels[i] == j ? 1 : 0
      counts[j * bins + b] += 1
    }
  }
  var total = 0.0
  for k in 0..<(c * bins) where counts[k] > 0 { total += Swift.abs(confidence[k] - hits[k]) / Double(n) }
  return total / Double(c)
}
