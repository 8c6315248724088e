import Testing
import _ReplicateTestSupport

@testable import Engine

/// Direct 3×3, stride-1, padding-1 correlation of NHWC `x` with HWIO `w`, in Double.
private func directConvolution(
  _ x: [Float], n: Int, h: Int, w: Int, cin: Int, _ k: [Float], cout: Int
) -> [Double] {
  var y = [Double](repeating: 0, count: n * h * w * cout)
  for b in 0..<n {
    for oy in 0..<h {
      for ox in 0..<w {
        for co in 0..<cout {
          var s = 0.0
          for ky in 0..<3 {
            for kx in 0..<3 {
              let iy = oy + ky - 1
              let ix = ox + kx - 1
              guard iy >= 0 && iy < h && ix >= 0 && ix < w else { continue }
              for ci in 0..<cin {
                s += Double(x[((b * h + iy) * w + ix) * cin + ci]) * Double(k[((ky * 3 + kx) * cin + ci) * cout + co])
              }
            }
          }
          y[((b * h + oy) * w + ox) * cout + co] = s
        }
      }
    }
  }
  return y
}

private func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
  let t = Tensor(shape: shape)
  var s = RandomKey(seed: seed).stream()
  s.fillNormal(t.buffer)
  return t
}

/// Σ a·b in Double.
private func dot(_ a: Tensor, _ b: Tensor) -> Double {
  zip(a.toArray(), b.toArray()).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
}

@Suite("Winograd F(2×2, 3×3)")
struct WinogradTests {
  /// (images, height, width, C_in, C_out): odd and even sizes, 1×1 and 2×1 images, channel counts
  /// below, at and above the 4-lane blocks.
  static let shapes: [(Int, Int, Int, Int, Int)] = [
    (2, 5, 7, 3, 5), (1, 8, 8, 16, 16), (3, 6, 9, 8, 4), (1, 1, 1, 4, 4), (2, 2, 1, 1, 2), (2, 7, 6, 17, 9),
  ]

  /// Filter transform, input transform, the 16 products and the output transform (with bias and ReLU)
  /// give the direct convolution, within float rounding, in both buffer layouts.
  @Test(arguments: 0..<shapes.count, [false, true])
  func pipelineMatchesDirectConvolution(index: Int, positionMajor: Bool) {
    let (n, h, w, cin, cout) = Self.shapes[index]
    let x = randomTensor([n, h, w, cin], seed: UInt64(index))
    let k = randomTensor([9 * cin * cout], seed: UInt64(100 + index))
    let bias = randomTensor([cout], seed: UInt64(200 + index))
    let tiles = Winograd.Tiles(height: h, width: w)
    let rows = n * tiles.perImage
    let (vl, ml) =
      positionMajor
      ? (
        Winograd.Layout.positionMajor(tiles: rows, channels: cin),
        Winograd.Layout.positionMajor(tiles: rows, channels: cout)
      )
      : (Winograd.Layout.tileMajor(channels: cin), Winograd.Layout.tileMajor(channels: cout))
    let u = Tensor(shape: [16 * cin * cout])
    let v = Tensor(shape: [vl.floats(tiles: rows, channels: cin)])
    let m = Tensor(shape: [ml.floats(tiles: rows, channels: cout)])
    let y = Tensor(shape: [n, h, w, cout])
    Winograd.filter(k.pointer, inChannels: cin, outChannels: cout, into: u.pointer)
    let padded = Tensor(shape: [tiles.paddedFloats(channels: cin)], repeating: 5)  // zeroed by the callee
    Winograd.input(x.pointer, images: n, tiles, channels: cin, into: v.pointer, vl, padded: padded.pointer)
    Winograd.multiply(v.pointer, vl, u.pointer, tiles: rows, inChannels: cin, outChannels: cout, into: m.pointer, ml)
    let expected = directConvolution(x.toArray(), n: n, h: h, w: w, cin: cin, k.toArray(), cout: cout)
    for relu in [false, true] {
      Winograd.output(
        m.pointer, ml, images: n, tiles, channels: cout, into: y.pointer, bias: bias.pointer, relu: relu)
      let want = expected.enumerated().map { i, e in
        let z = e + Double(bias[i % cout])
        return relu ? Swift.max(z, 0) : z
      }
      expectApprox(y.toArray(), want, abs: 1e-4, rel: 1e-4, "relu \(relu)")
    }
  }

