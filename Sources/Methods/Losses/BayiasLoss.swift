import Engine
import Foundation

/// Bayias-compensated cross-entropy (Xu, Chai, Yuan, NeurIPS 2021), as the official code.
///
/// From the training counts n and an inference label distribution q (default all ones = uniform,
/// as `train.py` sets it; it need not be normalised):
/// 1. a_c = z_c + log(n_c / Σn) − log(q_c / Σq)
/// 2. ℓ_i = w[t_i]·(−log softmax(a_i)[t_i])   (`reduction='none'`; the code's weight is always None)
/// 3. loss = (1/N) Σ_i ℓ_i   (`torch.mean` in `core.py` `train()`; ÷ N also when weighted).
/// With q uniform this is logit adjustment with τ = 1 (the extra log C is a constant shift).
/// With UniMix (``MixedTargetLoss``): loss = mean_i (λ_i·ℓ(a_i, t_i) + (1 − λ_i)·ℓ(a_i, t2_i)).
/// Train-time only: the official `validate` predicts with the raw logits.
///
/// **References:**
/// - Xu, Chai, Yuan, "Towards Calibrated Model for Long-Tailed Visual Recognition from Prior
///   Perspective", NeurIPS 2021 (arXiv 2111.03874).
/// - XuZhengzhuo/Prior-LT `core.py` `Bayias_compensated_loss` and `train()`.
public final class BayiasLoss: MixedTargetLoss {
  public var classWeights: [Float]?
  /// The offsets log π_c − log q̂_c added to every logit.
  public let offsets: [Double]
  private var row = SoftmaxRow()

  /// Creates the loss; `inferenceDistribution` q (positive, unnormalised) defaults to uniform.
  public init(classCounts: [Int], inferenceDistribution: [Double]? = nil, classWeights: [Float]? = nil) {
    precondition(classCounts.allSatisfy { $0 >= 1 }, "class counts must be ≥ 1")
    let q = inferenceDistribution ?? [Double](repeating: 1, count: classCounts.count)
    precondition(q.count == classCounts.count && q.allSatisfy { $0 > 0 }, "q must be positive, one per class")
    let prior = logitAdjustmentOffsets(classCounts: classCounts, tau: 1)
    let qSum = q.reduce(0, +)
    offsets = zip(prior, q).map { $0 - log($1 / qSum) }
    self.classWeights = classWeights
  }

  public func loss(logits: Tensor, targets: [Int], gradient: Tensor) -> Double {
    adjustedCrossEntropy(
      logits: logits, targets: targets, gradient: gradient, adjustment: LogitAdjustment(offset: offsets),
      weights: classWeights, reduction: .batchMean, row: &row)
  }

  public func loss(
    logits: Tensor, targets: [Int], partnerTargets: [Int], lambdas: [Float], gradient: Tensor
  ) -> Double {
    mixedAdjustedCrossEntropy(
      logits: logits, targets: targets, partnerTargets: partnerTargets, lambdas: lambdas,
      gradient: gradient, adjustment: LogitAdjustment(offset: offsets), weights: classWeights, row: &row)
  }
}
