import Engine
import Foundation

/// α-loss (Sypherd, Diaz, Cava, Dasarathy, Kairouz, Sankar, IEEE Trans. Inf. Theory 2022), as the
/// official code.
///
/// With p_i = softmax(z_i)[t_i]:
/// - α = 1 exactly: ℓ_i = −log(p_i + 1e-8)   (log loss; the code puts 1e-8 **inside** the log, which
///   caps ℓ at −log 1e-8 ≈ 18.42 and leaves saturated rows almost without gradient);
/// - otherwise: ℓ_i = α/(α − 1)·(1 − p_i^{1 − 1/α});
/// and loss = (1/N) Σ_i ℓ_i. α → ∞ (1 − p) is not supported by the code, nor here.
/// Gradient: ∂ℓ/∂z_ik = p^{1−1/α}·(softmax_k − [k = t]) for α ≠ 1, p/(p + 1e-8)·(softmax_k − [k = t])
/// for α = 1. 1 − p^e is computed as −expm1(e·log p), exact near α = 1 where it cancels.
///
/// **References:**
/// - Sypherd et al., "A Tunable Loss Function for Robust Classification: Calibration, Landscape, and
///   Generalization", IEEE Trans. Inf. Theory 2022 (arXiv 1906.02314).
/// - SankarLab/AlphaLoss-TransIT-Code-MNIST-CIFAR
///   `Noisy_MultiClass/CIFAR10/CNN_2_1/cifar-noise-alpha.py` `alpha_loss`.
public final class AlphaLoss: ClassificationLoss {
  /// Ignored: α-loss has no class weights in the official code.
  public var classWeights: [Float]?
  /// The order α > 0.
  public let alpha: Double
  private var row = SoftmaxRow()

  /// Creates the loss.
  public init(alpha: Double) {
    precondition(alpha > 0 && alpha.isFinite, "alpha must be positive and finite")
    self.alpha = alpha
  }

  public func loss(logits: Tensor, targets: [Int], gradient: Tensor) -> Double {
    let (n, c) = row.begin(logits, targets, gradient)
    let inv = n > 0 ? 1 / Double(n) : 0
    let e = 1 - 1 / alpha
    var total = 0.0
    for i in 0..<n {
      let t = targets[i]
      row.load(logits, row: i)
      let logP = -row.nll(t)
      let factor: Double
      if alpha == 1 {
        let p = exp(logP)
        total += -log(p + 1e-8)
        factor = p / (p + 1e-8)
      } else {
        total += alpha / (alpha - 1) * -expm1(e * logP)
        factor = exp(e * logP)
      }
      row.writeGradient(gradient.pointer + i * c, target: t, factor: inv * factor)
    }
    return total * inv
  }
}
