import Engine

/// Cross-entropy, as `torch.nn.functional.cross_entropy`.
///
/// ℓ_i = −log softmax(z_i)[t_i]. With the default reduction (PyTorch's `mean`) the loss is
/// (1/N) Σ_i ℓ_i unweighted and Σ_i w[t_i]·ℓ_i / Σ_i w[t_i] with class weights w, so uniform weights
/// give the unweighted loss. All-equal logits give log C.
/// ∂loss/∂z_ij = w[t_i]·(softmax(z_i)_j − [j = t_i]) / Σ_k w[t_k].
///
/// **References:**
/// - `nn.CrossEntropyLoss(weight=per_cls_weights)` in kaidic/LDAM-DRW `cifar_train.py` (ERM, and
///   CE-DRW when a re-weighting schedule sets ``classWeights``).
/// - `reduction: .batchMean` is hitachi-rd-cv/CDB-loss `CIFAR-LT/losses/cdb_loss.py`
///   (`reduction='none'` then `torch.mean`).
public final class CrossEntropyLoss: MixedTargetLoss {
  public var classWeights: [Float]?
  /// How per-example losses are reduced (default: PyTorch's weighted mean).
  public let reduction: LossReduction
  private var row = SoftmaxRow()

  /// Creates the loss, optionally weighted.
  public init(classWeights: [Float]? = nil, reduction: LossReduction = .weightedMean) {
    self.classWeights = classWeights
    self.reduction = reduction
  }

  public func loss(logits: Tensor, targets: [Int], gradient: Tensor) -> Double {
    adjustedCrossEntropy(
      logits: logits, targets: targets, gradient: gradient, adjustment: LogitAdjustment(),
      weights: classWeights, reduction: reduction, row: &row)
  }

  /// The per-example mix λ_i·ℓ(z_i, t_i) + (1 − λ_i)·ℓ(z_i, t2_i), averaged over N.
  ///
  /// Prior-LT's `train()` with `loss_type='CE'` reduces each term to a batch mean first (a bug:
  /// mean(λ)·CE(t) + (1 − mean(λ))·CE(t2)); this follows its per-example Bayias path instead.
  public func loss(
    logits: Tensor, targets: [Int], partnerTargets: [Int], lambdas: [Float], gradient: Tensor
  ) -> Double {
    mixedAdjustedCrossEntropy(
      logits: logits, targets: targets, partnerTargets: partnerTargets, lambdas: lambdas,
      gradient: gradient, adjustment: LogitAdjustment(), weights: classWeights, row: &row)
  }
}
