import Foundation
import Testing
import _ReplicateTestSupport

@testable import Engine

@Suite("Random streams")
struct RandomTests {
  @Test func streamsArePureFunctionsOfTheirKey() {
    var a = RandomKey(seed: 7).split("init").stream()
    var b = RandomKey(seed: 7).split("init").stream()
    for _ in 0..<100 { #expect(a.next() == b.next()) }
  }

  @Test func purposesAndFoldsAreIndependent() {
    let k = RandomKey(seed: 7)
    #expect(k.split("init") != k.split("data-order"))
    #expect(k.fold(0) != k.fold(1))
    #expect(RandomKey(seed: 1) != RandomKey(seed: 2))
  }

  @Test func uniformMomentsAndRange() {
    var s = RandomKey(seed: 3).stream()
    var sum = 0.0
    var sq = 0.0
    let n = 200_000
    for _ in 0..<n {
      let u = Double(s.nextFloat())
      #expect(u >= 0 && u < 1)
      sum += u
      sq += u * u
    }
    // Mean 1/2 and variance 1/12, within 5 standard errors.
    #expect(Swift.abs(sum / Double(n) - 0.5) < 5 * (1.0 / 12).squareRoot() / Double(n).squareRoot())
    #expect(Swift.abs(sq / Double(n) - sum * sum / Double(n * n) - 1.0 / 12) < 0.002)
  }

  @Test func normalMoments() {
    var s = RandomKey(seed: 4).stream()
    let t = Tensor(shape: [100_000])
    s.fillNormal(t.buffer, mean: 1, std: 2)
    let mean = Kernels.sum(t.pointer, count: t.count) / Double(t.count)
    var v = 0.0
    for i in 0..<t.count { v += (Double(t[i]) - mean) * (Double(t[i]) - mean) }
    #expect(Swift.abs(mean - 1) < 0.03)
    #expect(Swift.abs((v / Double(t.count)).squareRoot() - 2) < 0.03)
  }

  @Test(arguments: [1, 2, 3, 7, 10, 1000])
  func boundedIntegersCoverTheirRangeEvenly(n: Int) {
    var s = RandomKey(seed: UInt64(n)).stream()
    var counts = [Int](repeating: 0, count: n)
    let draws = 2000 * n
    for _ in 0..<draws { counts[s.nextInt(below: n)] += 1 }
    // Each count ~ Binomial(draws, 1/n): within 6 standard deviations.
    let sd = (Double(draws) / Double(n) * (1 - 1 / Double(n))).squareRoot()
    for c in counts { #expect(Swift.abs(Double(c) - Double(draws) / Double(n)) <= 6 * sd + 1e-9) }
  }

  @Test func permutationIsAPermutation() {
    var s = RandomKey(seed: 5).stream()
    let p = s.permutation(1000)
    #expect(p.sorted() == Array(0..<1000))
    #expect(p != Array(0..<1000))
  }
}

@Suite("Kernels")
struct KernelTests {
  /// Naive row-major product for checking the BLAS wrapper.
  func naive(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, ta: Bool, tb: Bool) -> [Double] {
    var c = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
      for j in 0..<n {
        var s = 0.0
        for p in 0..<k {
          let x = ta ? a[p * m + i] : a[i * k + p]
          let y = tb ? b[j * k + p] : b[p * n + j]
          s += Double(x) * Double(y)
        }
        c[i * n + j] = s
      }
    }
    return c
  }

  @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
  func gemmMatchesNaiveProduct(ta: Bool, tb: Bool) {
    let m = 5
    let n = 7
    let k = 3
    var s = RandomKey(seed: 11).stream()
    let a = (0..<(m * k)).map { _ in s.nextNormal() }
    let b = (0..<(k * n)).map { _ in s.nextNormal() }
    var c = [Float](repeating: 0, count: m * n)
    BLAS.gemm(transA: ta, transB: tb, m: m, n: n, k: k, a, lda: ta ? m : k, b, ldb: tb ? k : n, &c, ldc: n)
    expectApprox(c, naive(a, b, m: m, n: n, k: k, ta: ta, tb: tb), abs: 1e-5, rel: 1e-5)
  }

  @Test func im2colMatchesDirectIndexing() {
    let g = ConvGeometry(height: 5, width: 4, channels: 2, kernel: 3, stride: 2, padding: 1)
    let x = Tensor(shape: [2, 5, 4, 2])
    for i in 0..<x.count { x[i] = Float(i + 1) }
    let cols = Tensor(shape: [2 * g.outHeight * g.outWidth, g.patchSize])
    Im2col.forward(x.pointer, images: 2, g, into: cols.pointer)
    for n in 0..<2 {
      for oy in 0..<g.outHeight {
        for ox in 0..<g.outWidth {
          for ky in 0..<3 {
            for kx in 0..<3 {
              for c in 0..<2 {
                let iy = oy * 2 - 1 + ky
                let ix = ox * 2 - 1 + kx
                let expected: Float = (iy < 0 || iy >= 5 || ix < 0 || ix >= 4) ? 0 : x[((n * 5 + iy) * 4 + ix) * 2 + c]
                let row = (n * g.outHeight + oy) * g.outWidth + ox
                #expect(cols[row * g.patchSize + (ky * 3 + kx) * 2 + c] == expected)
              }
            }
          }
        }
      }
    }
  }

  @Test func col2imIsTheAdjointOfIm2col() {
    // ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for every x, c.
    let g = ConvGeometry(height: 6, width: 5, channels: 3, kernel: 3, stride: 2, padding: 1)
    var s = RandomKey(seed: 12).stream()
    let x = Tensor(shape: [2, 6, 5, 3])
    s.fillNormal(x.buffer)
    let rows = 2 * g.outHeight * g.outWidth
    let c = Tensor(shape: [rows, g.patchSize])
    s.fillNormal(c.buffer)
    let cols = Tensor(shape: [rows, g.patchSize])
    Im2col.forward(x.pointer, images: 2, g, into: cols.pointer)
    let back = Tensor(shape: x.shape)
    Im2col.backward(c.pointer, images: 2, g, into: back.pointer)
    var lhs = 0.0
    var rhs = 0.0
    for i in 0..<cols.count { lhs += Double(cols[i]) * Double(c[i]) }
    for i in 0..<x.count { rhs += Double(x[i]) * Double(back[i]) }
    expectApprox(lhs, rhs, abs: 1e-4, rel: 1e-5)
  }

  @Test func softmaxRowsSumToOneAndSurviveLargeLogits() {
    let z: [Float] = [1000, 1001, 1002, -5, 0, 5]
    var p = [Float](repeating: 0, count: 6)
    Kernels.softmaxRows(z, &p, rows: 2, cols: 3)
    expectApprox(Double(p[0] + p[1] + p[2]), 1, abs: 1e-6)
    expectApprox(Double(p[2]), 1 / (1 + exp64(-1) + exp64(-2)), abs: 1e-6)
    expectApprox(Kernels.logSumExp([1000, 1000], cols: 2), 1000 + log64(2), abs: 1e-9)
  }

  @Test func reluBackwardMasksByOutput() {
    let y: [Float] = [0, 1, 0, 2, -0.0, 3, 0, 0, 4]
    let dy: [Float] = [9, 8, 7, 6, 5, 4, 3, 2, 1]
    var dx = [Float](repeating: -1, count: 9)
    Kernels.reluBackward(output: y, dy, &dx, count: 9)
    #expect(dx == [0, 8, 0, 6, 0, 4, 0, 0, 1])
  }

  @Test func choleskyFactorsASymmetricPositiveDefiniteMatrix() {
    var a: [Double] = [4, 2, 2, 3]
    #expect(BLAS.cholesky(&a, n: 2) == 0)
    expectApprox(a, [2, 0, 1, 2.0.squareRoot()], abs: 1e-12)
    var b: [Double] = [1, 2, 2, 1]
    #expect(BLAS.cholesky(&b, n: 2) == 2)
  }

  @Test func tensorResizeReusesStorage() {
    let t = Tensor(shape: [4, 4])
    let p = t.pointer
    t.resize([2, 8])
    #expect(t.pointer == p)
    t.resize([3, 3])
    #expect(t.pointer == p && t.count == 9)
    t.resize([10, 10])
    #expect(t.count == 100)
  }
}

@Suite("BLAS kernel pin")
struct BLASKernelPinTests {
  /// The test process runs the pinned kernel when nothing else was asked for, like the CLI: on a CPU with
  /// AVX2 and FMA, unless the environment named a kernel (respected) or opted out.
  @Test func testProcessRunsThePinnedKernel() {
    switch BLASKernel.choice {
    case .environment:
      #expect(!TestKernel.pinnedByTests)
    case .pinned:
      #expect(BLASKernel.current == BLASKernel.pinned)
    case .native:
      #expect(!TestKernel.pinnedByTests)
      #expect(
        !BLASKernel.cpuSupportsPinned || ProcessInfo.processInfo.environment[BLASKernel.choiceVariable] == "native",
        "a CPU that runs \(BLASKernel.pinned) was not pinned: \(BLASKernel.current)")
    }
    if TestKernel.pinnedByTests { #expect(BLASKernel.choice == .pinned) }
  }

  /// `--blas-kernel native|pinned` is found in either spelling and nowhere else.
  @Test func nativeRequestIsParsed() {
    #expect(BLASKernel.nativeRequested(["replicate", "all", "--blas-kernel", "native"]) == true)
    #expect(BLASKernel.nativeRequested(["replicate", "bench", "--blas-kernel=native"]) == true)
    #expect(BLASKernel.nativeRequested(["replicate", "all", "--blas-kernel", "pinned"]) == false)
    #expect(BLASKernel.nativeRequested(["replicate", "all", "native"]) == nil)
  }
}
