import Engine

/// Cross-entropy, as `torch.nn.functional.cross_entropy` with `reduction='mean'`.
///
/// Unweighted: (1/N) Σ_i −log softmax(z_i)[t_i]. With class weights w: Σ_i w[t_i]·nll_i / Σ_i w[t_i].
///
/// **References:** `nn.CrossEntropyLoss(weight=per_cls_weights)` in kaidic/LDAM-DRW `cifar_train.py`.
public final class CrossEntropyLoss: ClassificationLoss {
  public var classWeights: [Float]?

  /// Creates the loss, optionally weighted.
  public init(classWeights: [Float]? = nil) { self.classWeights = classWeights }

  public func loss(logits: Tensor, targets: [Int], gradient: Tensor) -> Double {
    let n = logits.rows, c = logits.rowSize
    gradient.resize(logits.shape)
    Kernels.softmaxRows(logits.pointer, gradient.pointer, rows: n, cols: c)
    var total = 0.0
    var weightSum = 0.0
    for i in 0..<n {
      let t = targets[i]
      let w = Double(classWeights?[t] ?? 1)
      total += w * (Kernels.logSumExp(logits.pointer + i * c, cols: c) - Double(logits[i * c + t]))
      weightSum += w
    }
    // ∂/∂z_ij = w_{t_i}·(p_ij − [j = t_i]) / Σ w.
    let inv = weightSum > 0 ? 1 / weightSum : 0
    for i in 0..<n {
      let t = targets[i]
      let scale = Float(Double(classWeights?[t] ?? 1) * inv)
      let row = gradient.pointer + i * c
      row[t] -= 1
      for j in 0..<c { row[j] *= scale }
    }
    return total * inv
  }
}
