import Engine

/// How a ``Conv2d`` computes its products.
public enum ConvAlgorithm: String, Sendable, CaseIterable {
  /// im2col + one GEMM per chunk of images (any kernel, stride, padding).
  case im2col
  /// Winograd F(2×2, 3×3) (``Engine/Winograd``) where it applies — 3×3 kernel, stride 1, padding 1 —
  /// else im2col.
  case winograd
  /// Winograd where it applies and measured faster (``Conv2d/winogradPays(inChannels:outChannels:)``),
  /// else im2col.
  case auto
}

/// 2-D convolution over NHWC images as im2col + GEMM, processed in chunks of images so the column
/// buffer stays cache-sized. Weight is HWIO, stored [kH·kW·C_in, C_out], so `cols × W` is the NHWC output.
/// 3×3, stride-1, padding-1 convolutions can run as Winograd F(2×2, 3×3) instead (``algorithm``).
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
  /// The algorithm; ``defaultAlgorithm`` when the layer is made. The choice is a function of the layer's
  /// shape only (never of timings), so a model's numbers do not depend on the machine.
  public var algorithm: ConvAlgorithm = Conv2d.defaultAlgorithm
  /// The algorithm new layers get: ``ConvAlgorithm/auto`` (tests and `bench` change it).
  nonisolated(unsafe) public static var defaultAlgorithm: ConvAlgorithm = .auto

  /// Whether this layer runs Winograd F(2×2, 3×3): a 3×3 kernel, stride 1, padding 1, and
  /// ``algorithm`` `.winograd`, or `.auto` where ``winogradPays(inChannels:outChannels:)``.
  public var usesWinograd: Bool {
    guard kernel == 3 && stride == 1 && padding == 1 else { return false }
    switch algorithm {
    case .im2col: return false
    case .winograd: return true
    case .auto: return Conv2d.winogradPays(inChannels: inChannels, outChannels: outChannels)
    }
  }

  /// Where `.auto` picks Winograd: channel counts that are multiples of 4 in and out (the transforms'
  /// 4-lane blocks are then all whole) — in optimised builds only. Unoptimised (debug, `swift test`)
  /// the generic SIMD tile kernels run about 6× slower than im2col's BLAS-bound path (a one-epoch
  /// ResNet-32 test: 14.3 s against 2.3 s), so debug builds use im2col under `.auto`, and the tests
  /// exercise Winograd explicitly (`.winograd`). Release builds — every job — use Winograd. Measured with `replicate bench --conv 128,S,cin,cout,1` (one
  /// thread, forward + backward ms, im2col → Winograd): 16→16 at 32×32 25.4 → 15.9, 32→32 at 16×16
  /// 18.6 → 10.3, 64→64 at 8×8 16.1 → 8.7, 32→64 at 14×14 25.4 → 15.0, 8→8 10.8 → 7.1, 4→4 7.1 → 4.3,
  /// 16→4 14.4 → 10.2; but 3→16 (ResNet-32's first layer) 12.3 → 36.9 and 1→32 at 28×28 (cnn-small's)
  /// 10.5 → 16.0: with partial lanes the transforms run element by element, and K = C_in is tiny.
  public static func winogradPays(inChannels: Int, outChannels: Int) -> Bool {
    autoUsesWinograd && winogradChannels(inChannels: inChannels, outChannels: outChannels)
  }

  /// Whether `.auto` can pick Winograd in this build: true when optimised, false in debug builds. The
  /// two therefore compute convolutional models differently, and job ids say which
  /// (``ModelZoo/kernelVersion(model:)``).
  #if DEBUG
    public static let autoUsesWinograd = false
  #else
    public static let autoUsesWinograd = true
  #endif

  /// The channel rule of ``winogradPays(inChannels:outChannels:)`` in optimised builds.
  static func winogradChannels(inChannels: Int, outChannels: Int) -> Bool {
    inChannels % 4 == 0 && outChannels % 4 == 0 && inChannels > 0 && outChannels > 0
  }

  private var input: Tensor?
  private var geometry = ConvGeometry(height: 0, width: 0, channels: 0, kernel: 1)
  private let output = Tensor(shape: [0]), dx = Tensor(shape: [0]), dyMasked = Tensor(shape: [0])
  private let cols = Tensor(shape: [0]), dCols = Tensor(shape: [0]), flipped = Tensor(shape: [0])
  /// Winograd: the transformed weight U [16, C_in, C_out] (computed by every forward pass) and worker
  /// 0's transformed weight gradient ∂U.
  private let transformed = Tensor(shape: [0]), transformedGrad = Tensor(shape: [0])

  /// A convolution `inChannels → outChannels` with a square `kernel`.
  public init(
    _ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
    bias: Bool = true, fusedReLU: Bool = false, algorithm: ConvAlgorithm = Conv2d.defaultAlgorithm
  ) {
    self.algorithm = algorithm
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

  /// Images per Winograd chunk: about ``winogradChunkFloats`` floats of transformed input and output
  /// tiles (16·(C_in + C_out) floats per tile).
  private func winogradChunkImages(_ n: Int, _ tiles: Winograd.Tiles) -> Int {
    let perImage = tiles.perImage * 16 * (inChannels + outChannels)
    let budget = winogradChunkBudget ?? Conv2d.winogradChunkFloats
    return Swift.max(1, Swift.min(n, budget / Swift.max(perImage, 1)))
  }

  /// This layer's own ``winogradChunkFloats`` (tests vary the chunking of one layer).
  var winogradChunkBudget: Int?

  /// The transformed-tile budget per Winograd chunk, in floats.
  nonisolated(unsafe) public static var winogradChunkFloats = 1 << 17

  /// Per-worker scratch: column buffers, and weight/bias gradient partials of workers 1… (worker 0
  /// writes the parameter gradients directly). Allocated on first use, reused.
  private var colsScratch: [Tensor] = [], dColsScratch: [Tensor] = []
  /// Per-worker Winograd scratch: one zero-padded image.
  private var paddedScratch: [Tensor] = []
  private var weightParts: [Tensor] = [], biasParts: [Tensor] = []

  /// Grows the per-worker scratch lists to `workers` entries.
  private func ensureScratch(_ workers: Int) {
    while colsScratch.count < workers {
      colsScratch.append(Tensor(shape: [0]))
      dColsScratch.append(Tensor(shape: [0]))
      paddedScratch.append(Tensor(shape: [0]))
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
    if usesWinograd {
      winogradForward(x)
      return output
    }
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
    if usesWinograd {
      winogradBackward(x, dyIn, dy)
      return dx
    }
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
      let dWt = t == 0 ? dW0 : wParts[t].pointer
      Conv2d.outputGradient(
        images: images, pixels: oh * ow, channels: cout, relu: relu, output: yp, dyIn: dyInP, dy: dyP,
        biasGradient: dB0.map { t == 0 ? $0 : bParts[t].pointer })
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
    addPartials(workers: workers, count: weight.grad.count, into: dW0)
    return dx
  }

  /// Worker `images`' share of the output-gradient pass: ∂L/∂y through the fused ReLU (`dyIn` masked
  /// into `dy` where the output is positive) and the bias gradient's column sums into `biasGradient`.
  private static func outputGradient(
    images: Range<Int>, pixels: Int, channels: Int, relu: Bool, output y: UnsafePointer<Float>,
    dyIn: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?
  ) {
    let first = images.lowerBound * pixels * channels
    if relu {
      Kernels.reluBackward(output: y + first, dyIn + first, dy + first, count: images.count * pixels * channels)
    }
    if let biasGradient {
      Kernels.columnSums(dy + first, rows: images.count * pixels, cols: channels, into: biasGradient)
    }
  }

  /// Fixed-order sum of the workers' partials: `count` floats of worker 0's weight-gradient sum (at
  /// `dW0`) + worker 1's + …, and the same for the bias gradient.
  private func addPartials(workers: Int, count: Int, into dW0: UnsafeMutablePointer<Float>) {
    guard workers > 1 else { return }
    let wParts = weightParts
    Parallel.elementwise(count: count) { r in
      for t in 1..<workers { Kernels.axpy(1, wParts[t].pointer + r.lowerBound, dW0 + r.lowerBound, count: r.count) }
    }
    if let dB0 = bias?.grad.pointer {
      for t in 1..<workers { Kernels.axpy(1, biasParts[t].pointer, dB0, count: outChannels) }
    }
  }

  // MARK: Winograd F(2×2, 3×3)

  /// The transformed tiles' layouts for chunks of up to `tiles` tiles (position-major: dense GEMM
  /// operands, measured 20–40% faster products than tile-major), and each worker's buffers sized for them.
  private func winogradBuffers(
    tiles: Int, grid: Winograd.Tiles, workers: Int
  ) -> (Winograd.Layout, Winograd.Layout) {
    let v = Winograd.Layout.positionMajor(tiles: tiles, channels: inChannels)
    let m = Winograd.Layout.positionMajor(tiles: tiles, channels: outChannels)
    ensureScratch(workers)
    for t in 0..<workers {
      colsScratch[t].resize([v.floats(tiles: tiles, channels: inChannels)])
      dColsScratch[t].resize([m.floats(tiles: tiles, channels: outChannels)])
      paddedScratch[t].resize([grid.paddedFloats(channels: inChannels)])
    }
    return (v, m)
  }

  /// The forward pass as Winograd F(2×2, 3×3): U = G g Gᵀ once, then per chunk of images the input
  /// transform, 16 GEMMs and the output transform (with the bias and fused ReLU). Workers and chunks
  /// as in im2col; every output is per image.
  private func winogradForward(_ x: Tensor) {
    let n = x.shape[0]
    let tiles = Winograd.Tiles(height: x.shape[1], width: x.shape[2])
    let (cin, cout) = (inChannels, outChannels)
    transformed.resize([16, cin, cout])
    Winograd.filter(weight.value.pointer, inChannels: cin, outChannels: cout, into: transformed.pointer)
    let chunk = winogradChunkImages(n, tiles)
    let workers = Parallel.chunkCount(n)
    let (vLayout, mLayout) = winogradBuffers(tiles: chunk * tiles.perImage, grid: tiles, workers: workers)
    let padded = paddedScratch
    let imageSize = tiles.height * tiles.width * cin
    let outImage = tiles.height * tiles.width * cout
    let (xp, yp, u) = (x.pointer, output.pointer, transformed.pointer)
    let b = bias?.value.pointer
    let relu = fusedReLU
    let (vs, ms) = (colsScratch, dColsScratch)
    Parallel.for(count: workers) { t in
      let images = Parallel.chunk(t, of: workers, count: n)
      let (v, m) = (vs[t].pointer, ms[t].pointer)
      var start = images.lowerBound
      while start < images.upperBound {
        let count = Swift.min(chunk, images.upperBound - start)
        Winograd.input(
          xp + start * imageSize, images: count, tiles, channels: cin, into: v, vLayout, padded: padded[t].pointer)
        Winograd.multiply(
          v, vLayout, u, tiles: count * tiles.perImage, inChannels: cin, outChannels: cout, into: m, mLayout)
        Winograd.output(
          m, mLayout, images: count, tiles, channels: cout, into: yp + start * outImage, bias: b, relu: relu)
        start += count
      }
    }
  }

  /// The backward pass as the adjoint of ``winogradForward(_:)``: per chunk, ∂M = A ∂Y Aᵀ, the input
  /// tiles V again, ∂U += Vᵀ·∂M (16 GEMMs with K = tiles), and for ∂L/∂x ∂V = ∂M·Uᵀ (16 GEMMs) and
  /// B ∂V Bᵀ overlap-added per image. The workers' ∂U partials are added in worker order, then
  /// ∂g = Gᵀ ∂U G.
  private func winogradBackward(_ x: Tensor, _ dyIn: Tensor, _ dy: Tensor) {
    let n = x.shape[0]
    let tiles = Winograd.Tiles(height: x.shape[1], width: x.shape[2])
    let (cin, cout) = (inChannels, outChannels)
    let chunk = winogradChunkImages(n, tiles)
    let workers = Parallel.chunkCount(n)
    let (vLayout, mLayout) = winogradBuffers(tiles: chunk * tiles.perImage, grid: tiles, workers: workers)
    let padded = paddedScratch
    transformedGrad.resize([16, cin, cout])
    for t in 1..<Swift.max(workers, 1) {
      weightParts[t].resize([16, cin, cout])
      biasParts[t].resize([cout])
    }
    let pixels = tiles.height * tiles.width
    let (imageSize, outImage) = (pixels * cin, pixels * cout)
    let (xp, dyInP, dyP, yp, dxp) = (x.pointer, dyIn.pointer, dy.pointer, output.pointer, dx.pointer)
    let u = transformed.pointer
    let (vs, ms, wParts, bParts) = (colsScratch, dColsScratch, weightParts, biasParts)
    let (dU0, dB0) = (transformedGrad.pointer, bias?.grad.pointer)
    let (relu, needsDx) = (fusedReLU, needsInputGradient)
    Parallel.for(count: workers) { t in
      let images = Parallel.chunk(t, of: workers, count: n)
      Conv2d.outputGradient(
        images: images, pixels: pixels, channels: cout, relu: relu, output: yp, dyIn: dyInP, dy: dyP,
        biasGradient: dB0.map { t == 0 ? $0 : bParts[t].pointer })
      let dU = t == 0 ? dU0 : wParts[t].pointer
      let (v, dm) = (vs[t].pointer, ms[t].pointer)
      var start = images.lowerBound
      while start < images.upperBound {
        let count = Swift.min(chunk, images.upperBound - start)
        let rows = count * tiles.perImage
        Winograd.input(
          xp + start * imageSize, images: count, tiles, channels: cin, into: v, vLayout, padded: padded[t].pointer)
        Winograd.outputAdjoint(dyP + start * outImage, images: count, tiles, channels: cout, into: dm, mLayout)
        Winograd.filterGradient(
          v, vLayout, dm, mLayout, tiles: rows, inChannels: cin, outChannels: cout,
          beta: start == images.lowerBound ? 0 : 1, into: dU)
        if needsDx {
          // ∂V overwrites V, no longer needed.
          Winograd.inputGradient(dm, mLayout, u, tiles: rows, inChannels: cin, outChannels: cout, into: v, vLayout)
          Winograd.inputAdjoint(
            v, vLayout, images: count, tiles, channels: cin, into: dxp + start * imageSize, padded: padded[t].pointer)
        }
        start += count
      }
    }
    addPartials(workers: workers, count: transformedGrad.count, into: dU0)
    Winograd.filterAdjoint(dU0, inChannels: cin, outChannels: cout, into: weight.grad.pointer)
  }
}
