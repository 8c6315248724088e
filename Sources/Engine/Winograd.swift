/// Winograd F(2×2, 3×3) transforms for stride-1, padding-1, 3×3 convolutions over NHWC images
/// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016, §4.1).
///
/// The output is computed in 2×2 tiles; tile (ty, tx) of an image reads the 4×4 input patch whose
/// top-left pixel is (2ty − 1, 2tx − 1) (zero outside the image: padding 1, and odd sizes round the
/// tile grid up, the extra outputs being dropped). For a patch d (4×4) and a kernel g (3×3, one input
/// and one output channel), the tile is
///
///     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,
///
/// with
///
///     Bᵀ = | 1  0 −1  0 |      G = | 1    0    0   |      Aᵀ = | 1  1  1  0 |
///          | 0  1  1  0 |          | 1/2  1/2  1/2 |           | 0  1 −1 −1 |
///          | 0 −1  1  0 |          | 1/2 −1/2  1/2 |
///          | 0  1  0 −1 |          | 0    0    1   |
///
/// Summed over input channels, the 16 elementwise products of each tile become 16 matrix products
/// M[ξ] = V[ξ]·U[ξ] ([tiles × C_in]·[C_in × C_out], ξ = 0…15 the position in the 4×4 tile) that a
/// caller runs through ``BLAS/gemm(transA:transB:m:n:k:alpha:_:lda:_:ldb:beta:_:ldc:)``: 16
/// multiplications per output tile and channel pair instead of im2col's 36, i.e. 2.25× fewer.
///
/// The backward pass uses the adjoints of the same linear maps (the exact gradient of the computation
/// above): ∂M = A ∂Y Aᵀ (``outputAdjoint``), ∂U[ξ] = Σ_tiles V[ξ]ᵀ·∂M[ξ] and ∂g = Gᵀ ∂U G
/// (``filterAdjoint``) for the weight gradient, and ∂V[ξ] = ∂M[ξ]·U[ξ]ᵀ then ∂d = B ∂V Bᵀ, overlap-added
/// into the image (``inputAdjoint``) for the input gradient. (∂x as this adjoint rather than as a Winograd
/// convolution of ∂y with the flipped kernel: the one ∂M transform serves both gradients, and U is reused.)
///
/// Transformed tiles are stored with two strides: element (tile t, position ξ, channel c) of a buffer
/// is at `t·layout.tile + ξ·layout.position + c`, so a product's operand for position ξ is the matrix at
/// offset `ξ·layout.position` with row stride `layout.tile`. Channels are contiguous and processed four
/// at a time (`SIMD4<Float>`; the tail of a channel count that is not a multiple of 4 with partial
/// loads), so every transform is vectorised whatever the compiler's target. Every transformed element
/// is computed by a fixed sequence of operations that depends only on the shapes, not on how images are
/// split into calls (the products' last bits can: OpenBLAS picks its kernels by the size of a call).
public enum Winograd {
  /// The tile grid of an H×W image: ⌈H/2⌉ × ⌈W/2⌉ tiles of 2×2 outputs.
  public struct Tiles: Hashable, Sendable {
    /// Image (input and output) height and width.
    public var height: Int, width: Int
    /// The grid for an `height`×`width` image.
    public init(height: Int, width: Int) {
      self.height = height
      self.width = width
    }
    /// Tile rows ⌈H/2⌉.
    public var rows: Int { (height + 1) / 2 }
    /// Tile columns ⌈W/2⌉.
    public var columns: Int { (width + 1) / 2 }
    /// Tiles per image.
    public var perImage: Int { rows * columns }
    /// Floats of one image padded for the tiles: (2·rows + 2) × (2·columns + 2) × `channels`.
    public func paddedFloats(channels: Int) -> Int { (2 * rows + 2) * (2 * columns + 2) * channels }
  }

  /// Strides of a transformed-tile buffer: element (t, ξ, c) is at `t·tile + ξ·position + c`.
  public struct Layout: Hashable, Sendable {
    /// Stride between consecutive tiles and between the 16 positions of a tile.
    public var tile: Int, position: Int
    /// A layout from its strides.
    public init(tile: Int, position: Int) {
      self.tile = tile
      self.position = position
    }
    /// Tile-major: the 16·`channels` values of a tile are contiguous (position stride `channels`).
    public static func tileMajor(channels: Int) -> Layout { Layout(tile: 16 * channels, position: channels) }

