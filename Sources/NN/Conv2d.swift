import Engine

/// 2-D convolution over NHWC images as im2col + GEMM, processed in chunks of images so the column
/// buffer stays cache-sized. Weight is HWIO, stored [kH·kW·C_in, C_out], so `cols × W` is the NHWC output.
public final class Conv2d: Layer {
  /// Weight [kH·kW·C_in, C_out].
  public let weight: Parameter
  /// Bias [C_out], if any.
  public let bias: Parameter?
  public var needsInputGradient = true
  /// Input channels, output channels, kernel size, stride and zero padding.
  public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
  /// Apply ReLU to the output (fused).
  public let fusedReLU: Bool

  private var input: Tensor?
  private var geometry = ConvGeometry(height: 0, width: 0, channels: 0, kernel: 1)
  private let output = Tensor(shape: [0]), dx = Tensor(shape: [0]), dyMasked = Tensor(shape: [0])
  private let cols = Tensor(shape: [0]), dCols = Tensor(shape: [0]), flipped = Tensor(shape: [0])

  /// A convolution `inChannels → outChannels` with a square `kernel`.
  public init(
    _ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
    bias: Bool = true, fusedReLU: Bool = false
  ) {
    self.inChannels = inChannels
    self.outChannels = outChannels
    self.kernel = kernel
    self.stride = stride
    self.padding = padding
    self.fusedReLU = fusedReLU
    weight = Parameter(name: "weight", shape: [kernel * kernel * inChannels, outChannels])
    self.bias = bias ? Parameter(name: "bias", shape: [outChannels]) : nil
  }

  public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

  public func initialize(_ scheme: Initialization, key: RandomKey) {
    initializeWeights(
      weight.value, bias: bias?.value, fanIn: kernel * kernel * inChannels, scheme: scheme, key: key)
  }

  /// Images per im2col chunk: about `chunkFloats` floats of columns (forward or backward, the larger);
  /// 2¹⁸ floats (1 MB) measured best on ResNet-32 and cnn-small shapes (vs 2¹⁷…2²¹).
  private func chunkImages(_ n: Int) -> Int {
    let forward = geometry.outHeight * geometry.outWidth * geometry.patchSize
    let backward = geometry.height * geometry.width * kernel * kernel * outChannels
    return Swift.max(1, Swift.min(n, Conv2d.chunkFloats / Swift.max(forward, backward, 1)))
  }

  /// The column-buffer budget per chunk, in floats.
  nonisolated(unsafe) public static var chunkFloats = 1 << 18

  /// Per-worker scratch: column buffers, and weight/bias gradient partials of workers 1… (worker 0
  /// writes the parameter gradients directly). Allocated on first use, reused.
  private var colsScratch: [Tensor] = [], dColsScratch: [Tensor] = []
  private var weightParts: [Tensor] = [], biasParts: [Tensor] = []

  /// Grows the per-worker scratch lists to `workers` entries.
  private func ensureScratch(_ workers: Int) {
    while colsScratch.count < workers {
      colsScratch.append(Tensor(shape: [0]))
      dColsScratch.append(Tensor(shape: [0]))
      weightParts.append(Tensor(shape: [0]))
      biasParts.append(Tensor(shape: [0]))
    }
  }

