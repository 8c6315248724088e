import Engine
import Testing
import _ReplicateTestSupport

@testable import NN

/// L(x) = Σ r ⊙ layer(x), accumulated in Double.
private func projectedLoss(_ layer: Layer, _ x: Tensor, _ r: [Float]) -> Double {
  let y = layer.forward(x, training: true)
  var s = 0.0
  for i in 0..<y.count { s += Double(y[i]) * Double(r[i]) }
  return s
}

/// Checks ∂L/∂x and ∂L/∂θ of a layer against central differences on `samples` coordinates each.
private func checkGradients(
  _ layer: Layer, inputShape: [Int], seed: UInt64, h: Float = 1e-2, tolerance: Double = 2e-2,
  samples: Int = 24, sourceLocation: SourceLocation = #_sourceLocation
) {
  let key = RandomKey(seed: seed)
  layer.initialize(.torchDefault, key: key.split("init"))
  let x = Tensor(shape: inputShape)
  var s = key.split("x").stream()
  s.fillNormal(x.buffer)
  let y = layer.forward(x, training: true)
  var r = [Float](repeating: 0, count: y.count)
  var rs = key.split("r").stream()
  for i in r.indices { r[i] = rs.nextNormal() }
  let dy = Tensor(shape: y.shape, values: r)
  let dx = layer.backward(dy).clone()
  let grads = layer.parameters.map { $0.grad.clone() }

  func compare(_ analytic: Float, _ numeric: Double, _ what: String) {
    let scale = Swift.max(1, Swift.abs(numeric))
    #expect(
      Swift.abs(Double(analytic) - numeric) <= tolerance * scale,
      "\(what): analytic \(analytic) vs numeric \(numeric)", sourceLocation: sourceLocation)
  }
  var pick = key.split("pick").stream()
  for _ in 0..<samples {
    let i = pick.nextInt(below: x.count)
    let old = x[i]
    x[i] = old + h
    let lp = projectedLoss(layer, x, r)
    x[i] = old - h
    let lm = projectedLoss(layer, x, r)
    x[i] = old
    compare(dx[i], (lp - lm) / Double(2 * h), "dx[\(i)]")
  }
  for (p, g) in zip(layer.parameters, grads) {
    for _ in 0..<Swift.min(samples, p.value.count) {
      let i = pick.nextInt(below: p.value.count)
      let old = p.value[i]
      p.value[i] = old + h
      let lp = projectedLoss(layer, x, r)
      p.value[i] = old - h
      let lm = projectedLoss(layer, x, r)
      p.value[i] = old
      compare(g[i], (lp - lm) / Double(2 * h), "\(p.name)[\(i)]")
    }
  }
}

@Suite("Layer gradients against central differences")
struct GradientCheckTests {
  @Test func linear() { checkGradients(Linear(7, 5), inputShape: [4, 7], seed: 1) }
  @Test func linearWithoutBias() { checkGradients(Linear(6, 3, bias: false), inputShape: [3, 6], seed: 2) }
  @Test func normedLinear() { checkGradients(NormedLinear(6, 4), inputShape: [5, 6], seed: 3, h: 1e-3) }

  @Test(arguments: [(1, 0), (1, 1), (2, 1), (2, 0)])
  func conv2d(stride: Int, padding: Int) {
    checkGradients(
      Conv2d(3, 4, kernel: 3, stride: stride, padding: padding), inputShape: [2, 6, 5, 3],
      seed: UInt64(10 + stride * 3 + padding))
  }

  @Test(arguments: [false, true])
  func winogradConv2d(relu: Bool) {
    let conv = Conv2d(3, 4, kernel: 3, padding: 1, fusedReLU: relu)
    conv.algorithm = .winograd
    // Small h with the fused ReLU: a kink within h fails the check.
    checkGradients(conv, inputShape: [2, 5, 6, 3], seed: relu ? 31 : 30, h: relu ? 1e-4 : 1e-2, tolerance: 3e-2)
  }

