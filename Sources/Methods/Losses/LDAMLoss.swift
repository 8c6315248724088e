import Engine
import Foundation

/// Label-distribution-aware margin (LDAM) loss (Cao et al., NeurIPS 2019), as the official code.
///
/// From the training counts n (computed once):
/// 1. m_c = n_c^{−1/4}, rescaled so that max_c m_c = `maxMargin`: m_c = max_m·(n_min/n_c)^{1/4}.
///    The rarest class (e.g. a class of count 1) gets exactly max_m.
/// Per batch:
/// 2. Subtract m_{t_i} from the **target** logit only: z'_i = z_i − m_{t_i}·e_{t_i}.
/// 3. Scale the whole row by s, then cross-entropy with PyTorch's mean:
///    loss = CE(s·z', t, weight = w), i.e. Σ_i w[t_i]·ℓ_i / Σ_i w[t_i] (÷ N unweighted).
/// The margin is subtracted **before** the scale (m is in cosine units: LDAM-DRW feeds the cosine
/// logits of a `NormedLinear` head, in [−1, 1]). ∂loss/∂z = s·∂loss/∂(s·z').
/// Paper vs code: Alg. 1 re-weights by 1/n_y; the code's DRW uses effective-number weights
/// (``ClassWeights/effectiveNumber(classCounts:beta:)``), set through ``classWeights``.
///
/// **References:**
/// - Cao, Wei, Gaidon, Arechiga, Ma, "Learning Imbalanced Datasets with Label-Distribution-Aware
///   Margin Loss", NeurIPS 2019 (arXiv 1906.07413), Sec. 3.2, Alg. 1.
/// - kaidic/LDAM-DRW `losses.py` `LDAMLoss` (defaults `max_m=0.5`, `s=30` as `cifar_train.py` passes).
public final class LDAMLoss: ClassificationLoss {
  public var classWeights: [Float]?
  /// The per-class margins m_c (in the logits' units, before the scale).
  public let margins: [Double]
  /// The logit scale s.
  public let scale: Double
  private let adjustment: LogitAdjustment
  private var row = SoftmaxRow()

  /// The margins m_c = max_m · n_c^{−1/4} / max_k n_k^{−1/4}.
  public static func margins(classCounts: [Int], maxMargin: Double) -> [Double] {
    let raw = classCounts.map { 1 / sqrt(sqrt(Double($0))) }
    let largest = raw.max() ?? 1
    return raw.map { $0 * (maxMargin / largest) }
  }

  /// Creates the loss for a training set with the given per-class counts (each ≥ 1).
  public init(classCounts: [Int], maxMargin: Double = 0.5, scale: Double = 30, classWeights: [Float]? = nil) {
    precondition(classCounts.allSatisfy { $0 >= 1 }, "class counts must be ≥ 1")
    precondition(scale > 0, "LDAM scale s must be > 0")
    self.margins = Self.margins(classCounts: classCounts, maxMargin: maxMargin)
    self.scale = scale
    self.classWeights = classWeights
    self.adjustment = LogitAdjustment(
      scale: [Double](repeating: scale, count: classCounts.count), targetMargin: margins)
  }

  public func loss(logits: Tensor, targets: [Int], gradient: Tensor) -> Double {
    adjustedCrossEntropy(
      logits: logits, targets: targets, gradient: gradient, adjustment: adjustment,
      weights: classWeights, reduction: .weightedMean, row: &row)
  }

  /// The unreduced, weighted per-example losses w[t_i]·ℓ_i and their gradients (row i of `gradient`
  /// is ∂(w[t_i]·ℓ_i)/∂z_i): the `reduction='none'` form ABSGD's `abldam` builds on.
  func perExample(logits: Tensor, targets: [Int], gradient: Tensor, into losses: inout [Double]) {
    perExampleAdjustedCrossEntropy(
      logits: logits, targets: targets, gradient: gradient, adjustment: adjustment,
      weights: classWeights, row: &row, into: &losses)
  }
}
