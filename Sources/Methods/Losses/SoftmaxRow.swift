import Engine

/// One row of (adjusted) logits held in `Double`, with its softmax and log-sum-exp.
///
/// Every softmax-based loss here fills ``logits`` from a row of the network's Float32 output (after
/// its own adjustment: margin, scale, offset, clip), calls ``update()``, reads ``nll(_:)`` and then
/// writes its gradient. Working in `Double` keeps the loss and gradient of a Float32 input within a
/// few ulps of the float64 reference, also for saturated logits (±1500 after LDAM's scale).
/// The buffers grow to the number of classes once and are reused: no allocation per row or step.
struct SoftmaxRow {
  /// The row's logits, as the loss feeds them to softmax.
  var logits: [Double] = []
  /// softmax(logits), valid after ``update()``.
  var probabilities: [Double] = []
  /// log Σ_j exp(logits_j), valid after ``update()``.
  var logSumExp: Double = 0

  /// The number of classes.
  var count: Int { logits.count }

  /// Sets the number of classes (keeps the storage when it does not change).
  mutating func resize(_ classes: Int) {
    if logits.count != classes {
      logits = [Double](repeating: 0, count: classes)
      probabilities = [Double](repeating: 0, count: classes)
    }
  }

  /// Starts a batch: checks one target per row, sizes `gradient` like `logits` and this row to C.
  /// Returns (N, C).
  mutating func begin(_ logits: Tensor, _ targets: [Int], _ gradient: Tensor) -> (n: Int, c: Int) {
    let n = logits.rows
    let c = logits.rowSize
    precondition(targets.count == n, "\(targets.count) targets for \(n) rows")
    gradient.resize(logits.shape)
    resize(c)
    return (n, c)
  }

  /// Loads row i of `logits` unchanged and computes its softmax.
  mutating func load(_ logits: Tensor, row i: Int) {
    load(logits.pointer + i * count)
    update()
  }

  /// Copies a Float32 row into ``logits``.
  mutating func load(_ row: UnsafePointer<Float>) {
    for j in 0..<logits.count { logits[j] = Double(row[j]) }
  }

  /// Computes ``probabilities`` and ``logSumExp`` from ``logits`` (max-subtracted).
  mutating func update() {
    var m = -Double.infinity
    for v in logits { m = Swift.max(m, v) }
    var s = 0.0
    for j in 0..<logits.count {
      let e = exp64(logits[j] - m)
      probabilities[j] = e
      s += e
    }
    for j in 0..<logits.count { probabilities[j] /= s }
    logSumExp = m + log64(s)
  }

  /// −log softmax(logits)[t], ≥ 0.
  func nll(_ t: Int) -> Double { Swift.max(logSumExp - logits[t], 0) }

  /// Writes factor·scale_j·(softmax_j − [j = t]) into a Float32 gradient row: factor times
  /// ∂nll(t)/∂logits, times the Jacobian `scale` (diagonal) of an adjustment when given.
  func writeGradient(
    _ row: UnsafeMutablePointer<Float>, target t: Int, factor: Double, scale: [Double]? = nil
  ) {
    for j in 0..<logits.count {
      let s = scale?[j] ?? 1
      row[j] = Float(factor * s * (probabilities[j] - (j == t ? 1 : 0)))
    }
  }
}

/// Σ_i w[t_i] over a batch (N when unweighted): the denominator of PyTorch's weighted `mean`.
func targetWeightSum(_ targets: [Int], _ weights: [Float]?) -> Double {
  guard let weights else { return Double(targets.count) }
  var s = 0.0
  for t in targets { s += Double(weights[t]) }
  return s
}

/// The weight of class t (1 when unweighted).
@inline(__always) func classWeight(_ weights: [Float]?, _ t: Int) -> Double {
  weights.map { Double($0[t]) } ?? 1
}
