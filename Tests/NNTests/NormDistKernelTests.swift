import Engine
import Foundation
import NN
import Testing
import _ReplicateTestSupport

/// The vectorised float32 ℓp-distance layer against a plain double-precision evaluation of its formulas,
/// at the sizes training uses (rows not a multiple of the row block, widths not a multiple of 8).
@Suite("ℓp-distance kernels")
struct NormDistKernelTests {
  let n = 11, d = 203, m = 7

  /// u_ij = ‖x_i − w_j‖_p and ∂/∂x of Σ c ⊙ u, in double.
  func reference(_ x: [Float], _ w: [Float], _ c: [Float], p: Double?) -> (u: [Double], gx: [Double], gw: [Double]) {
    var u = [Double](repeating: 0, count: n * m)
    var gx = [Double](repeating: 0, count: n * d)
    var gw = [Double](repeating: 0, count: m * d)
    for i in 0..<n {
      for j in 0..<m {
        let diff = (0..<d).map { Double(x[i * d + $0]) - Double(w[j * d + $0]) }
        let largest = diff.map(abs).max()!
        if let p {
          u[i * m + j] = largest * pow(diff.reduce(0) { $0 + pow(abs($1) / largest, p) }, 1 / p)
        } else {
          u[i * m + j] = largest
        }
        for k in 0..<d {
          let partial: Double
          if let p {
            partial = (diff[k] < 0 ? -1 : 1) * pow(abs(diff[k]) / u[i * m + j], p - 1)
          } else {
            partial = abs(diff[k]) == largest ? (diff[k] < 0 ? -1 : 1) : 0
          }
          gx[i * d + k] += Double(c[i * m + j]) * partial
          gw[j * d + k] -= Double(c[i * m + j]) * partial
        }
      }
    }
    return (u, gx, gw)
  }

  @Test(arguments: [1.5, 8, 64, 700, nil] as [Double?])
  func matchesDoublePrecision(p: Double?) {
    let x = testMatrix(rows: n, cols: d, seed: 21)
    let w = testMatrix(rows: m, cols: d, seed: 22)
    let c = testMatrix(rows: n, cols: m, seed: 23)
    let layer = NormDistLayer(order: p.map { .finite($0) } ?? .infinity, meanShift: false)
    let y = Tensor(shape: [0])
    layer.forward(x: x, weight: w, output: y)
    let (gx, gw) = (Tensor(shape: [0]), Tensor(shape: [0]))
    layer.backward(gradOutput: c, gradX: gx, gradWeight: gw)
    let expected = reference(x.toArray(), w.toArray(), c.toArray(), p: p)
    expectApprox(y.toArray(), expected.u, abs: 1e-6, rel: 2e-6, "u at p \(String(describing: p))")
    // Gradients: (|d|/u)^{p−1} carries the float rounding of (p−1)·log2(|d|/u).
    expectApprox(gx.toArray(), expected.gx, abs: 1e-5, rel: 1e-4, "∂x at p \(String(describing: p))")
    expectApprox(gw.toArray(), expected.gw, abs: 1e-5, rel: 1e-4, "∂w at p \(String(describing: p))")
  }

  /// At p = ∞ a tie splits the gradient evenly between the tied coordinates (the pure-PyTorch path).
  @Test func infinityTiesShareTheGradient() {
    let x = Tensor(shape: [1, 10], values: [0, 3, 0, 0, 0, 0, 0, 0, 0, -3])
    let w = Tensor(shape: [1, 10], repeating: 0)
    let layer = NormDistLayer(order: .infinity, meanShift: false)
    let y = Tensor(shape: [0])
    layer.forward(x: x, weight: w, output: y)
    #expect(y[0] == 3)
    let (gx, gw) = (Tensor(shape: [0]), Tensor(shape: [0]))
    layer.backward(gradOutput: Tensor(shape: [1, 1], values: [2]), gradX: gx, gradWeight: gw)
    #expect(gx.toArray() == [0, 1, 0, 0, 0, 0, 0, 0, 0, -1])
    #expect(gw.toArray() == [0, -1, 0, 0, 0, 0, 0, 0, 0, 1])
  }

  /// Outputs do not depend on the number of workers; gradients are deterministic for a given count.
  @Test(arguments: [8.0, nil] as [Double?])
  func workerCountLeavesOutputsBitwise(p: Double?) {
    let x = testMatrix(rows: 37, cols: 50, seed: 31)
    let w = testMatrix(rows: 19, cols: 50, seed: 32)
    let c = testMatrix(rows: 37, cols: 19, seed: 33)
    func run(_ threads: Int) -> ([Float], [Float], [Float]) {
      Parallel.withThreads(threads) {
        let layer = NormDistLayer(order: p.map { .finite($0) } ?? .infinity, meanShift: true)
        let (y, gx, gw) = (Tensor(shape: [0]), Tensor(shape: [0]), Tensor(shape: [0]))
        layer.forward(x: x, weight: w, output: y)
        layer.backward(gradOutput: c, gradX: gx, gradWeight: gw)
        return (y.toArray(), gx.toArray(), gw.toArray())
      }
    }
    let one = run(1)
    let two = run(2)
    #expect(one.0 == two.0)
    #expect(one.2 == two.2)
    expectApprox(one.1, two.1, abs: 1e-6, rel: 1e-5)
    #expect(run(2).1 == two.1)
  }
}