  @Test func pointwiseConv() { checkGradients(Conv2d(3, 5, kernel: 1), inputShape: [2, 3, 3, 3], seed: 20) }
  @Test func batchNormImages() { checkGradients(BatchNorm(3), inputShape: [3, 4, 4, 3], seed: 21) }
  @Test func batchNormFeatures() { checkGradients(BatchNorm(5), inputShape: [6, 5], seed: 22) }
  /// Channel counts that are multiples of 4 take the four-lane loops (``ChannelKernels``).
  @Test func batchNormFourLaneChannels() { checkGradients(BatchNorm(8), inputShape: [3, 4, 4, 8], seed: 23) }

  /// The four-lane loops against the batch statistics in double: x̂ = (x − μ)/√(σ² + ε) over 70 rows
  /// (two full row blocks and a partial one), with a large offset.
  @Test func batchNormFourLaneStatistics() {
    let c = 8
    let x = Tensor(shape: [70, c])
    var s = RandomKey(seed: 41).stream()
    s.fillNormal(x.buffer)
    for k in 0..<x.count { x[k] = 1000 + 3 * x[k] }
    let bn = BatchNorm(c)
    let y = bn.forward(x, training: true)
    for j in 0..<c {
      let column = (0..<70).map { Double(x[$0 * c + j]) }
      let mean = column.reduce(0, +) / 70
      let variance = column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 70
      for i in 0..<70 {
        let expected = (column[i] - mean) / (variance + 1e-5).squareRoot()
        #expect(Swift.abs(Double(y[i * c + j]) - expected) < 2e-4, "row \(i) channel \(j)")
      }
    }
  }
  @Test func maxPool() { checkGradients(MaxPool2d(2), inputShape: [2, 4, 6, 3], seed: 23, h: 1e-3) }
  @Test func globalAvgPool() { checkGradients(GlobalAvgPool(), inputShape: [2, 3, 3, 4], seed: 24) }
  @Test func flatten() { checkGradients(Flatten(), inputShape: [2, 3, 3, 2], seed: 25) }
  @Test func relu() { checkGradients(ReLU(), inputShape: [3, 10], seed: 26, h: 1e-3) }
  @Test func identityBlock() {
    checkGradients(BasicBlock(4, 4, stride: 1), inputShape: [2, 4, 4, 4], seed: 27, h: 1e-3, tolerance: 3e-2)
  }
  @Test func optionABlock() {
    checkGradients(BasicBlock(2, 4, stride: 2), inputShape: [2, 6, 6, 2], seed: 28, h: 1e-3, tolerance: 3e-2)
  }
  @Test func sequentialCNN() {
    let net = Sequential([
      Conv2d(1, 3, kernel: 3, padding: 1, fusedReLU: true), MaxPool2d(2), Flatten(), Linear(12, 4, fusedReLU: true),
    ])
    // Small h: the fused ReLUs and the max-pool make L piecewise smooth; a kink within h fails the check.
    checkGradients(net, inputShape: [2, 4, 4, 1], seed: 29, h: 1e-4, tolerance: 3e-2)
  }
}

@Suite("Layer semantics")
struct LayerSemanticsTests {
  @Test func convMatchesDirectSum() {
    // A 3×3 kernel, stride 1, padding 1 on one channel: output = Σ over the window.
    let conv = Conv2d(1, 1, kernel: 3, padding: 1, bias: false)
    conv.weight.value.fill(1)
    let x = Tensor(shape: [1, 3, 3, 1], values: [1, 2, 3, 4, 5, 6, 7, 8, 9])
    let y = conv.forward(x, training: false)
    #expect(y.toArray() == [12, 21, 16, 27, 45, 33, 24, 39, 28])
  }

  @Test func batchNormTrainingAndRunningStats() {
    let bn = BatchNorm(1)
    let x = Tensor(shape: [4, 1], values: [1, 2, 3, 4])
    let y = bn.forward(x, training: true)
    // mean 2.5, biased var 1.25.
    expectApprox(y.toArray(), [-1.5, -0.5, 0.5, 1.5].map { $0 / (1.25 + 1e-5).squareRoot() }, abs: 1e-5)
    expectApprox(Double(bn.runningMean[0]), 0.25, abs: 1e-6)
    expectApprox(Double(bn.runningVar[0]), 0.9 + 0.1 * (5.0 / 3.0), abs: 1e-6)
    let e = bn.forward(x, training: false)
    expectApprox(Double(e[0]), (1 - 0.25) / (bn.runningVar[0] + 1e-5).squareRoot().asDouble, abs: 1e-5)
  }

