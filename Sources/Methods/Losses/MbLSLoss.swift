import Engine

/// MbLS, margin-based label smoothing (Liu, Ben Ayed, Galdran, Dolz, CVPR 2022), the fixed-multiplier
/// baseline of CALS: CE + α·mean_{i,j} max(0, max_k z_ik − z_ij − m), the mean over all N·C entries
/// (`F.relu(diff - self.margin).mean()`). The gradient flows through the row max, split evenly among
/// tied maxima (PyTorch's `amax` backward).
///
/// **References:**
/// - by-liu/MbLS `calibrate/losses/logit_margin_l1.py` `LogitMarginL1` (margin 10, alpha 0.1).
public final class MbLSLoss: ClassificationLoss {
  /// Class weights of the cross-entropy term.
  public var classWeights: [Float]? {
    get { crossEntropy.classWeights }
    set { crossEntropy.classWeights = newValue }
  }
  /// The margin m and the penalty weight α.
  public let margin: Double, alpha: Double
  private let crossEntropy = CrossEntropyLoss()

  /// MbLS with margin `margin` and weight `alpha`.
  public init(margin: Double = 10, alpha: Double = 0.1) {
    self.margin = margin
    self.alpha = alpha
  }

  public func loss(logits: Tensor, targets: [Int], gradient: Tensor) -> Double {
    let ce = crossEntropy.loss(logits: logits, targets: targets, gradient: gradient)
    let n = logits.rows
    let c = logits.rowSize
    let unit = alpha / Double(n * c)
    var total = 0.0
    for i in 0..<n {
      let z = logits.pointer + i * c
      let g = gradient.pointer + i * c
      let (m, ties) = rowMax(z, count: c)
      var active = 0
      for j in 0..<c {
        let excess = Double(m) - Double(z[j]) - margin
        if excess > 0 {
          total += excess
          active += 1
          g[j] -= Float(unit)
        }
      }
      if active > 0 {
        for j in 0..<c where z[j] == m { g[j] += Float(unit * Double(active) / Double(ties)) }
      }
    }
    return ce + alpha * total / Double(n * c)
  }
}
