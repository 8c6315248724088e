import Engine

/// How per-example losses ℓ_i are reduced to the batch loss.
public enum LossReduction: String, Sendable, CaseIterable {
  /// PyTorch's `reduction='mean'` of `F.cross_entropy`: Σ_i w[t_i]·ℓ_i / Σ_i w[t_i]
  /// (Σ_i ℓ_i / N when unweighted).
  case weightedMean = "weighted-mean"
  /// `reduction='none'` followed by `.mean()`: Σ_i w[t_i]·ℓ_i / N (Prior-LT's Bayias, CDB on CIFAR).
  case batchMean = "batch-mean"
}

/// A per-class affine change of the logits before cross-entropy, the common form of LDAM, VS,
/// logit adjustment and Bayias:
///
///   a_ij = scale_j · (z_ij − [j = t_i]·targetMargin[t_i]) + offset_j.
///
/// `nil` arrays mean scale 1, no margin, offset 0. Since the map is affine with a diagonal Jacobian,
/// ∂ℓ/∂z_ij = scale_j · ∂ℓ/∂a_ij.
struct LogitAdjustment {
  /// Multiplier per class (applied after the margin).
  var scale: [Double]? = nil
  /// Margin per class, subtracted from the target logit only, before the scale.
  var targetMargin: [Double]? = nil
  /// Additive offset per class (after the scale).
  var offset: [Double]? = nil

  /// Fills `row.logits` with the adjusted row for target t.
  func apply(_ z: UnsafePointer<Float>, target t: Int, into row: inout SoftmaxRow) {
    for j in 0..<row.count {
      var a = Double(z[j])
      if j == t, let m = targetMargin { a -= m[t] }
      if let s = scale { a *= s[j] }
      if let o = offset { a += o[j] }
      row.logits[j] = a
    }
  }
}

/// Cross-entropy of adjusted logits, reduced as `reduction` says; writes ∂loss/∂logits.
///
/// This is `F.cross_entropy(adjust(z), t, weight=w, reduction=…)` of the upstream losses.
func adjustedCrossEntropy(
  logits: Tensor, targets: [Int], gradient: Tensor, adjustment: LogitAdjustment,
  weights: [Float]?, reduction: LossReduction, row: inout SoftmaxRow
) -> Double {
  let (n, c) = row.begin(logits, targets, gradient)
  let denominator = reduction == .weightedMean ? targetWeightSum(targets, weights) : Double(n)
  let inv = denominator > 0 ? 1 / denominator : 0
  var total = 0.0
  for i in 0..<n {
    let t = targets[i]
    let w = classWeight(weights, t)
    adjustment.apply(logits.pointer + i * c, target: t, into: &row)
    row.update()
    total += w * row.nll(t)
    row.writeGradient(gradient.pointer + i * c, target: t, factor: w * inv, scale: adjustment.scale)
  }
  return total * inv
}

/// The mixed-target form used with UniMix/mixup: per example
/// ℓ_i = λ_i·w[t_i]·nll(a_i, t_i) + (1 − λ_i)·w[t2_i]·nll(a_i, t2_i), and loss = Σ_i ℓ_i / N.
///
/// This is Prior-LT `core.py` `train()`: `lam * criterion(out, y1) + (1 − lam) * criterion(out, y2)`
/// with a per-example criterion, then `torch.mean`.
func mixedAdjustedCrossEntropy(
  logits: Tensor, targets: [Int], partnerTargets: [Int], lambdas: [Float], gradient: Tensor,
  adjustment: LogitAdjustment, weights: [Float]?, row: inout SoftmaxRow
) -> Double {
  let n = logits.rows
  let c = logits.rowSize
  precondition(targets.count == n && partnerTargets.count == n && lambdas.count == n, "batch size mismatch")
  gradient.resize(logits.shape)
  row.resize(c)
  let inv = n > 0 ? 1 / Double(n) : 0
  var total = 0.0
  for i in 0..<n {
    let t1 = targets[i]
    let t2 = partnerTargets[i]
    let lam = Double(lambdas[i])
    let c1 = lam * classWeight(weights, t1)
    let c2 = (1 - lam) * classWeight(weights, t2)
    // The adjustment of a mixed row has no target margin (LDAM is not mixed upstream).
    adjustment.apply(logits.pointer + i * c, target: -1, into: &row)
    row.update()
    total += c1 * row.nll(t1) + c2 * row.nll(t2)
    let g = gradient.pointer + i * c
    for j in 0..<c {
      let s = adjustment.scale?[j] ?? 1
      let d = (c1 + c2) * row.probabilities[j] - (j == t1 ? c1 : 0) - (j == t2 ? c2 : 0)
      g[j] = Float(inv * s * d)
    }
  }
  return total * inv
}

/// Unreduced: losses[i] = w[t_i]·nll(a_i, t_i), and gradient row i = ∂losses[i]/∂z_i.
func perExampleAdjustedCrossEntropy(
  logits: Tensor, targets: [Int], gradient: Tensor, adjustment: LogitAdjustment, weights: [Float]?,
  row: inout SoftmaxRow, into losses: inout [Double]
) {
  let (n, c) = row.begin(logits, targets, gradient)
  losses.removeAll(keepingCapacity: true)
  for i in 0..<n {
    let t = targets[i]
    let w = classWeight(weights, t)
    adjustment.apply(logits.pointer + i * c, target: t, into: &row)
    row.update()
    losses.append(w * row.nll(t))
    row.writeGradient(gradient.pointer + i * c, target: t, factor: w, scale: adjustment.scale)
  }
}
