/// Elementwise, reduction and softmax kernels over raw buffers.
///
/// Loops are written over unsafe pointers with no bounds checks in the body so that the compiler
/// vectorises them in release builds.
public enum Kernels {
  /// y ← max(x, 0). `x` and `y` may alias.
  @inlinable
  public static func relu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { y[i] = Swift.max(x[i], 0) }
  }

  /// dx ← dy where y > 0, else 0 (ReLU backward from its output). `dy` and `dx` may alias.
  /// Branch-free: the select is computed with a bit mask, since Swift lowers `c ? a : b` here to a
  /// branch that mispredicts on half the elements (measured 14× slower on 2 M elements).
  @inlinable
  public static func reluBackward(
    output y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
    count: Int
  ) {
    for i in 0..<count { dx[i] = Float(bitPattern: dy[i].bitPattern & positiveMask(y[i])) }
  }

  /// All ones when x > 0, else zero (a bit mask for branch-free selects).
  @inlinable @inline(__always)
  public static func positiveMask(_ x: Float) -> UInt32 {
    UInt32(bitPattern: -Int32(truncatingIfNeeded: x > 0 ? 1 : 0))
  }

  /// Adds `bias[j]` to every row's element j, optionally followed by ReLU (fused bias + ReLU).
  @inlinable
  public static func addBias(
    _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>, relu: Bool
  ) {
    addBias(y, rows: rows, cols: cols, ld: cols, bias: bias, relu: relu)
  }

  /// ``addBias(_:rows:cols:bias:relu:)`` on a column block of a matrix with row stride `ld`.
  @inlinable
  public static func addBias(
    _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int, bias: UnsafePointer<Float>, relu: Bool
  ) {
    for r in 0..<rows {
      let row = y + r * ld
      if relu {
        for j in 0..<cols { row[j] = Swift.max(row[j] + bias[j], 0) }
      } else {
        for j in 0..<cols { row[j] += bias[j] }
      }
    }
  }

  /// out[j] ← β·out[j] + Σ_r x[r·cols + j] (column sums; the bias gradient).
  @inlinable
  public static func columnSums(
    _ x: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>,
    beta: Float = 0
  ) {
    columnSums(x, rows: rows, cols: cols, ld: cols, into: out, beta: beta)
  }

  /// out[j] ← β·out[j] + Σ_r x[r·ld + j] for j < cols: column sums of a column block of a matrix with
  /// row stride `ld` (same order of additions as ``columnSums(_:rows:cols:into:beta:)``).
  @inlinable
  public static func columnSums(
    _ x: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int, into out: UnsafeMutablePointer<Float>,
    beta: Float = 0
  ) {
    if beta == 0 {
      out.update(repeating: 0, count: cols)
    } else if beta != 1 {
      for j in 0..<cols { out[j] *= beta }
    }
    for r in 0..<rows {
      let row = x + r * ld
      for j in 0..<cols { out[j] += row[j] }
    }
  }

  /// y ← y + α·x.
  @inlinable
  public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { y[i] += alpha * x[i] }
  }

  /// x ← α·x.
  @inlinable
  public static func scale(_ x: UnsafeMutablePointer<Float>, by alpha: Float, count: Int) {
    for i in 0..<count { x[i] *= alpha }
  }

  /// z ← x + y.
  @inlinable
  public static func add(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, count: Int
  ) {
    for i in 0..<count { z[i] = x[i] + y[i] }
  }

  /// Σ x[i] accumulated in `Double` (order fixed: index order).
  @inlinable
  public static func sum(_ x: UnsafePointer<Float>, count: Int) -> Double {
    var s = 0.0
    for i in 0..<count { s += Double(x[i]) }
    return s
  }

  /// Row-wise softmax: p[r] ← softmax(z[r]) over `cols` entries; max-subtracted for stability.
  /// `z` and `p` may alias.
  public static func softmaxRows(
    _ z: UnsafePointer<Float>, _ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int
  ) {
    for r in 0..<rows {
      let zi = z + r * cols
      let pi = p + r * cols
      var m = -Float.infinity
      for j in 0..<cols { m = Swift.max(m, zi[j]) }
      var s: Float = 0
      for j in 0..<cols {
        let e = expf32(zi[j] - m)
        pi[j] = e
        s += e
      }
      let inv = 1 / s
      for j in 0..<cols { pi[j] *= inv }
    }
  }

  /// Row-wise log-sum-exp of z (max-subtracted), in `Double`.
  public static func logSumExp(_ z: UnsafePointer<Float>, cols: Int) -> Double {
    var m = -Float.infinity
    for j in 0..<cols { m = Swift.max(m, z[j]) }
    var s = 0.0
    for j in 0..<cols { s += exp64(Double(z[j] - m)) }
    return Double(m) + log64(s)
  }

  /// The index of the largest entry of each row (ties to the lower index).
  public static func argmaxRows(_ z: UnsafePointer<Float>, rows: Int, cols: Int) -> [Int] {
    var out = [Int](repeating: 0, count: rows)
    for r in 0..<rows {
      let zi = z + r * cols
      var best = 0
      for j in 1..<Swift.max(cols, 1) where zi[j] > zi[best] { best = j }
      out[r] = best
    }
    return out
  }
}
