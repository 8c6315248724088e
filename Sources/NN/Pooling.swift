import Engine

/// Max pooling over k×k windows with stride k (no padding, floor), NHWC. The gradient goes to the
/// first maximal element of each window in row-major window order, as PyTorch's CPU kernel.
///
/// Images are split over ``Parallel`` workers (results do not depend on the split).
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
    let n = x.shape[0]
    let h = x.shape[1]
    let w = x.shape[2]
    let c = x.shape[3]
    let oh = h / size
    let ow = w / size
    input = x
    output.resize([n, oh, ow, c])
    let xp = x.pointer
    let yp = output.pointer
    let size = size
    let workers = Parallel.chunkCount(n, grain: Swift.max(1, Parallel.elementwiseGrain / Swift.max(1, h * w * c)))
    Parallel.for(count: workers) { t in
      for b in Parallel.chunk(t, of: workers, count: n) {
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
    }
    return output
  }

  public func backward(_ dy: Tensor) -> Tensor {
    guard let x = input else { preconditionFailure("MaxPool2d.backward before forward") }
    let n = x.shape[0]
    let h = x.shape[1]
    let w = x.shape[2]
    let c = x.shape[3]
    let oh = h / size
    let ow = w / size
    dx.resize(x.shape)
    if h % size != 0 || w % size != 0 { dx.fill(0) }  // rows/columns outside every window
    let workers = Parallel.chunkCount(n, grain: Swift.max(1, Parallel.elementwiseGrain / Swift.max(1, h * w * c)))
    if remaining.count < c * workers { remaining = [UInt32](repeating: 0, count: c * workers) }
    let xp = x.pointer
    let yp = output.pointer
    let gp = dy.pointer
    let dp = dx.pointer
    let size = size
    remaining.withUnsafeMutableBufferPointer { remBuffer in
      guard let remBase = remBuffer.baseAddress else { return }
      Parallel.for(count: workers) { t in
        let rem = remBase + t * c
        for b in Parallel.chunk(t, of: workers, count: n) {
          for oy in 0..<oh {
            for ox in 0..<ow {
              let o = ((b * oh + oy) * ow + ox) * c
              let y = yp + o
              let g = gp + o
              for ch in 0..<c { rem[ch] = ~0 }
              for ky in 0..<size {
                for kx in 0..<size {
                  let i = ((b * h + oy * size + ky) * w + ox * size + kx) * c
                  let src = xp + i
                  let d = dp + i
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
    }
    return dx
  }
}

/// Global average pooling: [N, H, W, C] → [N, C], images split over ``Parallel`` workers.
public final class GlobalAvgPool: Layer {
  public var needsInputGradient = true
  private let output = Tensor(shape: [0]), dx = Tensor(shape: [0])
  private var inputShape: [Int] = []

  /// A global average pool.
  public init() {}

  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    let n = x.shape[0]
    let hw = x.shape[1] * x.shape[2]
    let c = x.shape[3]
    inputShape = x.shape
    output.resize([n, c])
    output.fill(0)
    let inv = 1 / Float(hw)
    let (xp, yp) = (x.pointer, output.pointer)
    let workers = Parallel.chunkCount(n, grain: Swift.max(1, Parallel.elementwiseGrain / Swift.max(1, hw * c)))
    Parallel.for(count: workers) { t in
      for b in Parallel.chunk(t, of: workers, count: n) {
        let o = yp + b * c
        for p in 0..<hw {
          let xi = xp + (b * hw + p) * c
          for ch in 0..<c { o[ch] += xi[ch] }
        }
        for ch in 0..<c { o[ch] *= inv }
      }
    }
    return output
  }

  public func backward(_ dy: Tensor) -> Tensor {
    let n = inputShape[0]
    let hw = inputShape[1] * inputShape[2]
    let c = inputShape[3]
    dx.resize(inputShape)
    let inv = 1 / Float(hw)
    let (gp, dp) = (dy.pointer, dx.pointer)
    let workers = Parallel.chunkCount(n, grain: Swift.max(1, Parallel.elementwiseGrain / Swift.max(1, hw * c)))
    Parallel.for(count: workers) { t in
      for b in Parallel.chunk(t, of: workers, count: n) {
        let g = gp + b * c
        for p in 0..<hw {
          let d = dp + (b * hw + p) * c
          for ch in 0..<c { d[ch] = g[ch] * inv }
        }
      }
    }
    return dx
  }
}