    /// Position-major for up to `tiles` tiles: each position's [tiles × channels] matrix is contiguous
    /// (the products' operands are dense), and consecutive positions are 16 floats further apart than
    /// that, so the transforms' 16 write streams do not fall on the same cache sets (a stride that is a
    /// multiple of 4 KiB made the transforms 2–7× slower; measured with 16–64 channels).
    public static func positionMajor(tiles: Int, channels: Int) -> Layout {
      Layout(tile: channels, position: tiles * channels + 16)
    }

    /// Floats a buffer of `tiles` tiles needs.
    public func floats(tiles: Int, channels: Int) -> Int { 15 * position + (tiles - 1) * tile + channels }
  }

  // MARK: Filter

  /// U = G g Gᵀ for every (input, output) channel pair: `weight` is HWIO, [3·3·C_in·C_out] (element
  /// ((ky·3 + kx)·C_in + ci)·C_out + co); `u` receives [16·C_in·C_out], position ξ = 4i + j at
  /// `ξ·C_in·C_out`, each a row-major [C_in × C_out] matrix.
  public static func filter(
    _ weight: UnsafePointer<Float>, inChannels: Int, outChannels: Int, into u: UnsafeMutablePointer<Float>
  ) {
    let s = inChannels * outChannels
    let half: Float = 0.5
    for r in 0..<s {
      let g00 = weight[r]
      let g01 = weight[s + r]
      let g02 = weight[2 * s + r]
      let g10 = weight[3 * s + r]
      let g11 = weight[4 * s + r]
      let g12 = weight[5 * s + r]
      let g20 = weight[6 * s + r]
      let g21 = weight[7 * s + r]
      let g22 = weight[8 * s + r]
      // t = G g (4×3), row by row.
      let t00 = g00
      let t01 = g01
      let t02 = g02
      let t10 = half * (g00 + g10 + g20)
      let t11 = half * (g01 + g11 + g21)
      let t12 = half * (g02 + g12 + g22)
      let t20 = half * (g00 - g10 + g20)
      let t21 = half * (g01 - g11 + g21)
      let t22 = half * (g02 - g12 + g22)
      let t30 = g20
      let t31 = g21
      let t32 = g22
      // U = t Gᵀ (4×4).
      @inline(__always) func row(_ i: Int, _ a: Float, _ b: Float, _ c: Float) {
        u[(4 * i) * s + r] = a
        u[(4 * i + 1) * s + r] = half * (a + b + c)
        u[(4 * i + 2) * s + r] = half * (a - b + c)
        u[(4 * i + 3) * s + r] = c
      }
      row(0, t00, t01, t02)
      row(1, t10, t11, t12)
      row(2, t20, t21, t22)
      row(3, t30, t31, t32)
    }
  }

  /// ∂g = Gᵀ ∂U G for every channel pair: the adjoint of ``filter(_:inChannels:outChannels:into:)``.
  /// `du` is [16·C_in·C_out] as `filter` writes it; `weightGradient` receives HWIO [3·3·C_in·C_out]
  /// (overwritten).
  public static func filterAdjoint(
    _ du: UnsafePointer<Float>, inChannels: Int, outChannels: Int, into weightGradient: UnsafeMutablePointer<Float>
  ) {
    let s = inChannels * outChannels
    let half: Float = 0.5
    let dw = weightGradient
    for r in 0..<s {
      // a = Gᵀ ∂U (3×4), column by column: a0j = u0j + (u1j + u2j)/2, a1j = (u1j − u2j)/2,
      // a2j = (u1j + u2j)/2 + u3j.
      @inline(__always) func column(_ j: Int) -> (Float, Float, Float) {
        let u0 = du[j * s + r]
        let u1 = du[(4 + j) * s + r]
        let u2 = du[(8 + j) * s + r]
        let u3 = du[(12 + j) * s + r]
        let p = half * (u1 + u2)
        return (u0 + p, half * (u1 - u2), p + u3)
      }
      let (a00, a10, a20) = column(0)
      let (a01, a11, a21) = column(1)
      let (a02, a12, a22) = column(2)
      let (a03, a13, a23) = column(3)
      // ∂g = a G (3×3).
      @inline(__always) func row(_ i: Int, _ b0: Float, _ b1: Float, _ b2: Float, _ b3: Float) {
        let p = half * (b1 + b2)
        dw[(3 * i) * s + r] = b0 + p
        dw[(3 * i + 1) * s + r] = half * (b1 - b2)
        dw[(3 * i + 2) * s + r] = p + b3
      }
      row(0, a00, a01, a02, a03)
      row(1, a10, a11, a12, a13)
      row(2, a20, a21, a22, a23)
    }
  }

