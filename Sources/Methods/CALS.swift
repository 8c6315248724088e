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
      var m = -Float.infinity
      for j in 0..<c { m = Swift.max(m, x[j]) }
      var ties = 0
      for j in 0..<c where x[j] == m { ties += 1 }
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
      var m = -Float.infinity
      for j in 0..<c { m = Swift.max(m, x[j]) }
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
