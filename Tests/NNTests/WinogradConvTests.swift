import Engine
import Testing
import _ReplicateTestSupport

@testable import NN

/// A training step's tensors of one convolution: output, ∂L/∂x, ∂L/∂weight, ∂L/∂bias (if any).
private struct ConvStep {
  var output: [Float], dx: [Float], grads: [[Float]]
  /// Every float's bits, for bitwise comparisons.
  var bits: [[UInt32]] { ([output, dx] + grads).map { $0.map(\.bitPattern) } }
}

/// Runs `conv` forward and backward on random x and ∂L/∂y (seeded) with `threads` workers.
private func run(_ conv: Conv2d, _ shape: [Int], seed: UInt64, threads: Int = 1) -> ConvStep {
  Parallel.withThreads(threads) {
    let key = RandomKey(seed: seed)
    conv.initialize(.torchDefault, key: key.split("init"))
    if let b = conv.bias {
      var s = key.split("bias").stream()
      s.fillNormal(b.value.buffer, std: 0.1)
    }
    let x = Tensor(shape: shape)
    var s = key.split("x").stream()
    s.fillNormal(x.buffer)
    let y = conv.forward(x, training: true)
    let dy = Tensor(shape: y.shape)
    var r = key.split("dy").stream()
    r.fillNormal(dy.buffer)
    let output = y.toArray()
    let dx = conv.backward(dy).toArray()
    return ConvStep(output: output, dx: dx, grads: conv.parameters.map { $0.grad.toArray() })
  }
}

private func conv(
  _ cin: Int, _ cout: Int, bias: Bool, relu: Bool, _ algorithm: ConvAlgorithm
) -> Conv2d {
  let c = Conv2d(cin, cout, kernel: 3, padding: 1, bias: bias, fusedReLU: relu)
  c.algorithm = algorithm
  return c
}

@Suite("Conv2d: Winograd against im2col")
struct WinogradConvTests {
  /// (input shape NHWC, C_out, bias, fused ReLU): odd and even sizes, batch > 1, channel counts that
  /// are and are not multiples of 4.
  static let cases: [([Int], Int, Bool, Bool)] = [
    ([3, 8, 8, 16], 16, false, false), ([2, 7, 5, 3], 8, true, true), ([4, 6, 9, 32], 20, true, false),
    ([2, 5, 6, 5], 7, false, true), ([2, 1, 3, 4], 4, true, false), ([5, 4, 4, 64], 32, false, false),
  ]

  /// Output, ∂L/∂x and every parameter gradient agree with the im2col path to float rounding (the
  /// tolerance is far below any real mistake: a wrong tap or sign moves values by O(1)).
  @Test(arguments: 0..<cases.count)
  func matchesIm2col(index: Int) {
    let (shape, cout, bias, relu) = Self.cases[index]
    let wino = conv(shape[3], cout, bias: bias, relu: relu, .winograd)
    let reference = conv(shape[3], cout, bias: bias, relu: relu, .im2col)
    #expect(wino.usesWinograd && !reference.usesWinograd)
    let a = run(wino, shape, seed: UInt64(index))
    let b = run(reference, shape, seed: UInt64(index))
    expectApprox(a.output, b.output, abs: 1e-5, rel: 1e-4, "output")
    expectApprox(a.dx, b.dx, abs: 1e-5, rel: 1e-4, "dx")
    #expect(a.grads.count == b.grads.count)
    // Weight gradients sum over every pixel of the batch: a looser absolute floor.
    for (g, h) in zip(a.grads, b.grads) { expectApprox(g, h, abs: 1e-4, rel: 1e-4, "parameter gradient") }
  }

  /// Same input, same bits, run to run, for every thread count and chunking; across thread counts and
  /// chunkings the output and ∂L/∂x (per image) agree to a few ulps and the weight gradient (summed in
  /// another order) to rounding. Not bitwise: OpenBLAS picks its kernels by the size of a call, so a
  /// GEMM row's bits can depend on the call's size — im2col has the same property (measured: 16-channel
  /// 8×8 images, one image per call vs seven, differ by ≤ 1e-6 in both). Workers run with T = 1, where the
  /// split is a function of the shapes only.
  @Test func deterministicAndIndependentOfSplit() {
    let shape = [7, 6, 7, 16]
    func make(budget: Int? = nil) -> Conv2d {
      let c = conv(16, 24, bias: true, relu: true, .winograd)
      c.winogradChunkBudget = budget
      return c
    }
    func expectClose(_ a: ConvStep, _ b: ConvStep, _ what: String) {
      expectApprox(a.output, b.output, abs: 1e-6, rel: 1e-5, what)
      expectApprox(a.dx, b.dx, abs: 1e-6, rel: 1e-5, what)
      for (g, h) in zip(a.grads, b.grads) { expectApprox(g, h, abs: 1e-4, rel: 1e-4, what) }
    }
    let one = run(make(), shape, seed: 9)
    // One image per chunk (a budget below one image's tiles) and the whole batch in one chunk.
    for budget in [nil, 1, 1 << 24] {
      let a = run(make(budget: budget), shape, seed: 9)
      #expect(run(make(budget: budget), shape, seed: 9).bits == a.bits, "budget \(budget ?? 0) run to run")
      expectClose(a, one, "budget \(budget ?? 0)")
    }
    for threads in [2, 3] {
      let t = run(make(), shape, seed: 9, threads: threads)
      #expect(run(make(), shape, seed: 9, threads: threads).bits == t.bits, "threads \(threads) run to run")
      expectClose(t, one, "threads \(threads)")
    }
  }

