import Engine

/// y = x·W + b, with W stored [in, out] so the forward pass is one row-major GEMM.
public final class Linear: Layer {
  /// Weight [in, out].
  public let weight: Parameter
  /// Bias [out], if any.
  public let bias: Parameter?
  public var needsInputGradient = true
  /// Input and output widths.
  public let inputSize: Int, outputSize: Int
  /// Apply ReLU to the output (fused; the backward pass masks by the output).
  public let fusedReLU: Bool

  private var input: Tensor?
  private let output = Tensor(shape: [0])
  private let dx = Tensor(shape: [0])
  private let dyMasked = Tensor(shape: [0])

  /// The input of the latest forward pass [N, in] (per-example gradient methods such as L2RW read it).
  public var lastInput: Tensor? { input }
  /// ∂loss/∂(pre-activation output) [N, out] of the latest backward pass (after the fused ReLU's mask):
  /// with ``lastInput`` A and this Δ, the weight gradient is AᵀΔ and example i contributes a_i δ_iᵀ.
  public private(set) var lastOutputGradient: Tensor?

  /// A linear layer `inputSize → outputSize`.
  public init(_ inputSize: Int, _ outputSize: Int, bias: Bool = true, fusedReLU: Bool = false) {
    self.inputSize = inputSize
    self.outputSize = outputSize
    self.fusedReLU = fusedReLU
    weight = Parameter(name: "weight", shape: [inputSize, outputSize])
    self.bias = bias ? Parameter(name: "bias", shape: [outputSize]) : nil
  }

  public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

  public func initialize(_ scheme: Initialization, key: RandomKey) {
    initializeWeights(weight.value, bias: bias?.value, fanIn: inputSize, scheme: scheme, key: key)
  }

  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    precondition(x.rowSize == inputSize, "Linear expects \(inputSize) inputs, got \(x.shape)")
    input = x
    let n = x.rows
    output.resize([n, outputSize])
    // Output blocks are independent: each worker multiplies one block (rows when n ≥ out, else
    // columns, so the larger operand is not packed twice) and adds the bias (+ ReLU) to it.
    let byRows = n >= outputSize
    let split = byRows ? n : outputSize
    let chunks =
      n * inputSize * outputSize < BLAS.parallelGemmMinimum ? 1 : Parallel.chunkCount(split, grain: 8)
    let xp = x.pointer
    let yp = output.pointer
    let w = weight.value.pointer
    let b = bias?.value.pointer
    let (inSize, outSize, relu) = (inputSize, outputSize, fusedReLU)
    Parallel.for(count: chunks) { t in
      let r = Parallel.chunk(t, of: chunks, count: split)
      let rows = byRows ? r : 0..<n
      let cols = byRows ? 0..<outSize : r
      let y = yp + rows.lowerBound * outSize + cols.lowerBound
      BLAS.gemm(
        m: rows.count, n: cols.count, k: inSize, xp + rows.lowerBound * inSize, lda: inSize, w + cols.lowerBound,
        ldb: outSize, y, ldc: outSize)
      if let b {
        Kernels.addBias(y, rows: rows.count, cols: cols.count, ld: outSize, bias: b + cols.lowerBound, relu: relu)
      } else if relu {
        for i in 0..<rows.count { Kernels.relu(y + i * outSize, y + i * outSize, count: cols.count) }
      }
    }
    return output
  }

  public func backward(_ dyIn: Tensor) -> Tensor {
    guard let x = input else { preconditionFailure("Linear.backward before forward") }
    let n = x.rows
    var dy = dyIn
    if fusedReLU {
      dyMasked.resize(dyIn.shape)
      let (y, g, d) = (output.pointer, dyIn.pointer, dyMasked.pointer)
      Parallel.elementwise(count: dyIn.count) { r in
        Kernels.reluBackward(
          output: y + r.lowerBound, g + r.lowerBound, d + r.lowerBound, count: r.count)
      }
      dy = dyMasked
    }
    lastOutputGradient = dy
    // dW = xᵀ·dy, db = Σ_rows dy, dx = dy·Wᵀ; each split over the output (no cross-worker sums).
    BLAS.parallelGemm(
      transA: true, m: inputSize, n: outputSize, k: n, x.pointer, lda: inputSize, dy.pointer,
      ldb: outputSize, weight.grad.pointer, ldc: outputSize)
    if let bias {
      let (d, o, cols) = (dy.pointer, bias.grad.pointer, outputSize)
      let chunks = n * cols < Parallel.elementwiseGrain ? 1 : Parallel.chunkCount(cols, grain: 64)
      Parallel.for(count: chunks) { t in
        let r = Parallel.chunk(t, of: chunks, count: cols)
        Kernels.columnSums(d + r.lowerBound, rows: n, cols: r.count, ld: cols, into: o + r.lowerBound)
      }
    }
    dx.resize(x.shape)
    if needsInputGradient {
      BLAS.parallelGemm(
        transB: true, m: n, n: inputSize, k: outputSize, dy.pointer, lda: outputSize,
        weight.value.pointer, ldb: outputSize, dx.pointer, ldc: inputSize)
    }
    return dx
  }
}