  /// ⟨T a, b⟩ = ⟨a, T* b⟩ for each transform T and its adjoint T* (filter, input, output), on random
  /// a and b: the backward pass is the exact adjoint of the forward.
  @Test(arguments: 0..<shapes.count)
  func adjointsAreAdjoint(index: Int) {
    let (n, h, w, cin, cout) = Self.shapes[index]
    let tiles = Winograd.Tiles(height: h, width: w)
    let rows = n * tiles.perImage
    let (vl, ml) = (Winograd.Layout.tileMajor(channels: cin), Winograd.Layout.tileMajor(channels: cout))
    func check(_ lhs: Double, _ rhs: Double, _ what: String) {
      expectApprox(lhs, rhs, abs: 1e-3, rel: 1e-5, what)
    }
    // Filter: ⟨G g Gᵀ, ∂U⟩ = ⟨g, Gᵀ ∂U G⟩.
    let g = randomTensor([9 * cin * cout], seed: 1)
    let du = randomTensor([16 * cin * cout], seed: 2)
    let (u, dg) = (Tensor(shape: [16 * cin * cout]), Tensor(shape: [9 * cin * cout]))
    Winograd.filter(g.pointer, inChannels: cin, outChannels: cout, into: u.pointer)
    Winograd.filterAdjoint(du.pointer, inChannels: cin, outChannels: cout, into: dg.pointer)
    check(dot(u, du), dot(g, dg), "filter")
    // Input: ⟨Bᵀ d B, ∂V⟩ = ⟨d, B ∂V Bᵀ (overlap-added)⟩.
    let x = randomTensor([n, h, w, cin], seed: 3)
    let dv = randomTensor([rows * 16 * cin], seed: 4)
    let (v, dx) = (Tensor(shape: [rows * 16 * cin]), Tensor(shape: [n, h, w, cin], repeating: 7))
    let padded = Tensor(shape: [tiles.paddedFloats(channels: cin)], repeating: 5)  // zeroed by the callee
    Winograd.input(x.pointer, images: n, tiles, channels: cin, into: v.pointer, vl, padded: padded.pointer)
    Winograd.inputAdjoint(dv.pointer, vl, images: n, tiles, channels: cin, into: dx.pointer, padded: padded.pointer)
    check(dot(v, dv), dot(x, dx), "input")
    // Output: ⟨Aᵀ M A, ∂Y⟩ = ⟨M, A ∂Y Aᵀ⟩ (outputs beyond an odd edge dropped / read as zero).
    let mm = randomTensor([rows * 16 * cout], seed: 5)
    let dy = randomTensor([n, h, w, cout], seed: 6)
    let (y, dm) = (Tensor(shape: [n, h, w, cout]), Tensor(shape: [rows * 16 * cout]))
    Winograd.output(mm.pointer, ml, images: n, tiles, channels: cout, into: y.pointer, bias: nil, relu: false)
    Winograd.outputAdjoint(dy.pointer, images: n, tiles, channels: cout, into: dm.pointer, ml)
    check(dot(y, dy), dot(mm, dm), "output")
  }

  @Test func tileGrid() {
    let t = Winograd.Tiles(height: 7, width: 32)
    #expect(t.rows == 4 && t.columns == 16 && t.perImage == 64)
    #expect(Winograd.Layout.tileMajor(channels: 5) == Winograd.Layout(tile: 80, position: 5))
    let p = Winograd.Layout.positionMajor(tiles: 10, channels: 4)
    #expect(p == Winograd.Layout(tile: 4, position: 56) && p.floats(tiles: 10, channels: 4) == 15 * 56 + 40)
  }
}