  /// Without ∂L/∂x (a network's first layer) the parameter gradients are unchanged.
  @Test func withoutInputGradient() {
    let shape = [2, 6, 5, 8]
    let full = run(conv(8, 8, bias: true, relu: false, .winograd), shape, seed: 4)
    let c = conv(8, 8, bias: true, relu: false, .winograd)
    c.needsInputGradient = false
    let partial = run(c, shape, seed: 4)
    #expect(partial.bits[0] == full.bits[0] && partial.bits[2...] == full.bits[2...])
  }

  /// `.auto` uses Winograd (in optimised builds) on 3×3, stride-1, padding-1 layers whose channel counts
  /// are multiples of 4 — in ResNet-32 every such layer but the 3-channel stem, in cnn-small the second
  /// convolution — and im2col elsewhere (strided, 1×1, unpadded); `.winograd` falls back to im2col where
  /// it does not apply. Tests run unoptimised, where `.auto` is im2col.
  @Test func algorithmSelection() throws {
    func convs(_ layer: Layer) -> [Conv2d] {
      switch layer {
      case let c as Conv2d: return [c]
      case let s as Sequential: return s.layers.flatMap(convs)
      case let b as BasicBlock: return [b.conv1, b.conv2]
      default: return []
      }
    }
    func optimisedChoice(_ c: Conv2d) -> Bool {
      c.kernel == 3 && c.stride == 1 && c.padding == 1
        && Conv2d.winogradChannels(inChannels: c.inChannels, outChannels: c.outChannels)
    }
    let resnet = try ModelZoo.make("resnet32", inputShape: [32, 32, 3], classes: 10)
    let r = convs(resnet.features)
    #expect(r.count == 31)
    #expect(r.filter(optimisedChoice).count == 28)  // all but the stem and the two strided ones
    #expect(!optimisedChoice(r[0]))
    let cnn = try ModelZoo.make("cnn-small", inputShape: [28, 28, 1], classes: 10)
    #expect(convs(cnn.features).map(optimisedChoice) == [false, true])
    #if DEBUG
      #expect(r.filter(\.usesWinograd).isEmpty)
    #else
      #expect(r.map(\.usesWinograd) == r.map(optimisedChoice))
    #endif
    let strided = Conv2d(16, 16, kernel: 3, stride: 2, padding: 1)
    strided.algorithm = .winograd
    let pointwise = Conv2d(16, 16, kernel: 1)
    pointwise.algorithm = .winograd
    #expect(!strided.usesWinograd && !pointwise.usesWinograd)
    #expect(
      Conv2d.winogradChannels(inChannels: 16, outChannels: 8) && Conv2d.winogradChannels(inChannels: 4, outChannels: 4))
    #expect(
      !Conv2d.winogradChannels(inChannels: 3, outChannels: 64)
        && !Conv2d.winogradChannels(inChannels: 8, outChannels: 10))
  }

  /// A residual block whose convolutions run Winograd: the same step as with im2col, to rounding, and
  /// its gradients as the block's composition needs them (the training path of ResNet-32 in release).
  @Test func residualBlockWithWinograd() {
    func step(_ algorithm: ConvAlgorithm) -> [[Float]] {
      let block = BasicBlock(8, 8, stride: 1)
      block.conv1.algorithm = algorithm
      block.conv2.algorithm = algorithm
      #expect(block.conv1.usesWinograd == (algorithm == .winograd))
      block.initialize(.torchDefault, key: RandomKey(seed: 5))
      let x = Tensor(shape: [3, 6, 6, 8])
      var s = RandomKey(seed: 6).stream()
      s.fillNormal(x.buffer)
      let y = block.forward(x, training: true).toArray()
      let dy = Tensor(shape: [3, 6, 6, 8])
      s.fillNormal(dy.buffer)
      return [y, block.backward(dy).toArray()] + block.parameters.map { $0.grad.toArray() }
    }
    let (a, b) = (step(.winograd), step(.im2col))
    for (u, v) in zip(a, b) { expectApprox(u, v, abs: 1e-4, rel: 1e-3) }
  }
}
