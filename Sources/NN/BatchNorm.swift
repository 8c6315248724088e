import Engine

/// Batch normalisation over the last (channel) axis: NHWC images or [N, C] features.
///
/// Training normalises with the batch mean and the biased variance and updates the running
/// statistics with the unbiased variance, momentum 0.1, ε = 1e-5, as `torch.nn.BatchNorm2d`.
/// Evaluation uses the running statistics. γ starts at 1 and β at 0.
public final class BatchNorm: Layer {
  /// Scale γ and shift β, [C].
  public let gamma: Parameter, beta: Parameter
  /// Running mean and variance, [C] (not trained).
  public let runningMean: Tensor, runningVar: Tensor
  /// Momentum of the running statistics and ε.
  public let momentum: Float, epsilon: Float
  public var needsInputGradient = true
  /// Number of channels.
  public let channels: Int

  private let output = Tensor(shape: [0]), dx = Tensor(shape: [0]), xHat = Tensor(shape: [0])
  private var invStd: [Float], mean: [Float], sumDy: [Double], sumDyXHat: [Double], acc: [Double], acc2: [Double]
  private var wasTraining = false
  private var coefA: [Float], coefB1: [Float], coefB2: [Float]

  /// A batch-norm layer over `channels` channels.
  public init(_ channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5) {
    self.channels = channels
    self.momentum = momentum
    self.epsilon = epsilon
    gamma = Parameter(name: "weight", shape: [channels])
    beta = Parameter(name: "bias", shape: [channels])
    gamma.value.fill(1)
    runningMean = Tensor(shape: [channels])
    runningVar = Tensor(shape: [channels], repeating: 1)
    invStd = [Float](repeating: 0, count: channels)
    mean = invStd
    sumDy = [Double](repeating: 0, count: channels)
    sumDyXHat = sumDy
    acc = sumDy
    acc2 = sumDy
    coefA = invStd
    coefB1 = invStd
    coefB2 = invStd
  }

  public var parameters: [Parameter] { [gamma, beta] }

  public func initialize(_ scheme: Initialization, key: RandomKey) {
    gamma.value.fill(1)
    beta.value.fill(0)
    runningMean.fill(0)
    runningVar.fill(1)
  }

  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    let c = channels
    precondition(x.shape.last == c, "BatchNorm(\(c)) got \(x.shape)")
    let rows = x.count / c
    output.resize(x.shape)
    wasTraining = training
    let xp = x.pointer, yp = output.pointer, g = gamma.value.pointer, b = beta.value.pointer
    if training {
      xHat.resize(x.shape)
      for j in 0..<c { acc[j] = 0; acc2[j] = 0 }
      acc.withUnsafeMutableBufferPointer { s in
        for r in 0..<rows {
          let row = xp + r * c
          for j in 0..<c { s[j] += Double(row[j]) }
        }
      }
      for j in 0..<c { mean[j] = Float(acc[j] / Double(rows)) }
      acc2.withUnsafeMutableBufferPointer { s in
        mean.withUnsafeBufferPointer { mu in
          for r in 0..<rows {
            let row = xp + r * c
            for j in 0..<c {
              let d = Double(row[j] - mu[j])
              s[j] += d * d
            }
          }
        }
      }
      let rm = runningMean.pointer, rv = runningVar.pointer
      for j in 0..<c {
        let variance = acc2[j] / Double(rows)
        invStd[j] = Float(1 / (variance + Double(epsilon)).squareRoot())
        let unbiased = rows > 1 ? acc2[j] / Double(rows - 1) : variance
        rm[j] = (1 - momentum) * rm[j] + momentum * mean[j]
        rv[j] = (1 - momentum) * rv[j] + momentum * Float(unbiased)
      }
      let h = xHat.pointer
      mean.withUnsafeBufferPointer { mu in
        invStd.withUnsafeBufferPointer { s in
          for r in 0..<rows {
            let xi = xp + r * c, hi = h + r * c, yi = yp + r * c
            for j in 0..<c {
              let v = (xi[j] - mu[j]) * s[j]
              hi[j] = v
              yi[j] = v * g[j] + b[j]
            }
          }
        }
      }
    } else {
      let rm = runningMean.pointer, rv = runningVar.pointer
      for j in 0..<c {
        coefA[j] = g[j] / (rv[j] + epsilon).squareRoot()
        coefB1[j] = b[j] - rm[j] * coefA[j]
      }
      coefA.withUnsafeBufferPointer { sc in
        coefB1.withUnsafeBufferPointer { sh in
          for r in 0..<rows {
            let xi = xp + r * c, yi = yp + r * c
            for j in 0..<c { yi[j] = xi[j] * sc[j] + sh[j] }
          }
        }
      }
    }
    return output
  }

  public func backward(_ dy: Tensor) -> Tensor {
    precondition(wasTraining, "BatchNorm.backward after an evaluation forward pass")
    let c = channels, rows = dy.count / c
    let d = dy.pointer, h = xHat.pointer
    for j in 0..<c { sumDy[j] = 0; sumDyXHat[j] = 0 }
    sumDy.withUnsafeMutableBufferPointer { s1 in
      sumDyXHat.withUnsafeMutableBufferPointer { s2 in
        for r in 0..<rows {
          let di = d + r * c, hi = h + r * c
          for j in 0..<c {
            s1[j] += Double(di[j])
            s2[j] += Double(di[j] * hi[j])
          }
        }
      }
    }
    let gg = gamma.grad.pointer, bg = beta.grad.pointer, g = gamma.value.pointer
    for j in 0..<c {
      gg[j] = Float(sumDyXHat[j])
      bg[j] = Float(sumDy[j])
    }
    dx.resize(dy.shape)
    if needsInputGradient {
      // dx = γ·invStd/m · (m·dy − Σdy − x̂·Σ(dy·x̂)).
      let m = Float(rows)
      for j in 0..<c {
        coefA[j] = g[j] * invStd[j]
        coefB1[j] = Float(sumDy[j]) / m
        coefB2[j] = Float(sumDyXHat[j]) / m
      }
      let o = dx.pointer
      coefA.withUnsafeBufferPointer { a in
        coefB1.withUnsafeBufferPointer { b1 in
          coefB2.withUnsafeBufferPointer { b2 in
            for r in 0..<rows {
              let di = d + r * c, hi = h + r * c, oi = o + r * c
              for j in 0..<c { oi[j] = a[j] * (di[j] - b1[j] - hi[j] * b2[j]) }
            }
          }
        }
      }
    }
    return dx
  }
}