  // MARK: Input

  /// V = Bᵀ d B for every tile of `images` NHWC images starting at `x` (`channels` channels), tiles in
  /// image, tile-row, tile-column order, into `v` with `layout`. Each image is first copied into
  /// `padded` (``Tiles/paddedFloats(channels:)`` floats) with its zero border, so every tile reads a
  /// plain 4×4 window (measured: border tiles through a table of pointers cost as much as all the others).
  public static func input(
    _ x: UnsafePointer<Float>, images: Int, _ tiles: Tiles, channels c: Int, into v: UnsafeMutablePointer<Float>,
    _ layout: Layout, padded: UnsafeMutablePointer<Float>
  ) {
    let (h, w) = (tiles.height, tiles.width)
    let pw = 2 * tiles.columns + 2
    var t = 0
    for n in 0..<images {
      let img = x + n * h * w * c
      // The padded image: row 0 and rows h + 1… zero, column 0 and columns w + 1… zero.
      padded.update(repeating: 0, count: pw * c)
      for y in 0..<h {
        let row = padded + (y + 1) * pw * c
        row.update(repeating: 0, count: c)
        (row + c).update(from: img + y * w * c, count: w * c)
        (row + (w + 1) * c).update(repeating: 0, count: (pw - w - 1) * c)
      }
      (padded + (h + 1) * pw * c).update(repeating: 0, count: (2 * tiles.rows + 1 - h) * pw * c)
      for ty in 0..<tiles.rows {
        for tx in 0..<tiles.columns {
          let grid = Grid4(base: padded + (2 * ty * pw + 2 * tx) * c, row: pw * c, column: c)
          inputTile(grid, c, v + t * layout.tile, layout.position)
          t += 1
        }
      }
    }
  }

  /// The adjoint of ``input(_:images:_:channels:into:_:padded:)``: ∂d = B ∂V Bᵀ for every tile,
  /// overlap-added into a zeroed padded image (tiles added in order, so every pixel's sum has a fixed
  /// order) whose interior is then copied into the images' gradient `dx`.
  public static func inputAdjoint(
    _ dv: UnsafePointer<Float>, _ layout: Layout, images: Int, _ tiles: Tiles, channels c: Int,
    into dx: UnsafeMutablePointer<Float>, padded: UnsafeMutablePointer<Float>
  ) {
    let (h, w) = (tiles.height, tiles.width)
    let pw = 2 * tiles.columns + 2
    var t = 0
    for n in 0..<images {
      padded.update(repeating: 0, count: tiles.paddedFloats(channels: c))
      for ty in 0..<tiles.rows {
        for tx in 0..<tiles.columns {
          let grid = Grid4(base: padded + (2 * ty * pw + 2 * tx) * c, row: pw * c, column: c)
          inputAdjointTile(grid, c, dv + t * layout.tile, layout.position)
          t += 1
        }
      }
      let img = dx + n * h * w * c
      for y in 0..<h { (img + y * w * c).update(from: padded + ((y + 1) * pw + 1) * c, count: w * c) }
    }
  }

  // MARK: Output

  /// Y = Aᵀ M A for every tile of `m` (`layout`), plus `bias` and ReLU if given, written into the NHWC
  /// output `y` of `images` images (`channels` channels; outputs beyond an odd edge are dropped).
  public static func output(
    _ m: UnsafePointer<Float>, _ layout: Layout, images: Int, _ tiles: Tiles, channels c: Int,
    into y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, relu: Bool
  ) {
    let (h, w) = (tiles.height, tiles.width)
    withScratch(channels: c, taps: 4) { zero, sink, taps in
      let b = bias ?? UnsafePointer(zero)
      var t = 0
      for n in 0..<images {
        let img = y + n * h * w * c
        for ty in 0..<tiles.rows {
          for tx in 0..<tiles.columns {
            let src = m + t * layout.tile
            if 2 * ty + 1 < h && 2 * tx + 1 < w {
              let corner = img + (2 * ty * w + 2 * tx) * c
              outputTile(Grid2(base: corner, row: w * c, column: c), c, src, layout.position, b, relu)
            } else {
              outputTaps(img, ty: ty, tx: tx, h: h, w: w, c: c, outside: sink, into: taps)
              outputTile(TableTaps(pointers: taps), c, src, layout.position, b, relu)
            }
            t += 1
          }
        }
      }
    }
  }

