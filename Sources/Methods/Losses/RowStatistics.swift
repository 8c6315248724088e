import Engine

/// The max of a row of `count` logits and how many entries equal it (margin penalties split the
/// gradient through the max evenly among ties, as PyTorch's `amax` backward).
@inline(__always) func rowMax(_ z: UnsafePointer<Float>, count c: Int) -> (max: Float, ties: Int) {
  var m = -Float.infinity
  for j in 0..<c { m = Swift.max(m, z[j]) }
  var ties = 0
  for j in 0..<c where z[j] == m { ties += 1 }
  return (m, ties)
}

/// log Σ_j exp(z_j) of a row of `count` logits, max-subtracted, in `Double`.
@inline(__always) func rowLogSumExp(_ z: UnsafePointer<Float>, count c: Int) -> Double {
  let m = rowMax(z, count: c).max
  var s = 0.0
  for j in 0..<c { s += exp64(Double(z[j] - m)) }
  return Double(m) + log64(s)
}
