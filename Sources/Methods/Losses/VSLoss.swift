import Engine
import Foundation

/// Vector-scaling (VS) loss (Kini, Paraskevas, Oymak, Thrampoulidis, NeurIPS 2021), as the official code.
///
/// From the training counts n (computed once), with π_c = n_c / Σ_k n_k:
/// 1. t_c = (1/n_c)^γ / min_k (1/n_k)^γ = (n_max/n_c)^γ ≥ 1   (the code's `Delta_list`)
/// 2. ι_c = τ·log π_c                                            (the code's `iota_list`, natural log)
/// Per batch:
/// 3. a_c = z_c / t_c + ι_c for **every** class c (divide first, then add),
/// 4. cross-entropy with PyTorch's mean: Σ_i w[t_i]·ℓ_i / Σ_i w[t_i] (÷ N unweighted).
/// The paper writes a multiplicative Δ_c = (n_c/n_max)^γ ≤ 1, the same thing as dividing by t_c.
/// τ = 0 is CDT (class-dependent temperature, Ye et al.); γ = 0 is logit adjustment
/// (``LogitAdjustedLoss``). ∂loss/∂z_c = ∂loss/∂a_c / t_c. Test-time predictions use the raw logits.
///
/// **References:**
/// - Kini, Paraskevas, Oymak, Thrampoulidis, "Label-Imbalanced and Group-Sensitive Classification
///   under Overparameterization", NeurIPS 2021 (arXiv 2103.01550).
/// - orparask/VS-Loss `class_imbalance/losses.py` `VSLoss` (`train.py` defaults `--gamma 0.3`, `--tau 1.0`).
public final class VSLoss: ClassificationLoss {
  public var classWeights: [Float]?
  /// The divisors t_c = (n_max/n_c)^γ ≥ 1 (1/Δ_c in the paper's notation).
  public let temperatures: [Double]
  /// The additive offsets ι_c = τ·log π_c.
  public let offsets: [Double]
  private let adjustment: LogitAdjustment
  private var row = SoftmaxRow()

  /// Creates the loss for a training set with the given per-class counts (each ≥ 1).
  public init(classCounts: [Int], gamma: Double = 0.3, tau: Double = 1.0, classWeights: [Float]? = nil) {
    precondition(classCounts.allSatisfy { $0 >= 1 }, "class counts must be ≥ 1")
    let raw = classCounts.map { pow(1 / Double($0), gamma) }
    let smallest = raw.min() ?? 1
    temperatures = raw.map { $0 / smallest }
    offsets = logitAdjustmentOffsets(classCounts: classCounts, tau: tau)
    self.classWeights = classWeights
    adjustment = LogitAdjustment(scale: temperatures.map { 1 / $0 }, offset: offsets)
  }

  public func loss(logits: Tensor, targets: [Int], gradient: Tensor) -> Double {
    adjustedCrossEntropy(
      logits: logits, targets: targets, gradient: gradient, adjustment: adjustment,
      weights: classWeights, reduction: .weightedMean, row: &row)
  }
}

/// ι_c = τ·log(n_c / Σ_k n_k), the additive logit adjustment (natural log).
public func logitAdjustmentOffsets(classCounts: [Int], tau: Double) -> [Double] {
  let total = Double(classCounts.reduce(0, +))
  return classCounts.map { tau * log(Double($0) / total) }
}

/// Logit-adjusted cross-entropy (Menon et al., ICLR 2021): a_c = z_c + τ·log π_c, then
/// cross-entropy with PyTorch's mean (weighted when ``classWeights`` are set).
///
/// This is VS loss with γ = 0, as the VS-Loss code runs it (`--loss_type LA`). Since a shift common
/// to a row cancels, it equals CE on z_c + τ·log(n_c/n_max). Train-time only: predictions use raw z.
///
/// **References:**
/// - Menon, Jayasumana, Rawat, Jain, Veit, Kumar, "Long-tail learning via logit adjustment",
///   ICLR 2021 (arXiv 2007.07314), Eq. 10 (logit-adjusted loss).
/// - orparask/VS-Loss `class_imbalance/losses.py` `VSLoss` with `gamma=0` (`train.py`, `loss_type 'LA'`).
public final class LogitAdjustedLoss: ClassificationLoss {
  public var classWeights: [Float]?
  /// The offsets τ·log π_c added to every logit.
  public let offsets: [Double]
  private var row = SoftmaxRow()

  /// Creates the loss for a training set with the given per-class counts (each ≥ 1).
  public init(classCounts: [Int], tau: Double = 1.0, classWeights: [Float]? = nil) {
    precondition(classCounts.allSatisfy { $0 >= 1 }, "class counts must be ≥ 1")
    offsets = logitAdjustmentOffsets(classCounts: classCounts, tau: tau)
    self.classWeights = classWeights
  }

  public func loss(logits: Tensor, targets: [Int], gradient: Tensor) -> Double {
    adjustedCrossEntropy(
      logits: logits, targets: targets, gradient: gradient, adjustment: LogitAdjustment(offset: offsets),
      weights: classWeights, reduction: .weightedMean, row: &row)
  }
}