  /// The adjoint of ``output(_:_:images:_:channels:into:bias:relu:)`` without bias and ReLU:
  /// ∂M = A ∂Y Aᵀ for every tile of the NHWC gradient `dy` (zero beyond an odd edge), into `dm`.
  public static func outputAdjoint(
    _ dy: UnsafePointer<Float>, images: Int, _ tiles: Tiles, channels c: Int, into dm: UnsafeMutablePointer<Float>,
    _ layout: Layout
  ) {
    let (h, w) = (tiles.height, tiles.width)
    withScratch(channels: c, taps: 4) { zero, _, taps in
      var t = 0
      for n in 0..<images {
        let img = UnsafeMutablePointer(mutating: dy + n * h * w * c)
        for ty in 0..<tiles.rows {
          for tx in 0..<tiles.columns {
            let out = dm + t * layout.tile
            if 2 * ty + 1 < h && 2 * tx + 1 < w {
              let corner = img + (2 * ty * w + 2 * tx) * c
              outputAdjointTile(Grid2(base: corner, row: w * c, column: c), c, out, layout.position)
            } else {
              outputTaps(img, ty: ty, tx: tx, h: h, w: w, c: c, outside: zero, into: taps)
              outputAdjointTile(TableTaps(pointers: taps), c, out, layout.position)
            }
            t += 1
          }
        }
      }
    }
  }

  // MARK: Products

  /// M[ξ] = V[ξ]·U[ξ] for the 16 positions: `tiles` rows, [tiles × C_in]·[C_in × C_out] each.
  public static func multiply(
    _ v: UnsafePointer<Float>, _ vLayout: Layout, _ u: UnsafePointer<Float>, tiles: Int, inChannels: Int,
    outChannels: Int, into m: UnsafeMutablePointer<Float>, _ mLayout: Layout
  ) {
    let s = inChannels * outChannels
    for xi in 0..<16 {
      BLAS.gemm(
        m: tiles, n: outChannels, k: inChannels, v + xi * vLayout.position, lda: vLayout.tile, u + xi * s,
        ldb: outChannels, m + xi * mLayout.position, ldc: mLayout.tile)
    }
  }

  /// ∂U[ξ] ← β·∂U[ξ] + V[ξ]ᵀ·∂M[ξ] for the 16 positions ([C_in × tiles]·[tiles × C_out]).
  public static func filterGradient(
    _ v: UnsafePointer<Float>, _ vLayout: Layout, _ dm: UnsafePointer<Float>, _ mLayout: Layout, tiles: Int,
    inChannels: Int, outChannels: Int, beta: Float, into du: UnsafeMutablePointer<Float>
  ) {
    let s = inChannels * outChannels
    for xi in 0..<16 {
      BLAS.gemm(
        transA: true, m: inChannels, n: outChannels, k: tiles, v + xi * vLayout.position, lda: vLayout.tile,
        dm + xi * mLayout.position, ldb: mLayout.tile, beta: beta, du + xi * s, ldc: outChannels)
    }
  }

  /// ∂V[ξ] = ∂M[ξ]·U[ξ]ᵀ for the 16 positions ([tiles × C_out]·[C_out × C_in]).
  public static func inputGradient(
    _ dm: UnsafePointer<Float>, _ mLayout: Layout, _ u: UnsafePointer<Float>, tiles: Int, inChannels: Int,
    outChannels: Int, into dv: UnsafeMutablePointer<Float>, _ vLayout: Layout
  ) {
    let s = inChannels * outChannels
    for xi in 0..<16 {
      BLAS.gemm(
        transB: true, m: tiles, n: inChannels, k: outChannels, dm + xi * mLayout.position, lda: mLayout.tile,
        u + xi * s, ldb: outChannels, dv + xi * vLayout.position, ldc: vLayout.tile)
    }
  }

  // MARK: Kernels