  /// The one-pass statistics are shifted: a large common offset does not cancel the variance.
  @Test func batchNormStatisticsWithLargeOffset() {
    let bn = BatchNorm(1)
    let y = bn.forward(Tensor(shape: [4, 1], values: [30001, 30002, 30003, 30004]), training: true)
    expectApprox(y.toArray(), [-1.5, -0.5, 0.5, 1.5].map { $0 / (1.25 + 1e-5).squareRoot() }, abs: 1e-5)
    expectApprox(Double(bn.runningVar[0]), 0.9 + 0.1 * (5.0 / 3.0), abs: 1e-6)
  }

  /// BatchNorm(fusedReLU: true) gives bitwise BatchNorm then ReLU: output, ∂L/∂x, γ and β gradients,
  /// in training and evaluation.
  @Test(arguments: [6, 8])
  func batchNormFusedReLUIsBatchNormThenReLU(channels: Int) {
    let x = Tensor(shape: [3, 4, 5, channels])
    var s = RandomKey(seed: 40).stream()
    s.fillNormal(x.buffer)
    let dy = Tensor(shape: x.shape)
    s.fillNormal(dy.buffer)
    func run(_ layers: [Layer], _ bn: BatchNorm) -> [[UInt32]] {
      let net = Sequential(layers)
      bn.gamma.value.fill(1.3)
      bn.beta.value.fill(0.2)
      let y = net.forward(x, training: true).toArray()
      let dx = net.backward(dy).toArray()
      let eval = net.forward(x, training: false).toArray()
      return [y, dx, bn.gamma.grad.toArray(), bn.beta.grad.toArray(), eval].map { $0.map(\.bitPattern) }
    }
    let fused = BatchNorm(channels, fusedReLU: true)
    let plain = BatchNorm(channels)
    let a = run([fused], fused)
    let b = run([plain, ReLU()], plain)
    #expect(a == b)
    #expect(a[0].contains(0))  // the ReLU did clip
  }

  @Test func maxPoolPicksFirstMaximum() {
    let pool = MaxPool2d(2)
    let x = Tensor(shape: [1, 2, 2, 1], values: [3, 3, 1, 2])
    #expect(pool.forward(x, training: false).toArray() == [3])
    let dx = pool.backward(Tensor(shape: [1, 1, 1, 1], values: [1]))
    #expect(dx.toArray() == [1, 0, 0, 0])
  }

  @Test func dropoutKeepsExpectationAndIsIdentityInEval() {
    let d = Dropout(0.5)
    d.initialize(.torchDefault, key: RandomKey(seed: 3))
    let x = Tensor(shape: [1, 10_000], repeating: 1)
    let y = d.forward(x, training: true)
    let mean = Kernels.sum(y.pointer, count: y.count) / 10_000
    #expect(Swift.abs(mean - 1) < 0.05)
    #expect(Set(y.toArray()) == [0, 2])
    #expect(d.forward(x, training: false).toArray().allSatisfy { $0 == 1 })
  }

  @Test func resnet32HasTheOfficialParameterCount() throws {
    let model = try ModelZoo.make("resnet32", inputShape: [32, 32, 3], classes: 10)
    let count = model.parameters.reduce(0) { $0 + $1.value.count }
    // 0.46 M in the official file header; exact: convs 463,104 + BN 4,192 + fc 650 = 464,154.
    #expect(count == 464_154)
  }

  @Test func normedLinearOutputsCosines() {
    let head = NormedLinear(4, 3)
    head.initialize(.torchDefault, key: RandomKey(seed: 9))
    let x = Tensor(shape: [2, 4], values: [1, 2, 3, 4, -1, 0.5, 2, 0])
    let z = head.forward(x, training: false)
    #expect(z.toArray().allSatisfy { Swift.abs($0) <= 1 + 1e-6 })
  }
}

extension Float { fileprivate var asDouble: Double { Double(self) } }