/// The cosine classifier of LDAM-DRW: z_ij = ⟨x_i/‖x_i‖, w_j/‖w_j‖⟩ ∈ [−1, 1], no bias.
///
/// Weight W [in, C] is initialised U(−1, 1) and each column rescaled to norm 1, as `NormedLinear` in
/// kaidic/LDAM-DRW `models/resnet_cifar.py` (`renorm_(2, 1, 1e-5).mul_(1e5)`); `F.normalize` uses
/// ‖·‖ clamped below at 1e-12.
public final class NormedLinear: Layer {
  /// Weight [in, C].
  public let weight: Parameter
  public var needsInputGradient = true
  /// Input width and number of classes.
  public let inputSize: Int, outputSize: Int

  private var input: Tensor?
  private let xHat = Tensor(shape: [0]), wHat = Tensor(shape: [0])
  private var xNorm: [Float] = [], wNorm: [Float] = []
  private let output = Tensor(shape: [0]), dx = Tensor(shape: [0]), dWHat = Tensor(shape: [0])

  /// A cosine classifier `inputSize → outputSize`.
  public init(_ inputSize: Int, _ outputSize: Int) {
    self.inputSize = inputSize
    self.outputSize = outputSize
    weight = Parameter(name: "weight", shape: [inputSize, outputSize])
  }

  public var parameters: [Parameter] { [weight] }

  public func initialize(_ scheme: Initialization, key: RandomKey) {
    var s = key.split("weight").stream()
    s.fillUniform(weight.value.buffer, low: -1, high: 1)
    let w = weight.value.pointer
    for j in 0..<outputSize {
      var sq: Float = 0
      for i in 0..<inputSize { sq += w[i * outputSize + j] * w[i * outputSize + j] }
      let norm = sq.squareRoot()
      for i in 0..<inputSize { w[i * outputSize + j] /= norm }
    }
  }

  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    input = x
    let n = x.rows
    let d = inputSize
    let c = outputSize
    xHat.resize([n, d])
    wHat.resize([d, c])
    if xNorm.count != n { xNorm = [Float](repeating: 0, count: n) }
    if wNorm.count != c { wNorm = [Float](repeating: 0, count: c) }
    for i in 0..<n {
      let row = x.pointer + i * d
      var sq: Float = 0
      for k in 0..<d { sq += row[k] * row[k] }
      let norm = Swift.max(sq.squareRoot(), 1e-12)
      xNorm[i] = norm
      for k in 0..<d { xHat[i * d + k] = row[k] / norm }
    }
    let w = weight.value.pointer
    for j in 0..<c { wNorm[j] = 0 }
    for k in 0..<d { for j in 0..<c { wNorm[j] += w[k * c + j] * w[k * c + j] } }
    for j in 0..<c { wNorm[j] = Swift.max(wNorm[j].squareRoot(), 1e-12) }
    for k in 0..<d { for j in 0..<c { wHat[k * c + j] = w[k * c + j] / wNorm[j] } }
    output.resize([n, c])
    BLAS.gemm(m: n, n: c, k: d, xHat.pointer, lda: d, wHat.pointer, ldb: c, output.pointer, ldc: c)
    return output
  }

  public func backward(_ dy: Tensor) -> Tensor {
    guard let x = input else { preconditionFailure("NormedLinear.backward before forward") }
    let n = x.rows
    let d = inputSize
    let c = outputSize
    // ∂/∂Ŵ = x̂ᵀ·dy; ∂/∂W_col = (dŴ_col − Ŵ_col⟨Ŵ_col, dŴ_col⟩)/‖W_col‖.
    dWHat.resize([d, c])
    BLAS.gemm(transA: true, m: d, n: c, k: n, xHat.pointer, lda: d, dy.pointer, ldb: c, dWHat.pointer, ldc: c)
    let g = weight.grad.pointer
    for j in 0..<c {
      var dot: Float = 0
      for k in 0..<d { dot += wHat[k * c + j] * dWHat[k * c + j] }
      for k in 0..<d { g[k * c + j] = (dWHat[k * c + j] - wHat[k * c + j] * dot) / wNorm[j] }
    }
    dx.resize(x.shape)
    if needsInputGradient {
      // ∂/∂x̂ = dy·Ŵᵀ; ∂/∂x_i = (dx̂_i − x̂_i⟨x̂_i, dx̂_i⟩)/‖x_i‖.
      BLAS.gemm(transB: true, m: n, n: d, k: c, dy.pointer, lda: c, wHat.pointer, ldb: c, dx.pointer, ldc: d)
      for i in 0..<n {
        let r = dx.pointer + i * d
        let h = xHat.pointer + i * d
        var dot: Float = 0
        for k in 0..<d { dot += h[k] * r[k] }
        let inv = 1 / xNorm[i]
        for k in 0..<d { r[k] = (r[k] - h[k] * dot) * inv }
      }
    }
    return dx
  }
}