  /// Runs `body(zero, sink, taps)` with `channels` zeros, a `channels`-float write sink and room for
  /// `taps` pointers, on the stack for the channel counts of these networks.
  @inline(__always)
  private static func withScratch(
    channels: Int, taps: Int,
    _ body: (
      UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    )
      -> Void
  ) {
    let c = Swift.max(channels, 4)
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * c) { floats in
      let zero = floats.baseAddress!
      zero.initialize(repeating: 0, count: 2 * c)
      withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Float>.self, capacity: taps) { pointers in
        body(zero, zero + c, pointers.baseAddress!)
      }
    }
  }

  /// Pointers to the 2×2 outputs of tile (ty, tx), row-major; outputs beyond the image get `outside`.
  @inline(__always)
  private static func outputTaps(
    _ img: UnsafeMutablePointer<Float>, ty: Int, tx: Int, h: Int, w: Int, c: Int,
    outside: UnsafeMutablePointer<Float>, into taps: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
  ) {
    for a in 0..<2 {
      let oy = 2 * ty + a
      for b in 0..<2 {
        let ox = 2 * tx + b
        taps[2 * a + b] = oy < h && ox < w ? img + (oy * w + ox) * c : outside
      }
    }
  }

  /// Runs `block(lanes, k)` over the channels of a tile: whole 4-lane blocks, then the tail.
  @inline(__always)
  private static func channelBlocks(_ c: Int, _ full: (FullLanes, Int) -> Void, _ tail: (PartialLanes, Int) -> Void) {
    var k = 0
    while k + 4 <= c {
      full(FullLanes(), k)
      k += 4
    }
    if k < c { tail(PartialLanes(count: c - k), k) }
  }

  /// ``inputBlock(_:_:_:_:_:)`` over all channels of a tile.
  @inline(__always)
  private static func inputTile<T: Taps>(_ p: T, _ c: Int, _ out: UnsafeMutablePointer<Float>, _ ps: Int) {
    channelBlocks(c, { inputBlock($0, p, $1, out + $1, ps) }, { inputBlock($0, p, $1, out + $1, ps) })
  }

  /// ``inputAdjointBlock(_:_:_:_:_:)`` over all channels of a tile.
  @inline(__always)
  private static func inputAdjointTile<T: Taps>(_ p: T, _ c: Int, _ src: UnsafePointer<Float>, _ ps: Int) {
    channelBlocks(c, { inputAdjointBlock($0, src + $1, ps, p, $1) }, { inputAdjointBlock($0, src + $1, ps, p, $1) })
  }

  /// ``outputBlock(_:_:_:_:_:_:_:)`` over all channels of a tile.
  @inline(__always)
  private static func outputTile<T: Taps>(
    _ p: T, _ c: Int, _ src: UnsafePointer<Float>, _ ps: Int, _ bias: UnsafePointer<Float>, _ relu: Bool
  ) {
    channelBlocks(
      c, { outputBlock($0, src + $1, ps, bias + $1, relu, p, $1) },
      { outputBlock($0, src + $1, ps, bias + $1, relu, p, $1) })
  }

  /// ``outputAdjointBlock(_:_:_:_:_:)`` over all channels of a tile.
  @inline(__always)
  private static func outputAdjointTile<T: Taps>(_ p: T, _ c: Int, _ out: UnsafeMutablePointer<Float>, _ ps: Int) {
    channelBlocks(c, { outputAdjointBlock($0, p, $1, out + $1, ps) }, { outputAdjointBlock($0, p, $1, out + $1, ps) })
  }

  /// Bᵀ d B on four channels: `taps` the 16 pixels, `out` the tile's 16 positions (stride `ps`).
  @inline(__always)
  private static func inputBlock<L: Lanes, T: Taps>(
    _ l: L, _ p: T, _ k: Int, _ out: UnsafeMutablePointer<Float>,
    _ ps: Int
  ) {
    let d00 = l.load(p[0] + k)
    let d01 = l.load(p[1] + k)
    let d02 = l.load(p[2] + k)
    let d03 = l.load(p[3] + k)
    let d10 = l.load(p[4] + k)
    let d11 = l.load(p[5] + k)
    let d12 = l.load(p[6] + k)
    let d13 = l.load(p[7] + k)
    let d20 = l.load(p[8] + k)
    let d21 = l.load(p[9] + k)
    let d22 = l.load(p[10] + k)
    let d23 = l.load(p[11] + k)
    let d30 = l.load(p[12] + k)
    let d31 = l.load(p[13] + k)
    let d32 = l.load(p[14] + k)
    let d33 = l.load(p[15] + k)
    // Then (Bᵀ d) B on each row of Bᵀ d.
    @inline(__always) func put(_ i: Int, _ a: SIMD4<Float>, _ b: SIMD4<Float>, _ c: SIMD4<Float>, _ d: SIMD4<Float>) {
      l.store(a - c, out + (4 * i) * ps)
      l.store(b + c, out + (4 * i + 1) * ps)
      l.store(c - b, out + (4 * i + 2) * ps)
      l.store(b - d, out + (4 * i + 3) * ps)
    }
    put(0, d00 - d20, d01 - d21, d02 - d22, d03 - d23)
    put(1, d10 + d20, d11 + d21, d12 + d22, d13 + d23)
    put(2, d20 - d10, d21 - d11, d22 - d12, d23 - d13)
    put(3, d10 - d30, d11 - d31, d12 - d32, d13 - d33)
  }

  /// B ∂V Bᵀ on four channels, added into the 16 pixels `taps`.
  @inline(__always)
  private static func inputAdjointBlock<L: Lanes, T: Taps>(
    _ l: L, _ src: UnsafePointer<Float>, _ ps: Int, _ p: T, _ k: Int
  ) {
    @inline(__always) func row(_ i: Int) -> (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>) {
      (
        l.load(src + (4 * i) * ps), l.load(src + (4 * i + 1) * ps), l.load(src + (4 * i + 2) * ps),
        l.load(src + (4 * i + 3) * ps)
      )
    }
    let (v00, v01, v02, v03) = row(0)
    let (v10, v11, v12, v13) = row(1)
    let (v20, v21, v22, v23) = row(2)
    let (v30, v31, v32, v33) = row(3)
    // f = B ∂V (rows): f0 = v0, f1 = v1 − v2 + v3, f2 = v1 + v2 − v0, f3 = −v3; then f Bᵀ the same on
    // columns, added into the pixels.
    @inline(__always) func add(_ r: Int, _ a: SIMD4<Float>, _ b: SIMD4<Float>, _ c: SIMD4<Float>, _ d: SIMD4<Float>) {
      let q0 = p[4 * r] + k
      let q1 = p[4 * r + 1] + k
      let q2 = p[4 * r + 2] + k
      let q3 = p[4 * r + 3] + k
      l.store(l.load(q0) + a, q0)
      l.store(l.load(q1) + ((b - c) + d), q1)
      l.store(l.load(q2) + ((b + c) - a), q2)
      l.store(l.load(q3) - d, q3)
    }
    add(0, v00, v01, v02, v03)
    add(1, (v10 - v20) + v30, (v11 - v21) + v31, (v12 - v22) + v32, (v13 - v23) + v33)
    add(2, (v10 + v20) - v00, (v11 + v21) - v01, (v12 + v22) - v02, (v13 + v23) - v03)
    add(3, -v30, -v31, -v32, -v33)
  }

  /// Aᵀ M A (+ bias, ReLU) on four channels into the 4 output pixels `taps`.
  @inline(__always)
  private static func outputBlock<L: Lanes, T: Taps>(
    _ l: L, _ src: UnsafePointer<Float>, _ ps: Int, _ bias: UnsafePointer<Float>, _ relu: Bool, _ p: T, _ k: Int
  ) {
    // s = Aᵀ M (2×4), column by column: s0j = m0j + m1j + m2j, s1j = m1j − m2j − m3j.
    @inline(__always) func column(_ j: Int) -> (SIMD4<Float>, SIMD4<Float>) {
      let m0 = l.load(src + j * ps)
      let m1 = l.load(src + (4 + j) * ps)
      let m2 = l.load(src + (8 + j) * ps)
      let m3 = l.load(src + (12 + j) * ps)
      return ((m0 + m1) + m2, (m1 - m2) - m3)
    }
    let (s00, s10) = column(0)
    let (s01, s11) = column(1)
    let (s02, s12) = column(2)
    let (s03, s13) = column(3)
    let b = l.load(bias)
    var y00 = ((s00 + s01) + s02) + b
    var y01 = ((s01 - s02) - s03) + b
    var y10 = ((s10 + s11) + s12) + b
    var y11 = ((s11 - s12) - s13) + b
    if relu {
      let z = SIMD4<Float>()
      y00 = pointwiseMax(y00, z)
      y01 = pointwiseMax(y01, z)
      y10 = pointwiseMax(y10, z)
      y11 = pointwiseMax(y11, z)
    }
    l.store(y00, p[0] + k)
    l.store(y01, p[1] + k)
    l.store(y10, p[2] + k)
    l.store(y11, p[3] + k)
  }

  /// A ∂Y Aᵀ on four channels: `taps` the 4 output pixels' gradients, `out` the 16 positions.
  @inline(__always)
  private static func outputAdjointBlock<L: Lanes, T: Taps>(
    _ l: L, _ p: T, _ k: Int, _ out: UnsafeMutablePointer<Float>,
    _ ps: Int
  ) {
    let g00 = l.load(p[0] + k)
    let g01 = l.load(p[1] + k)
    let g10 = l.load(p[2] + k)
    let g11 = l.load(p[3] + k)
    // e = A ∂Y (4×2): rows g0, g0 + g1, g0 − g1, −g1; then e Aᵀ on each row (a, b): a, a + b, a − b, −b.
    @inline(__always) func put(_ i: Int, _ a: SIMD4<Float>, _ b: SIMD4<Float>) {
      l.store(a, out + (4 * i) * ps)
      l.store(a + b, out + (4 * i + 1) * ps)
      l.store(a - b, out + (4 * i + 2) * ps)
      l.store(-b, out + (4 * i + 3) * ps)
    }
    put(0, g00, g01)
    put(1, g00 + g10, g01 + g11)
    put(2, g00 - g10, g01 - g11)
    put(3, -g10, -g11)
  }
}

