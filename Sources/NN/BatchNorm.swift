import Engine

/// Batch normalisation over the last (channel) axis: NHWC images or [N, C] features.
///
/// Training normalises with the batch mean and the biased variance and updates the running
/// statistics with the unbiased variance, momentum 0.1, ε = 1e-5, as `torch.nn.BatchNorm2d`.
/// Evaluation uses the running statistics. γ starts at 1 and β at 0. With `fusedReLU` the output is
/// max(BN(x), 0) in the same pass (bitwise BatchNorm then ``ReLU``, one pass fewer each way).
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
  /// Apply ReLU to the output (fused).
  public let fusedReLU: Bool

  private let output = Tensor(shape: [0]), dx = Tensor(shape: [0]), xHat = Tensor(shape: [0])
  private var invStd: [Float], mean: [Float], sumDy: [Double], sumDyXHat: [Double], acc: [Double], acc2: [Double]
  private var wasTraining = false
  private var coefA: [Float], coefB1: [Float], coefB2: [Float]

  /// A batch-norm layer over `channels` channels, followed by ReLU if `fusedReLU`.
  public init(_ channels: Int, momentum: Float = 0.1, epsilon: Float = 1e-5, fusedReLU: Bool = false) {
    self.channels = channels
    self.fusedReLU = fusedReLU
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

  /// Per-worker partial sums (2·C doubles per worker), reused.
  private var partials: [Double] = []

  /// How many workers split `rows` rows: chunks of at least ``Parallel/elementwiseGrain`` floats.
  private func workers(rows: Int) -> Int {
    Parallel.chunkCount(rows, grain: Swift.max(1, Parallel.elementwiseGrain / channels))
  }

  /// Runs `body(rowRange, partial)` on each worker's rows with a zeroed 2·C partial-sum buffer, then
  /// adds the partials into `first`/`second` (each C) in worker order — with one worker the sums are
  /// exactly the sequential row-order sums.
  private func reduceRows(
    rows: Int, into first: inout [Double], _ second: inout [Double],
    _ body: (Range<Int>, UnsafeMutablePointer<Double>) -> Void
  ) {
    let c = channels
    let parts = workers(rows: rows)
    if partials.count < 2 * c * parts { partials = [Double](repeating: 0, count: 2 * c * parts) }
    partials.withUnsafeMutableBufferPointer { buffer in
      guard let p = buffer.baseAddress else { return }
      Parallel.for(count: parts) { t in
        let s = p + 2 * c * t
        s.update(repeating: 0, count: 2 * c)
        body(Parallel.chunk(t, of: parts, count: rows), s)
      }
      for j in 0..<c {
        var a = p[j]
        var b = p[c + j]
        for t in 1..<Swift.max(parts, 1) {
          a += p[2 * c * t + j]
          b += p[2 * c * t + c + j]
        }
        first[j] = a
        second[j] = b
      }
    }
  }

  /// Channel sums are per-worker partials over row ranges added in worker order (deterministic for a
  /// given ``Parallel/threads``; with T > 1 they may differ from T = 1 in the last bits); the
  /// normalisation is elementwise over rows.
  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    let c = channels
    precondition(x.shape.last == c, "BatchNorm(\(c)) got \(x.shape)")
    let rows = x.count / c
    output.resize(x.shape)
    wasTraining = training
    let xp = x.pointer
    let yp = output.pointer
    let g = gamma.value.pointer
    let b = beta.value.pointer
    let parts = workers(rows: rows)
    let relu = fusedReLU
    if training {
      xHat.resize(x.shape)
      // One pass: Σd and Σd² per channel with d = x − k, shifted by the first row k (so the centred
      // sum Σ(x − μ)² = Σd² − (Σd)²/m does not cancel), in Double.
      for j in 0..<c { mean[j] = rows > 0 ? xp[j] : 0 }
      mean.withUnsafeBufferPointer { kBuffer in
        guard let k = kBuffer.baseAddress else { return }
        reduceRows(rows: rows, into: &acc, &acc2) { r, s in
          if c % 4 == 0 {
            ChannelKernels.shiftedSums(xp, rows: r, channels: c, shift: k, into: s)
            return
          }
          let s2 = s + c
          for i in r {
            let row = xp + i * c
            for j in 0..<c {
              let d = Double(row[j] - k[j])
              s[j] += d
              s2[j] += d * d
            }
          }
        }
      }
      for j in 0..<c {
        let shift = acc[j] / Double(rows)
        acc2[j] = Swift.max(acc2[j] - acc[j] * shift, 0)
        mean[j] = Float(Double(mean[j]) + shift)
      }
      let rm = runningMean.pointer
      let rv = runningVar.pointer
      for j in 0..<c {
        let variance = acc2[j] / Double(rows)
        invStd[j] = Float(1 / (variance + Double(epsilon)).squareRoot())
        let unbiased = rows > 1 ? acc2[j] / Double(rows - 1) : variance
        rm[j] = (1 - momentum) * rm[j] + momentum * mean[j]
        rv[j] = (1 - momentum) * rv[j] + momentum * Float(unbiased)
      }
      let h = xHat.pointer
      mean.withUnsafeBufferPointer { muBuffer in
        invStd.withUnsafeBufferPointer { sBuffer in
          guard let mu = muBuffer.baseAddress, let s = sBuffer.baseAddress else { return }
          Parallel.for(count: parts) { t in
            if c % 4 == 0 {
              ChannelKernels.normalize(
                xp, rows: Parallel.chunk(t, of: parts, count: rows), channels: c, mean: mu, invStd: s, gamma: g,
                beta: b, relu: relu, xHat: h, output: yp)
              return
            }
            for r in Parallel.chunk(t, of: parts, count: rows) {
              let xi = xp + r * c
              let hi = h + r * c
              let yi = yp + r * c
              if relu {
                for j in 0..<c {
                  let v = (xi[j] - mu[j]) * s[j]
                  hi[j] = v
                  yi[j] = Swift.max(v * g[j] + b[j], 0)
                }
              } else {
                for j in 0..<c {
                  let v = (xi[j] - mu[j]) * s[j]
                  hi[j] = v
                  yi[j] = v * g[j] + b[j]
                }
              }
            }
          }
        }
      }
    } else {
      let rm = runningMean.pointer
      let rv = runningVar.pointer
      for j in 0..<c {
        coefA[j] = g[j] / (rv[j] + epsilon).squareRoot()
        coefB1[j] = b[j] - rm[j] * coefA[j]
      }
      coefA.withUnsafeBufferPointer { scBuffer in
        coefB1.withUnsafeBufferPointer { shBuffer in
          guard let sc = scBuffer.baseAddress, let sh = shBuffer.baseAddress else { return }
          Parallel.for(count: parts) { t in
            for r in Parallel.chunk(t, of: parts, count: rows) {
              let xi = xp + r * c
              let yi = yp + r * c
              if relu {
                for j in 0..<c { yi[j] = Swift.max(xi[j] * sc[j] + sh[j], 0) }
              } else {
                for j in 0..<c { yi[j] = xi[j] * sc[j] + sh[j] }
              }
            }
          }
        }
      }
    }
    return output
  }

  /// Σdy and Σdy·x̂ per channel as in ``forward(_:training:)`` (per-worker partials, worker order);
  /// ∂L/∂x elementwise over rows.
  public func backward(_ dy: Tensor) -> Tensor {
    precondition(wasTraining, "BatchNorm.backward after an evaluation forward pass")
    let c = channels
    let rows = dy.count / c
    let d = dy.pointer
    let h = xHat.pointer
    let y = output.pointer
    let relu = fusedReLU
    // With the fused ReLU, ∂L/∂(BN output) is dy where the output is positive (the bit mask of
    // ``Kernels/reluBackward(output:_:_:count:)``), applied on the fly in both passes.
    reduceRows(rows: rows, into: &sumDy, &sumDyXHat) { r, s in
      if c % 4 == 0 {
        ChannelKernels.gradientSums(d, xHat: h, output: relu ? UnsafePointer(y) : nil, rows: r, channels: c, into: s)
        return
      }
      let s2 = s + c
      for i in r {
        let di = d + i * c
        let hi = h + i * c
        if relu {
          let yi = y + i * c
          for j in 0..<c {
            let dj = Float(bitPattern: di[j].bitPattern & Kernels.positiveMask(yi[j]))
            s[j] += Double(dj)
            s2[j] += Double(dj * hi[j])
          }
        } else {
          for j in 0..<c {
            s[j] += Double(di[j])
            s2[j] += Double(di[j] * hi[j])
          }
        }
      }
    }
    let gg = gamma.grad.pointer
    let bg = beta.grad.pointer
    let g = gamma.value.pointer
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
      let parts = workers(rows: rows)
      coefA.withUnsafeBufferPointer { aBuffer in
        coefB1.withUnsafeBufferPointer { b1Buffer in
          coefB2.withUnsafeBufferPointer { b2Buffer in
            guard let a = aBuffer.baseAddress, let b1 = b1Buffer.baseAddress, let b2 = b2Buffer.baseAddress else {
              return
            }
            Parallel.for(count: parts) { t in
              if c % 4 == 0 {
                ChannelKernels.inputGradient(
                  d, xHat: h, output: relu ? UnsafePointer(y) : nil, rows: Parallel.chunk(t, of: parts, count: rows),
                  channels: c, a: a, b1: b1, b2: b2, into: o)
                return
              }
              for r in Parallel.chunk(t, of: parts, count: rows) {
                let di = d + r * c
                let hi = h + r * c
                let oi = o + r * c
                if relu {
                  let yi = y + r * c
                  for j in 0..<c {
                    let dj = Float(bitPattern: di[j].bitPattern & Kernels.positiveMask(yi[j]))
                    oi[j] = a[j] * (dj - b1[j] - hi[j] * b2[j])
                  }
                } else {
                  for j in 0..<c { oi[j] = a[j] * (di[j] - b1[j] - hi[j] * b2[j]) }
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

/// ``BatchNorm``'s loops for channel counts that are multiples of 4, four channels at a time
/// (`SIMD4<Float>`), with the same arithmetic per element as the scalar loops. The sums run over blocks of
/// ``block`` rows in float registers, each block's sum then added to the double accumulators (the scalar
/// loops add every element in double; the last bits differ).
enum ChannelKernels {
  typealias Four = SIMD4<Float>
  /// Rows summed in float before a block sum joins the double accumulators.
  static let block = 32

  @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Four { Four(loading: p) }

  @inline(__always) static func store(_ v: Four, _ p: UnsafeMutablePointer<Float>) { v.store(to: p) }

  /// s[j] += Σ_rows first_j, s[c + j] += Σ_rows second_j, where `terms(o, j)` gives the two 4-lane terms of
  /// the element at offset o = row·c + j (channels j…j+3): summed in float over blocks of ``block`` rows,
  /// each block's sums then added in double.
  @inline(__always)
  static func blockSums(
    rows: Range<Int>, channels c: Int, into s: UnsafeMutablePointer<Double>, _ terms: (Int, Int) -> (Four, Four)
  ) {
    var start = rows.lowerBound
    while start < rows.upperBound {
      let end = Swift.min(start + block, rows.upperBound)
      var j = 0
      while j < c {
        var first = Four(), second = Four()
        for i in start..<end {
          let (a, b) = terms(i * c + j, j)
          first += a
          second += b
        }
        for l in 0..<4 {
          s[j + l] += Double(first[l])
          s[c + j + l] += Double(second[l])
        }
        j += 4
      }
      start = end
    }
  }

  /// s[j] += Σ_rows (x − k)_j, s[c + j] += Σ_rows (x − k)_j².
  static func shiftedSums(
    _ x: UnsafePointer<Float>, rows: Range<Int>, channels c: Int, shift k: UnsafePointer<Float>,
    into s: UnsafeMutablePointer<Double>
  ) {
    blockSums(rows: rows, channels: c, into: s) { o, j in
      let d = load(x + o) - load(k + j)
      return (d, d * d)
    }
  }

  /// x̂ = (x − μ)·invStd and y = x̂·γ + β (then max(·, 0) with `relu`).
  static func normalize(
    _ x: UnsafePointer<Float>, rows: Range<Int>, channels c: Int, mean mu: UnsafePointer<Float>,
    invStd s: UnsafePointer<Float>, gamma g: UnsafePointer<Float>, beta b: UnsafePointer<Float>, relu: Bool,
    xHat h: UnsafeMutablePointer<Float>, output y: UnsafeMutablePointer<Float>
  ) {
    for r in rows {
      var j = 0
      while j < c {
        let o = r * c + j
        let v = (load(x + o) - load(mu + j)) * load(s + j)
        store(v, h + o)
        let out = v * load(g + j) + load(b + j)
        store(relu ? out.replacing(with: 0, where: .!(out .> 0)) : out, y + o)
        j += 4
      }
    }
  }

  /// dy masked where the output is not positive (with the fused ReLU's output), bitwise as
  /// ``Kernels/reluBackward(output:_:_:count:)``.
  @inline(__always) static func masked(_ dy: Four, _ y: UnsafePointer<Float>?, _ o: Int) -> Four {
    guard let y else { return dy }
    return dy.replacing(with: 0, where: .!(load(y + o) .> 0))
  }

  /// s[j] += Σ_rows dy_j, s[c + j] += Σ_rows dy_j·x̂_j (dy masked by the fused ReLU's output if given).
  static func gradientSums(
    _ dy: UnsafePointer<Float>, xHat h: UnsafePointer<Float>, output y: UnsafePointer<Float>?, rows: Range<Int>,
    channels c: Int, into s: UnsafeMutablePointer<Double>
  ) {
    blockSums(rows: rows, channels: c, into: s) { o, _ in
      let d = masked(load(dy + o), y, o)
      return (d, d * load(h + o))
    }
  }

  /// dx = a·(dy − b1 − x̂·b2) per channel (dy masked by the fused ReLU's output if given).
  static func inputGradient(
    _ dy: UnsafePointer<Float>, xHat h: UnsafePointer<Float>, output y: UnsafePointer<Float>?, rows: Range<Int>,
    channels c: Int, a: UnsafePointer<Float>, b1: UnsafePointer<Float>, b2: UnsafePointer<Float>,
    into dx: UnsafeMutablePointer<Float>
  ) {
    for r in rows {
      var j = 0
      while j < c {
        let o = r * c + j
        let d = masked(load(dy + o), y, o)
        store(load(a + j) * (d - load(b1 + j) - load(h + o) * load(b2 + j)), dx + o)
        j += 4
      }
    }
  }
}
