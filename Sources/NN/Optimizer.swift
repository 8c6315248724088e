import Engine

/// Stochastic gradient descent with PyTorch's semantics (`torch.optim.SGD`).
///
/// Per trainable parameter p with gradient g, at learning rate η:
/// g ← g + λ·p (weight decay); b ← g on the first step, else b ← μ·b + (1 − dampening)·g;
/// g ← g + μ·b if Nesterov, else g ← b; p ← p − η·g. Momentum buffers are kept per parameter.
public final class SGD {
  /// Momentum μ, weight decay λ, dampening, Nesterov.
  public var momentum: Float, weightDecay: Float, dampening: Float, nesterov: Bool
  /// The learning rate used by the next ``step(_:)``.
  public var learningRate: Float
  private var buffers: [ObjectIdentifier: Tensor] = [:]

  /// An optimiser with the given hyper-parameters.
  public init(
    learningRate: Float, momentum: Float = 0, weightDecay: Float = 0, dampening: Float = 0, nesterov: Bool = false
  ) {
    self.learningRate = learningRate
    self.momentum = momentum
    self.weightDecay = weightDecay
    self.dampening = dampening
    self.nesterov = nesterov
  }

  /// A copy of the momentum buffers, by parameter identity (probes that take a step and undo it).
  public func savedState() -> [ObjectIdentifier: [Float]] { buffers.mapValues { Array($0.buffer) } }

  /// Restores buffers from ``savedState()``: buffers created since then are dropped (the next step
  /// starts them afresh, as it would have), the others get their saved values back.
  public func restore(_ state: [ObjectIdentifier: [Float]]) {
    buffers = buffers.filter { state[$0.key] != nil }
    for (id, values) in state {
      if let b = buffers[id] {
        b.pointer.update(from: values, count: values.count)
      }
    }
  }

  /// Forgets the momentum state of `parameter` (re-initialised heads start afresh).
  public func reset(_ parameter: Parameter) { buffers[ObjectIdentifier(parameter)] = nil }

  /// Updates every trainable parameter from its gradient, in one fused pass per parameter. The update
  /// is elementwise, so it runs in one parallel region with each ``Parallel`` worker taking the same
  /// slice of every parameter; the result does not depend on the thread count.
  public func step(_ parameters: [Parameter]) {
    let lr = learningRate
    let mu = momentum
    let wd = weightDecay
    let damp = 1 - dampening
    let nesterov = nesterov
    // Momentum buffers exist before the parallel region (the first step creates them).
    var fresh: Set<ObjectIdentifier> = []
    var total = 0
    for p in parameters where p.isTrainable {
      total += p.value.count
      if mu != 0 && buffers[ObjectIdentifier(p)] == nil {
        buffers[ObjectIdentifier(p)] = Tensor(shape: p.value.shape)
        fresh.insert(ObjectIdentifier(p))
      }
    }
    let buffers = buffers
    let workers = Parallel.chunkCount(total, grain: Parallel.elementwiseGrain)
    Parallel.for(count: workers) { t in
      for p in parameters where p.isTrainable {
        let r = Parallel.chunk(t, of: workers, count: p.value.count)
        let n = r.count
        let w = p.value.pointer + r.lowerBound
        let g = p.grad.pointer + r.lowerBound
        if mu == 0 {
          for i in 0..<n { w[i] -= lr * (g[i] + wd * w[i]) }
          continue
        }
        guard let buf = buffers[ObjectIdentifier(p)] else { continue }
        let b = buf.pointer + r.lowerBound
        if !fresh.isEmpty && fresh.contains(ObjectIdentifier(p)) {
          // First step: b = g + λw (PyTorch initialises the buffer with the gradient itself).
          for i in 0..<n {
            let gi = g[i] + wd * w[i]
            b[i] = gi
            w[i] -= lr * (nesterov ? gi + mu * gi : gi)
          }
        } else if nesterov {
          for i in 0..<n {
            let gi = g[i] + wd * w[i]
            let bi = mu * b[i] + damp * gi
            b[i] = bi
            w[i] -= lr * (gi + mu * bi)
          }
        } else {
          for i in 0..<n {
            let bi = mu * b[i] + damp * (g[i] + wd * w[i])
            b[i] = bi
            w[i] -= lr * bi
          }
        }
      }
    }
  }
}

/// A learning-rate schedule evaluated once per epoch, as the papers' code sets it.
public enum LearningRateSchedule: Sendable, Hashable {
  /// η·γ^(number of milestones ≤ epoch), after a linear warm-up η·(e+1)/W for e < W
  /// (kaidic/LDAM-DRW `cifar_train.py` `adjust_learning_rate`: e.g. warm-up 5, milestones 160, 180, γ 0.01).
  case step(base: Double, warmup: Int, milestones: [Int], gamma: Double)
  /// η·½(1 + cos(π·e/E)) after the same linear warm-up.
  case cosine(base: Double, warmup: Int, epochs: Int)
  /// η.
  case constant(base: Double, warmup: Int)

  /// The rate for 0-based epoch `epoch`.
  public func rate(epoch: Int) -> Double {
    switch self {
    case .step(let base, let warmup, let milestones, let gamma):
      if epoch < warmup { return base * Double(epoch + 1) / Double(warmup) }
      let passed = milestones.filter { epoch >= $0 }.count
      var r = base
      for _ in 0..<passed { r *= gamma }
      return r
    case .cosine(let base, let warmup, let epochs):
      if epoch < warmup { return base * Double(epoch + 1) / Double(warmup) }
      let t = Double(epoch - warmup) / Double(Swift.max(epochs - warmup, 1))
      return base * 0.5 * (1 + cos64(Double.pi * t))
    case .constant(let base, let warmup):
      if epoch < warmup { return base * Double(epoch + 1) / Double(warmup) }
      return base
    }
  }
}
