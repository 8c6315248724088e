import Engine

/// Max pooling over k×k windows with stride k (no padding, floor), NHWC. The gradient goes to the
/// first maximal element of each window in row-major window order, as PyTorch's CPU kernel.
///
/// Both passes are vectorised over channels: the forward pass is an elementwise max over the k² window
/// rows; the backward pass recomputes the arg-max as "first position equal to the maximum" with bit
/// masks instead of storing indices.
public final class MaxPool2d: Layer {
  /// Window size and stride.
  public let size: Int
  public var needsInputGradient = true
  private let output = Tensor(shape: [0]), dx = Tensor(shape: [0])
  private var input: Tensor?
  private var remaining: [UInt32] = []

  /// A k×k max-pool with stride k.
  public init(_ size: Int = 2) { self.size = size }

  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    let n = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3]
    let oh = h / size, ow = w / size
    input = x
    output.resize([n, oh, ow, c])
    let xp = x.pointer, yp = output.pointer
    for b in 0..<n {
      for oy in 0..<oh {
        for ox in 0..<ow {
          let y = yp + ((b * oh + oy) * ow + ox) * c
          let first = xp + ((b * h + oy * size) * w + ox * size) * c
          y.update(from: first, count: c)
          for ky in 0..<size {
            for kx in 0..<size where ky != 0 || kx != 0 {
              let src = xp + ((b * h + oy * size + ky) * w + ox * size + kx) * c
              for ch in 0..<c { y[ch] = Swift.max(y[ch], src[ch]) }
            }
          }
        }
      }
    }
    return output
  }

  public func backward(_ dy: Tensor) -> Tensor {
    guard let x = input else { preconditionFailure("MaxPool2d.backward before forward") }
    let n = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3]
    let oh = h / size, ow = w / size
    dx.resize(x.shape)
    if h % size != 0 || w % size != 0 { dx.fill(0) }  // rows/columns outside every window
    if remaining.count != c { remaining = [UInt32](repeating: 0, count: c) }
    let xp = x.pointer, yp = output.pointer, gp = dy.pointer, dp = dx.pointer
    remaining.withUnsafeMutableBufferPointer { rem in
      for b in 0..<n {
        for oy in 0..<oh {
          for ox in 0..<ow {
            let o = ((b * oh + oy) * ow + ox) * c
            let y = yp + o, g = gp + o
            for ch in 0..<c { rem[ch] = ~0 }
            for ky in 0..<size {
              for kx in 0..<size {
                let i = ((b * h + oy * size + ky) * w + ox * size + kx) * c
                let src = xp + i, d = dp + i
                for ch in 0..<c {
                  let hit = UInt32(bitPattern: -Int32(truncatingIfNeeded: src[ch] == y[ch] ? 1 : 0)) & rem[ch]
                  d[ch] = Float(bitPattern: g[ch].bitPattern & hit)
                  rem[ch] &= ~hit
                }
              }
            }
          }
        }
      }
    }
    return dx
  }
}

/// Global average pooling: [N, H, W, C] → [N, C].
public final class GlobalAvgPool: Layer {
  public var needsInputGradient = true
  private let output = Tensor(shape: [0]), dx = Tensor(shape: [0])
  private var inputShape: [Int] = []

  /// A global average pool.
  public init() {}

  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    let n = x.shape[0], hw = x.shape[1] * x.shape[2], c = x.shape[3]
    inputShape = x.shape
    output.resize([n, c])
    output.fill(0)
    let inv = 1 / Float(hw)
    for b in 0..<n {
      let o = output.pointer + b * c
      for p in 0..<hw {
        let xi = x.pointer + (b * hw + p) * c
        for ch in 0..<c { o[ch] += xi[ch] }
      }
      for ch in 0..<c { o[ch] *= inv }
    }
    return output
  }

  public func backward(_ dy: Tensor) -> Tensor {
    let n = inputShape[0], hw = inputShape[1] * inputShape[2], c = inputShape[3]
    dx.resize(inputShape)
    let inv = 1 / Float(hw)
    for b in 0..<n {
      let g = dy.pointer + b * c
      for p in 0..<hw {
        let d = dx.pointer + (b * hw + p) * c
        for ch in 0..<c { d[ch] = g[ch] * inv }
      }
    }
    return dx
  }
}
