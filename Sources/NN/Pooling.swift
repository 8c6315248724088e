import Engine

/// Max pooling over k×k windows with stride k (no padding, floor), NHWC. The gradient goes to the
/// first maximal element of each window, as PyTorch's CPU kernel.
public final class MaxPool2d: Layer {
  /// Window size and stride.
  public let size: Int
  public var needsInputGradient = true
  private let output = Tensor(shape: [0]), dx = Tensor(shape: [0])
  private var argmax: [Int32] = []
  private var inputShape: [Int] = []

  /// A k×k max-pool with stride k.
  public init(_ size: Int = 2) { self.size = size }

  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    let n = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3]
    let oh = h / size, ow = w / size
    inputShape = x.shape
    output.resize([n, oh, ow, c])
    if argmax.count != output.count { argmax = [Int32](repeating: 0, count: output.count) }
    let xp = x.pointer, yp = output.pointer
    argmax.withUnsafeMutableBufferPointer { am in
      for b in 0..<n {
        for oy in 0..<oh {
          for ox in 0..<ow {
            let o = ((b * oh + oy) * ow + ox) * c
            let first = ((b * h + oy * size) * w + ox * size) * c
            for ch in 0..<c {
              yp[o + ch] = xp[first + ch]
              am[o + ch] = Int32(first + ch)
            }
            for ky in 0..<size {
              for kx in 0..<size where ky != 0 || kx != 0 {
                let i = ((b * h + oy * size + ky) * w + ox * size + kx) * c
                for ch in 0..<c where xp[i + ch] > yp[o + ch] {
                  yp[o + ch] = xp[i + ch]
                  am[o + ch] = Int32(i + ch)
                }
              }
            }
          }
        }
      }
    }
    return output
  }

  public func backward(_ dy: Tensor) -> Tensor {
    dx.resize(inputShape)
    dx.fill(0)
    let d = dx.pointer, g = dy.pointer
    argmax.withUnsafeBufferPointer { am in
      for i in 0..<dy.count { d[Int(am[i])] += g[i] }
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
