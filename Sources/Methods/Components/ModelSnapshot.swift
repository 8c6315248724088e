import Engine
import NN

/// A copy of everything a training step changes: the parameters' values, the running statistics
/// (BatchNorm) and, optionally, the optimiser's momentum buffers. Restoring it undoes any number of
/// steps exactly (bitwise), which a probe step (susceptibility) and best-epoch selection (CALS) need.
public struct ModelSnapshot {
  private var values: [[Float]]
  private var statistics: [[Float]]
  private var optimizerState: [ObjectIdentifier: [Float]]?

  /// Saves `model` (and `optimizer`'s state when given).
  public init(_ model: Classifier, optimizer: SGD? = nil) {
    values = model.parameters.map { Array($0.value.buffer) }
    statistics = model.runningStatistics.map { Array($0.buffer) }
    optimizerState = optimizer?.savedState()
  }

  /// Writes the saved values back into `model` (and `optimizer`, if its state was saved).
  public func restore(_ model: Classifier, optimizer: SGD? = nil) {
    for (p, v) in zip(model.parameters, values) { p.value.pointer.update(from: v, count: v.count) }
    for (t, v) in zip(model.runningStatistics, statistics) { t.pointer.update(from: v, count: v.count) }
    if let optimizer, let optimizerState { optimizer.restore(optimizerState) }
  }
}

/// Mean cross-entropy of `logits` [N, C] against `labels`; writes ∂/∂logits into `gradient` scaled
/// by `scale` per row (1/N for the mean, 1 for per-example gradients). Double accumulation.
@discardableResult
func plainCrossEntropy(_ logits: Tensor, _ labels: [Int], gradient: Tensor?, perRowScale scale: Double) -> Double {
  let n = logits.rows
  let c = logits.rowSize
  gradient?.resize(logits.shape)
  var total = 0.0
  for i in 0..<n {
    let z = logits.pointer + i * c
    let lse = rowLogSumExp(z, count: c)
    total += lse - Double(z[labels[i]])
    if let g = gradient.map({ $0.pointer + i * c }) {
      for j in 0..<c {
        let p = exp64(Double(z[j]) - lse)
        g[j] = Float(scale * (p - (j == labels[i] ? 1 : 0)))
      }
    }
  }
  return total / Double(Swift.max(n, 1))
}