/// The pixels a tile reads or writes, by index (row-major within the tile).
private protocol Taps {
  subscript(_ i: Int) -> UnsafeMutablePointer<Float> { get }
}

/// Taps from a table of pointers (border tiles: pixels outside the image point to a zero or sink buffer).
private struct TableTaps: Taps {
  let pointers: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
  @inline(__always) subscript(_ i: Int) -> UnsafeMutablePointer<Float> { pointers[i] }
}

/// The 4×4 pixels from `base` of a tile inside the image (row stride `row`, pixel stride `column`).
private struct Grid4: Taps {
  let base: UnsafeMutablePointer<Float>, row: Int, column: Int
  @inline(__always) subscript(_ i: Int) -> UnsafeMutablePointer<Float> { base + (i >> 2) * row + (i & 3) * column }
}

/// The 2×2 pixels from `base` of a tile inside the image.
private struct Grid2: Taps {
  let base: UnsafeMutablePointer<Float>, row: Int, column: Int
  @inline(__always) subscript(_ i: Int) -> UnsafeMutablePointer<Float> { base + (i >> 1) * row + (i & 1) * column }
}

/// Four-channel loads and stores: whole (`FullLanes`) or the first `count` < 4 lanes (`PartialLanes`,
/// the tail of a channel count that is not a multiple of 4; other lanes read as zero, never written).
private protocol Lanes {
  func load(_ p: UnsafePointer<Float>) -> SIMD4<Float>
  func store(_ v: SIMD4<Float>, _ p: UnsafeMutablePointer<Float>)
}

extension Lanes {
  @inline(__always)
  func load(_ p: UnsafeMutablePointer<Float>) -> SIMD4<Float> { load(UnsafePointer(p)) }
}

private struct FullLanes: Lanes {
  @inline(__always)
  func load(_ p: UnsafePointer<Float>) -> SIMD4<Float> { SIMD4(loading: p) }
  @inline(__always)
  func store(_ v: SIMD4<Float>, _ p: UnsafeMutablePointer<Float>) { v.store(to: p) }
}

private struct PartialLanes: Lanes {
  let count: Int
  @inline(__always)
  func load(_ p: UnsafePointer<Float>) -> SIMD4<Float> {
    var v = SIMD4<Float>()
    for i in 0..<count { v[i] = p[i] }
    return v
  }
  @inline(__always)
  func store(_ v: SIMD4<Float>, _ p: UnsafeMutablePointer<Float>) { for i in 0..<count { p[i] = v[i] } }
}
