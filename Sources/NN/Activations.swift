import Engine

/// y = max(x, 0), elementwise over ``Parallel`` workers.
public final class ReLU: Layer {
  public var needsInputGradient = true
  private let output = Tensor(shape: [0]), dx = Tensor(shape: [0])

  /// A ReLU.
  public init() {}

  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    output.resize(x.shape)
    let (xp, yp) = (x.pointer, output.pointer)
    Parallel.elementwise(count: x.count) { r in Kernels.relu(xp + r.lowerBound, yp + r.lowerBound, count: r.count) }
    return output
  }

  public func backward(_ dy: Tensor) -> Tensor {
    dx.resize(dy.shape)
    let (yp, gp, dp) = (output.pointer, dy.pointer, dx.pointer)
    Parallel.elementwise(count: dy.count) { r in
      Kernels.reluBackward(output: yp + r.lowerBound, gp + r.lowerBound, dp + r.lowerBound, count: r.count)
    }
    return dx
  }
}

/// Inverted dropout: in training, zero each element with probability `p` and scale the rest by
/// 1/(1−p); the identity in evaluation. Masks come from `key` folded with a per-layer step counter,
/// so a run is reproducible.
public final class Dropout: Layer {
  /// The drop probability.
  public let p: Float
  /// The key masks are drawn from (set by ``initialize(_:key:)``).
  public var key = RandomKey(seed: 0)
  public var needsInputGradient = true
  private var step = 0
  private let output = Tensor(shape: [0]), mask = Tensor(shape: [0]), dx = Tensor(shape: [0])
  private var lastTraining = false

  /// A dropout layer with drop probability `p`.
  public init(_ p: Float) { self.p = p }

  public func initialize(_ scheme: Initialization, key: RandomKey) {
    self.key = key
    step = 0
  }

  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    lastTraining = training
    output.resize(x.shape)
    if !training || p == 0 {
      output.pointer.update(from: x.pointer, count: x.count)
      return output
    }
    mask.resize(x.shape)
    var s = key.fold(step).stream()
    step += 1
    let keep = 1 / (1 - p)
    for i in 0..<x.count {
      let m: Float = s.nextFloat() < p ? 0 : keep
      mask[i] = m
      output[i] = x[i] * m
    }
    return output
  }

  public func backward(_ dy: Tensor) -> Tensor {
    dx.resize(dy.shape)
    if !lastTraining || p == 0 {
      dx.pointer.update(from: dy.pointer, count: dy.count)
    } else {
      for i in 0..<dy.count { dx[i] = dy[i] * mask[i] }
    }
    return dx
  }
}

/// [N, …] → [N, ∏…] (NHWC order). Shares nothing: copies so the caller's tensor keeps its shape.
public final class Flatten: Layer {
  public var needsInputGradient = true
  private let output = Tensor(shape: [0]), dx = Tensor(shape: [0])
  private var inputShape: [Int] = []

  /// A flatten layer.
  public init() {}

  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    inputShape = x.shape
    output.resize([x.rows, x.rowSize])
    let (xp, yp) = (x.pointer, output.pointer)
    Parallel.elementwise(count: x.count) { r in (yp + r.lowerBound).update(from: xp + r.lowerBound, count: r.count) }
    return output
  }

  public func backward(_ dy: Tensor) -> Tensor {
    dx.resize(inputShape)
    if !needsInputGradient { return dx }  // nothing below needs it (the first layer of a network)
    let (gp, dp) = (dy.pointer, dx.pointer)
    Parallel.elementwise(count: dy.count) { r in (dp + r.lowerBound).update(from: gp + r.lowerBound, count: r.count) }
    return dx
  }
}