  /// Images run on ``Parallel/threads`` workers, each over a contiguous range of the batch in chunks of
  /// ``chunkImages(_:)`` images with its own column buffer; outputs are per image, so the result does
  /// not depend on the split.
  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    precondition(x.shape.count == 4 && x.shape[3] == inChannels, "Conv2d expects [N,H,W,\(inChannels)], got \(x.shape)")
    input = x
    let n = x.shape[0]
    geometry = ConvGeometry(
      height: x.shape[1], width: x.shape[2], channels: inChannels, kernel: kernel, stride: stride,
      padding: padding)
    let g = geometry
    let oh = g.outHeight
    let ow = g.outWidth
    let k = g.patchSize
    output.resize([n, oh, ow, outChannels])
    let chunk = chunkImages(n)
    let pointwise = kernel == 1 && stride == 1 && padding == 0
    let workers = Parallel.chunkCount(n)
    ensureScratch(workers)
    if !pointwise { for t in 0..<workers { colsScratch[t].resize([chunk * oh * ow, k]) } }
    let imageSize = g.height * g.width * inChannels
    let cout = outChannels
    let (xp, yp, w) = (x.pointer, output.pointer, weight.value.pointer)
    let b = bias?.value.pointer
    let relu = fusedReLU
    let cols = colsScratch
    Parallel.for(count: workers) { t in
      let images = Parallel.chunk(t, of: workers, count: n)
      var start = images.lowerBound
      while start < images.upperBound {
        let m = Swift.min(chunk, images.upperBound - start)
        let rows = m * oh * ow
        let a: UnsafePointer<Float>
        if pointwise {
          a = UnsafePointer(xp + start * imageSize)
        } else {
          Im2col.forward(xp + start * imageSize, images: m, g, into: cols[t].pointer)
          a = UnsafePointer(cols[t].pointer)
        }
        let y = yp + start * oh * ow * cout
        BLAS.gemm(m: rows, n: cout, k: k, a, lda: k, w, ldb: cout, y, ldc: cout)
        if let b {
          Kernels.addBias(y, rows: rows, cols: cout, bias: b, relu: relu)
        } else if relu {
          Kernels.relu(y, y, count: rows * cout)
        }
        start += m
      }
    }
    return output
  }

  /// Workers take contiguous image ranges as in ``forward(_:training:)``. ∂L/∂x is per image; the
  /// weight and bias gradients are summed by each worker over its images, then the workers' partial
  /// sums are added in worker order (deterministic for a given ``Parallel/threads``; with T > 1 the
  /// order of additions differs from T = 1 in the last bits).
  public func backward(_ dyIn: Tensor) -> Tensor {
    guard let x = input else { preconditionFailure("Conv2d.backward before forward") }
    let n = x.shape[0]
    let g = geometry
    let oh = g.outHeight
    let ow = g.outWidth
    let k = g.patchSize
    let cin = inChannels
    let cout = outChannels
    if fusedReLU { dyMasked.resize(dyIn.shape) }
    let dy = fusedReLU ? dyMasked : dyIn
    dx.resize(x.shape)
    let chunk = chunkImages(n)
    let pointwise = kernel == 1 && stride == 1 && padding == 0
    let workers = Parallel.chunkCount(n)
    ensureScratch(workers)
    if !pointwise { for t in 0..<workers { colsScratch[t].resize([chunk * oh * ow, k]) } }
    // Stride 1: ∂L/∂x is the convolution of ∂L/∂y (padded by kernel−1−padding) with the flipped,
    // transposed kernel — im2col + one GEMM with K = k²·C_out, instead of a K = C_out GEMM followed by
    // col2im's scatter-add.
    let needsDx = needsInputGradient
    let transposedConv = needsDx && !pointwise && stride == 1 && padding <= kernel - 1
    let backGeometry = ConvGeometry(
      height: oh, width: ow, channels: cout, kernel: kernel, stride: 1, padding: kernel - 1 - padding)
    if transposedConv {
      flipped.resize([kernel * kernel * cout, cin])
      let w = weight.value.pointer
      let f = flipped.pointer
      for ky in 0..<kernel {
        for kx in 0..<kernel {
          for ci in 0..<cin {
            for co in 0..<cout {
              f[((ky * kernel + kx) * cout + co) * cin + ci] =
                w[(((kernel - 1 - ky) * kernel + (kernel - 1 - kx)) * cin + ci) * cout + co]
            }
          }
        }
      }
      for t in 0..<workers { dColsScratch[t].resize([chunk * g.height * g.width, backGeometry.patchSize]) }
    } else if needsDx && !pointwise {
      for t in 0..<workers { dColsScratch[t].resize([chunk * oh * ow, k]) }
    }
    for t in 1..<Swift.max(workers, 1) {
      weightParts[t].resize(weight.grad.shape)
      biasParts[t].resize([cout])
    }
    let imageSize = g.height * g.width * cin
    let outImage = oh * ow * cout
    let (xp, dyInP, dyP, yp, dxp) = (x.pointer, dyIn.pointer, dy.pointer, output.pointer, dx.pointer)
    let (w, f) = (weight.value.pointer, flipped.pointer)
    let (cols, dCols) = (colsScratch, dColsScratch)
    let (wParts, bParts, dW0, dB0) = (weightParts, biasParts, weight.grad.pointer, bias?.grad.pointer)
    let relu = fusedReLU
    Parallel.for(count: workers) { t in
      let images = Parallel.chunk(t, of: workers, count: n)
      let first = images.lowerBound * outImage
      let dWt = t == 0 ? dW0 : wParts[t].pointer
      if relu {
        Kernels.reluBackward(
          output: yp + first, dyInP + first, dyP + first, count: images.count * outImage)
      }
      if let dB0 {
        Kernels.columnSums(
          dyP + first, rows: images.count * oh * ow, cols: cout, into: t == 0 ? dB0 : bParts[t].pointer)
      }
      var start = images.lowerBound
      while start < images.upperBound {
        let m = Swift.min(chunk, images.upperBound - start)
        let rows = m * oh * ow
        let dyChunk = dyP + start * outImage
        let a: UnsafePointer<Float>
        if pointwise {
          a = UnsafePointer(xp + start * imageSize)
        } else {
          Im2col.forward(xp + start * imageSize, images: m, g, into: cols[t].pointer)
          a = UnsafePointer(cols[t].pointer)
        }
        // dW += colsᵀ·dy.
        BLAS.gemm(
          transA: true, m: k, n: cout, k: rows, a, lda: k, dyChunk, ldb: cout,
          beta: start == images.lowerBound ? 0 : 1, dWt, ldc: cout)
        if needsDx {
          if pointwise {
            BLAS.gemm(
              transB: true, m: rows, n: k, k: cout, dyChunk, lda: cout, w, ldb: cout, dxp + start * imageSize, ldc: k)
          } else if transposedConv {
            Im2col.forward(dyChunk, images: m, backGeometry, into: dCols[t].pointer)
            let kk = backGeometry.patchSize
            BLAS.gemm(
              m: m * g.height * g.width, n: cin, k: kk, dCols[t].pointer, lda: kk, f, ldb: cin,
              dxp + start * imageSize, ldc: cin)
          } else {
            BLAS.gemm(
              transB: true, m: rows, n: k, k: cout, dyChunk, lda: cout, w, ldb: cout, dCols[t].pointer, ldc: k)
            Im2col.backward(dCols[t].pointer, images: m, g, into: dxp + start * imageSize)
          }
        }
        start += m
      }
    }
    // Fixed-order sum of the partials: worker 0's sum + worker 1's + ….
    if workers > 1 {
      let wCount = weight.grad.count
      Parallel.elementwise(count: wCount) { r in
        for t in 1..<workers { Kernels.axpy(1, wParts[t].pointer + r.lowerBound, dW0 + r.lowerBound, count: r.count) }
      }
      if let dB0 { for t in 1..<workers { Kernels.axpy(1, bParts[t].pointer, dB0, count: cout) } }
    }
    return dx
  }
}
