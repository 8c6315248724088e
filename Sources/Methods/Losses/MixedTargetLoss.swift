import Engine

/// A loss that also accepts mixed targets, for input-mixing methods (UniMix, mixup).
///
/// Example i was mixed from two inputs with factor λ_i; its loss is
/// λ_i·ℓ(z_i, t_i) + (1 − λ_i)·ℓ(z_i, t2_i), and the batch loss is the plain mean over N of those
/// (Prior-LT `core.py` `train()`). `λ_i = 1` everywhere gives the unmixed per-example mean.
public protocol MixedTargetLoss: ClassificationLoss {
  /// The mixed batch loss; writes ∂loss/∂logits into `gradient` (resized to `logits.shape`).
  /// - Parameters: logits [N, C]; targets, partnerTargets: N class indices; lambdas: N factors in [0, 1].
  func loss(
    logits: Tensor, targets: [Int], partnerTargets: [Int], lambdas: [Float], gradient: Tensor
  ) -> Double
}
