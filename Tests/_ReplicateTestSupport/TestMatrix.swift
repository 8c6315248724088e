import Engine

/// A deterministic pseudo-random matrix in [−scale, scale] (no dependence on the RNG's mapping).
public func testMatrix(rows: Int, cols: Int, seed: UInt64, scale: Float = 2) -> Tensor {
  var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
  var values: [Float] = []
  for _ in 0..<(rows * cols) {
    state = splitMix64(state)
    let u = Float(state >> 40) / Float(1 << 24)  // [0, 1)
    values.append((2 * u - 1) * scale)
  }
  return Tensor(shape: [rows, cols], values: values)
}
