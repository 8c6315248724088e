/// The geometry of a 2-D convolution or pooling window over NHWC images.
public struct ConvGeometry: Hashable, Sendable {
  /// Input height, width and channels.
  public var height: Int, width: Int, channels: Int
  /// Kernel height and width.
  public var kernelH: Int, kernelW: Int
  /// Stride and zero padding (the same on both sides and both axes).
  public var stride: Int, padding: Int

  /// A geometry; the output size follows PyTorch's floor rule.
  public init(height: Int, width: Int, channels: Int, kernel: Int, stride: Int = 1, padding: Int = 0) {
    self.height = height
    self.width = width
    self.channels = channels
    self.kernelH = kernel
    self.kernelW = kernel
    self.stride = stride
    self.padding = padding
  }

  /// Output height: ⌊(H + 2p − kH)/s⌋ + 1.
  public var outHeight: Int { (height + 2 * padding - kernelH) / stride + 1 }
  /// Output width: ⌊(W + 2p − kW)/s⌋ + 1.
  public var outWidth: Int { (width + 2 * padding - kernelW) / stride + 1 }
  /// Length of one im2col row: kH·kW·C.
  public var patchSize: Int { kernelH * kernelW * channels }
}

/// im2col / col2im for NHWC images.
///
/// A column matrix has one row per output pixel (n, oy, ox) and kH·kW·C columns ordered (ky, kx, c),
/// matching weights stored as [kH·kW·C, C_out] (HWIO), so `cols × W` is the NHWC output.
public enum Im2col {
  /// Writes the patches of `images` images starting at `x` into `cols`.
  public static func forward(
    _ x: UnsafePointer<Float>, images: Int, _ g: ConvGeometry, into cols: UnsafeMutablePointer<Float>
  ) {
    let oh = g.outHeight
    let ow = g.outWidth
    let c = g.channels
    let rowLen = g.patchSize
    let imageSize = g.height * g.width * c
    for n in 0..<images {
      let img = x + n * imageSize
      for oy in 0..<oh {
        for ox in 0..<ow {
          var dst = cols + ((n * oh + oy) * ow + ox) * rowLen
          let iy0 = oy * g.stride - g.padding
          let ix0 = ox * g.stride - g.padding
          for ky in 0..<g.kernelH {
            let iy = iy0 + ky
            if iy < 0 || iy >= g.height {
              dst.update(repeating: 0, count: g.kernelW * c)
              dst += g.kernelW * c
              continue
            }
            // Contiguous run of in-bounds kx.
            let kxLo = Swift.max(0, -ix0)
            let kxHi = Swift.min(g.kernelW, g.width - ix0)
            if kxLo > 0 { dst.update(repeating: 0, count: kxLo * c) }
            if kxHi > kxLo {
              dst.advanced(by: kxLo * c).update(
                from: img + (iy * g.width + ix0 + kxLo) * c, count: (kxHi - kxLo) * c)
            }
            let tail = g.kernelW - Swift.max(kxHi, kxLo)
            if tail > 0 { dst.advanced(by: Swift.max(kxHi, kxLo) * c).update(repeating: 0, count: tail * c) }
            dst += g.kernelW * c
          }
        }
      }
    }
  }

  /// Accumulates `cols` back into image gradients `dx` (which it zeroes first): the adjoint of ``forward``.
  public static func backward(
    _ cols: UnsafePointer<Float>, images: Int, _ g: ConvGeometry, into dx: UnsafeMutablePointer<Float>
  ) {
    let oh = g.outHeight
    let ow = g.outWidth
    let c = g.channels
    let rowLen = g.patchSize
    let imageSize = g.height * g.width * c
    dx.update(repeating: 0, count: images * imageSize)
    for n in 0..<images {
      let img = dx + n * imageSize
      for oy in 0..<oh {
        for ox in 0..<ow {
          var src = cols + ((n * oh + oy) * ow + ox) * rowLen
          let iy0 = oy * g.stride - g.padding
          let ix0 = ox * g.stride - g.padding
          for ky in 0..<g.kernelH {
            let iy = iy0 + ky
            if iy >= 0 && iy < g.height {
              let kxLo = Swift.max(0, -ix0)
              let kxHi = Swift.min(g.kernelW, g.width - ix0)
              if kxHi > kxLo {
                let d = img + (iy * g.width + ix0 + kxLo) * c
                let s = src + kxLo * c
                for i in 0..<((kxHi - kxLo) * c) { d[i] += s[i] }
              }
            }
            src += g.kernelW * c
          }
        }
      }
    }
  }
}
