import Engine
import Foundation

/// Focal loss (Lin et al., ICCV 2017), as the LDAM-DRW code computes it.
///
/// Per example, with class weights w (1 when unset):
/// 1. c_i = w[t_i]·(−log softmax(z_i)[t_i])   (weighted, unreduced cross-entropy)
/// 2. p_i = exp(−c_i)
/// 3. ℓ_i = (1 − p_i)^γ · c_i
/// and loss = (1/N) Σ_i ℓ_i.
///
/// Code, not paper: with weights, p_i = softmax[t_i]^{w[t_i]} is not the model's probability, and the
/// mean divides by N, not by Σ w; so γ = 0 with weights is not the weighted cross-entropy (γ = 0
/// without weights is). `cifar_train.py` uses γ = 1.
/// Gradient: ∂ℓ_i/∂c_i = (1 − p)^γ + γ·c·p·(1 − p)^{γ−1}, ∂c_i/∂z_ij = w[t_i]·(softmax_j − [j = t_i]).
/// At c_i = 0 with γ < 1 the second term is taken as its limit 0 (autograd would give NaN).
///
/// **References:**
/// - Lin, Goyal, Girshick, He, Dollár, "Focal Loss for Dense Object Detection", ICCV 2017.
/// - kaidic/LDAM-DRW `losses.py` `focal_loss`, `FocalLoss` (@ 3193f05c, `reduction='none'` fix).
public final class FocalLoss: ClassificationLoss {
  public var classWeights: [Float]?
  /// The focusing parameter γ ≥ 0.
  public let gamma: Double
  private var row = SoftmaxRow()

  /// Creates the loss.
  public init(gamma: Double, classWeights: [Float]? = nil) {
    precondition(gamma >= 0, "focal gamma must be ≥ 0")
    self.gamma = gamma
    self.classWeights = classWeights
  }

  /// ℓ = (1 − e^{−c})^γ·c for a weighted cross-entropy c ≥ 0, and dℓ/dc.
  static func modulate(_ c: Double, gamma: Double) -> (loss: Double, derivative: Double) {
    let q = -expm1(-c)  // 1 − p, accurate for small c
    let p = 1 - q
    let factor = pow64(q, gamma)
    var derivative = factor
    if gamma != 0 && c > 0 { derivative += gamma * c * p * pow64(q, gamma - 1) }
    return (factor * c, derivative)
  }

  public func loss(logits: Tensor, targets: [Int], gradient: Tensor) -> Double {
    let (n, c) = row.begin(logits, targets, gradient)
    let inv = n > 0 ? 1 / Double(n) : 0
    var total = 0.0
    for i in 0..<n {
      let t = targets[i]
      let w = classWeight(classWeights, t)
      row.load(logits, row: i)
      let (l, dl) = Self.modulate(w * row.nll(t), gamma: gamma)
      total += l
      row.writeGradient(gradient.pointer + i * c, target: t, factor: inv * dl * w)
    }
    return total * inv
  }
}
