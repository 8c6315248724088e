import Engine
import Testing
import _ReplicateTestSupport

@testable import NN

/// One training step of `make()` on a fixed batch with `threads` workers: the output, ∂L/∂input, every
/// parameter gradient and the parameters after one SGD step (momentum, weight decay), flattened.
private func step(threads: Int, inputShape: [Int], _ make: () -> Layer) -> [[Float]] {
  Parallel.withThreads(threads) {
    let layer = make()
    let key = RandomKey(seed: 11)
    layer.initialize(.torchDefault, key: key.split("init"))
    let x = Tensor(shape: inputShape)
    var s = key.split("x").stream()
    s.fillNormal(x.buffer)
    let y = layer.forward(x, training: true)
    let dy = Tensor(shape: y.shape)
    var r = key.split("dy").stream()
    r.fillNormal(dy.buffer)
    let out = y.toArray()
    let dx = layer.backward(dy).toArray()
    let grads = layer.parameters.map { $0.grad.toArray() }
    let opt = SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4)
    opt.step(layer.parameters)
    opt.step(layer.parameters)
    return [out, dx] + grads + layer.parameters.map { $0.value.toArray() }
  }
}

@Suite("Parallel layers")
struct ParallelLayerTests {
  /// Layers whose work splits at two threads for these shapes (≥ 2 images per worker, BatchNorm rows
  /// above its grain, Linear products above the parallel-GEMM minimum).
  static let cases: [(String, [Int], @Sendable () -> Layer)] = [
    ("conv+bias+relu", [6, 12, 12, 3], { Conv2d(3, 8, kernel: 3, padding: 1, fusedReLU: true) }),
    ("conv stride 2", [5, 11, 11, 4], { Conv2d(4, 6, kernel: 3, stride: 2, padding: 1, bias: false) }),
    ("conv 1x1", [4, 8, 8, 5], { Conv2d(5, 7, kernel: 1) }),
    ("batchnorm", [8, 16, 16, 8], { BatchNorm(8) }),
    ("linear+relu", [64, 256], { Linear(256, 128, fusedReLU: true) }),
    (
      "resnet pieces", [8, 16, 16, 3],
      {
        Sequential([
          Conv2d(3, 16, kernel: 3, padding: 1, bias: false), BatchNorm(16), ReLU(),
          BasicBlock(16, 16, stride: 1), BasicBlock(16, 32, stride: 2), MaxPool2d(2), GlobalAvgPool(),
          Linear(32, 10),
        ])
      }
    ),
    (
      "cnn pieces", [8, 28, 28, 1],
      {
        Sequential([
          Conv2d(1, 32, kernel: 3, padding: 1, fusedReLU: true), MaxPool2d(2), Flatten(),
          Linear(14 * 14 * 32, 64, fusedReLU: true), Linear(64, 10),
        ])
      }
    ),
  ]

  @Test(arguments: 0..<cases.count)
  func twoThreadsMatchOneThreadAndRepeatBitwise(index: Int) {
    let (name, shape, make) = Self.cases[index]
    let one = step(threads: 1, inputShape: shape, make)
    let two = step(threads: 2, inputShape: shape, make)
    let again = step(threads: 2, inputShape: shape, make)
    #expect(one.count == two.count)
    for (a, b) in zip(two, one) { expectApprox(a, b, abs: 1e-4, rel: 1e-4, name) }
    // Run to run at T = 2: the same bits.
    #expect(two.map { $0.map(\.bitPattern) } == again.map { $0.map(\.bitPattern) }, "\(name)")
  }

  /// The SGD update is elementwise: any thread count gives the same bits.
  @Test func sgdStepIsIndependentOfThreads() {
    func run(_ t: Int) -> [UInt32] {
      Parallel.withThreads(t) {
        let p = Parameter(name: "w", shape: [70_000])
        let q = Parameter(name: "b", shape: [3])
        var s = RandomKey(seed: 3).stream()
        for t in [p.value, p.grad, q.value, q.grad] { s.fillNormal(t.buffer) }
        let opt = SGD(learningRate: 0.05, momentum: 0.9, weightDecay: 1e-3, nesterov: true)
        opt.step([p, q])
        opt.step([p, q])
        return (p.value.toArray() + q.value.toArray()).map(\.bitPattern)
      }
    }
    #expect(run(2) == run(1))
    #expect(run(3) == run(1))
  }
}
