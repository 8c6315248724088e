import Engine
import Foundation
import Methods
import NN

/// `replicate bench`: training throughput on fixed workloads, measured the way the peer
/// (`shared/bench/peer_torch.py`, PyTorch CPU) measures it, so the two can be compared side by side.
///
/// Train workloads: forward + backward + SGD(momentum 0.9, weight decay 5e-4) step on batch 128 of
/// random data, cross-entropy; `certify`: cnn-small inference on 1000 noisy copies of one input.
/// Each repeat times a fixed number of steps after a warm-up; min/median/max of examples per second.
public enum Bench {
  /// The workloads, in the peer's order.
  public static let workloads = ["mlp", "cnn", "resnet32", "certify"]
  /// Method workloads, not part of `all` (the peer has no counterpart): `mlp-absgd` and `cnn-absgd` are `mlp` and
  /// `cnn` with ABSGD's weighted loss in its stage 2 (``ABSGDLoss``, abce λ = 5, γ = 0.7, α = 0.5) instead of the
  /// mean cross-entropy: one forward and one backward per step, as SGD; run beside `mlp`/`cnn` for the step-time ratio.
  public static let methodWorkloads = ["mlp-absgd", "cnn-absgd"]

  /// The engine threads (``Parallel/threads``) a command line asks for: `bench --threads T` → T, anything else 1.
  public static func requestedThreads(_ args: [String]) -> Int {
    guard args.count > 1, args[1] == "bench" else { return 1 }
    for (i, a) in args.enumerated() {
      if a == "--threads", i + 1 < args.count, let t = Int(args[i + 1]), t >= 1 { return t }
      if a.hasPrefix("--threads="), let t = Int(a.dropFirst(10)), t >= 1 { return t }
    }
    return 1
  }

  /// Runs the process with the engine threads and the BLAS kernel its command line asks for (see
  /// `BLAS.ensureProcessSetup`: OpenBLAS single-threaded with the pinned kernel unless the environment
  /// names one or `--blas-kernel native` is given, re-executing once if needed; the engine's own
  /// parallel regions use T workers).
  public static func ensureProcessSetup(arguments: [String]) {
    BLAS.ensureProcessSetup(threads: requestedThreads(arguments), nativeKernel: BLASKernel.nativeRequested(arguments))
  }

  /// One workload's figures.
  public struct Row: Codable, Sendable {
    /// Who measured: `replicate`.
    public var peer = "replicate"
    /// The engine's numeric version.
    public var version = BLAS.numericVersion
    /// The workload name.
    public var workload: String
    /// Engine threads (``Parallel/threads``; OpenBLAS runs one thread per call).
    public var threads: Int
    /// Examples per second over the repeats.
    public var examplesPerSecond: [String: Double]
    /// The OpenBLAS kernel that ran (``Engine/BLASKernel/current``).
    public var blasKernel = BLASKernel.current

    enum CodingKeys: String, CodingKey {
      case peer, version, workload, threads
      case examplesPerSecond = "examples_per_second"
      case blasKernel = "blas_kernel"
    }
  }

  /// An unknown workload name.
  public struct UnknownWorkload: Error, CustomStringConvertible {
    /// The name given.
    public var name: String
    public var description: String {
      "unknown workload '\(name)' (expected one of: \(Bench.workloads.joined(separator: ", ")), all)"
    }
  }

  /// Runs `workload` (`all` for every one) with `threads` engine threads.
  public static func run(workload: String, threads: Int, repeats: Int = 5) throws -> [Row] {
    let names = workload == "all" ? workloads : [workload]
    for n in names where !(workloads + methodWorkloads).contains(n) { throw UnknownWorkload(name: n) }
    BLAS.setThreads(threads)
    return try names.map { name in
      let rates: [Double]
      switch name {
      case "mlp": rates = try train(model: "mlp", shape: [28, 28, 1], repeats: repeats, steps: 20)
      case "cnn": rates = try train(model: "cnn-small", shape: [28, 28, 1], repeats: repeats, steps: 4)
      case "resnet32": rates = try train(model: "resnet32", shape: [32, 32, 3], repeats: repeats, steps: 2)
      case "mlp-absgd":
        rates = try train(model: "mlp", shape: [28, 28, 1], repeats: repeats, steps: 20, loss: absgdStageTwo())
      case "cnn-absgd":
        rates = try train(model: "cnn-small", shape: [28, 28, 1], repeats: repeats, steps: 4, loss: absgdStageTwo())
      default: rates = try certify(repeats: repeats, steps: 4)
      }
      let sorted = rates.sorted()
      return Row(
        workload: name, threads: threads,
        examplesPerSecond: ["min": sorted.first!, "median": sorted[sorted.count / 2], "max": sorted.last!])
    }
  }

  /// A fixed line per row, for people.
  public static func format(_ row: Row) -> String {
    let e = row.examplesPerSecond
    return String(
      format: "%-9@ threads=%d ex/s median %.0f (min %.0f, max %.0f)  [OpenBLAS %@]", row.workload as NSString,
      row.threads, e["median"]!, e["min"]!, e["max"]!, row.blasKernel as NSString)
  }

  /// The kernel line `bench` prints first: which OpenBLAS kernel runs and how it was chosen.
  public static var kernelLine: String {
    "OpenBLAS kernel \(BLASKernel.current) (\(BLASKernel.choice.rawValue)); \(RunEnvironment.current().blas)"
  }

  /// Seconds per training step spent in each top-level layer of `model`'s backbone and its head,
  /// forward and backward, averaged over `steps` steps (a profile for engine work, not a benchmark).
  public static func breakdown(model name: String, threads: Int, steps: Int = 5) throws -> [(String, Double, Double)] {
    BLAS.setThreads(threads)
    let shape = name == "resnet32" ? [32, 32, 3] : [28, 28, 1]
    let batch = 128
    let model = try ModelZoo.make(name, inputShape: shape, classes: 10)
    model.initialize(.torchDefault, key: RandomKey(seed: 0))
    let x = Tensor(shape: [batch] + shape)
    var s = RandomKey(seed: 1).stream()
    s.fillNormal(x.buffer)
    let layers = model.features.layers + [model.head]
    var fwd = [Double](repeating: 0, count: layers.count)
    var bwd = fwd
    for rep in 0..<(steps + 1) {
      var h = x
      var inputs: [Tensor] = []
      for (i, l) in layers.enumerated() {
        inputs.append(h)
        let t = DispatchTime.now().uptimeNanoseconds
        h = l.forward(h, training: true)
        if rep > 0 { fwd[i] += Double(DispatchTime.now().uptimeNanoseconds - t) * 1e-9 / Double(steps) }
      }
      let ce = CrossEntropyLoss()
      var g = Tensor(shape: [0])
      _ = ce.loss(logits: h, targets: (0..<batch).map { $0 % 10 }, gradient: g)
      for (i, l) in layers.enumerated().reversed() {
        let t = DispatchTime.now().uptimeNanoseconds
        g = l.backward(g)
        if rep > 0 { bwd[i] += Double(DispatchTime.now().uptimeNanoseconds - t) * 1e-9 / Double(steps) }
      }
    }
    return layers.enumerated().map { ("\($0.offset) \(type(of: $0.element))", fwd[$0.offset], bwd[$0.offset]) }
  }

  /// Sets the algorithm of the convolutions the benchmarks build (`im2col`, `winograd` or `auto`, the
  /// default) — for comparing them; jobs always use the default. False for an unknown name.
  public static func setConvAlgorithm(_ name: String) -> Bool {
    guard let a = ConvAlgorithm(rawValue: name) else { return false }
    Conv2d.defaultAlgorithm = a
    return true
  }

  /// Milliseconds per forward and backward pass of one convolution on a random batch (engine work).
  public static func convProfile(batch: Int, size: Int, cin: Int, cout: Int, stride: Int, threads: Int) -> (
    Double, Double
  ) {
    BLAS.setThreads(threads)
    if let c = ProcessInfo.processInfo.environment["CHUNK"], let v = Int(c) { Conv2d.chunkFloats = v }
    if let c = ProcessInfo.processInfo.environment["WINOGRAD_CHUNK"], let v = Int(c) { Conv2d.winogradChunkFloats = v }
    let conv = Conv2d(cin, cout, kernel: 3, stride: stride, padding: 1, bias: false)
    conv.initialize(.torchDefault, key: RandomKey(seed: 0))
    let x = Tensor(shape: [batch, size, size, cin])
    var s = RandomKey(seed: 1).stream()
    s.fillNormal(x.buffer)
    var f = 0.0
    var b = 0.0
    let reps = 5
    for r in 0...reps {
      let t0 = DispatchTime.now().uptimeNanoseconds
      let y = conv.forward(x, training: true)
      let t1 = DispatchTime.now().uptimeNanoseconds
      _ = conv.backward(y)
      let t2 = DispatchTime.now().uptimeNanoseconds
      if r > 0 {
        f += Double(t1 - t0) * 1e-6 / Double(reps)
        b += Double(t2 - t1) * 1e-6 / Double(reps)
      }
    }
    return (f, b)
  }

  /// Single-precision GEMM throughput (GFLOP/s) of a square n×n×n product (`BLAS.parallelGemm`: one
  /// single-threaded `cblas_sgemm` per worker over row blocks): the peak the `mlp` workload is compared with. Min/median/max over `repeats` after one warm-up.
  public static func gemmPeak(n: Int = 1024, threads: Int, repeats: Int = 5) -> [String: Double] {
    BLAS.setThreads(threads)
    let a = Tensor(shape: [n, n])
    let b = Tensor(shape: [n, n])
    let c = Tensor(shape: [n, n])
    var s = RandomKey(seed: 0).stream()
    s.fillNormal(a.buffer)
    s.fillNormal(b.buffer)
    func once() -> Double {
      let t = DispatchTime.now().uptimeNanoseconds
      BLAS.parallelGemm(m: n, n: n, k: n, a.pointer, lda: n, b.pointer, ldb: n, c.pointer, ldc: n)
      return 2 * Double(n * n * n) / Double(DispatchTime.now().uptimeNanoseconds - t)
    }
    _ = once()
    let r = (0..<repeats).map { _ in once() }.sorted()
    return ["min": r.first!, "median": r[r.count / 2], "max": r.last!]
  }

  /// ABSGD's loss as in its stage 2 (the README's CIFAR-10 values).
  static func absgdStageTwo() -> ClassificationLoss {
    ABSGDLoss(criterion: .crossEntropy, lambda: 5, gamma: 0.7, alpha: 0.5)
  }

  static func train(
    model name: String, shape: [Int], repeats: Int, steps: Int, loss: ClassificationLoss = CrossEntropyLoss()
  ) throws -> [Double] {
    let batch = 128
    let model = try ModelZoo.make(name, inputShape: shape, classes: 10)
    let key = RandomKey(seed: 0)
    model.initialize(.torchDefault, key: key.split("init"))
    let x = Tensor(shape: [batch] + shape)
    var s = key.split("data").stream()
    s.fillNormal(x.buffer)
    let y = (0..<batch).map { _ in s.nextInt(below: 10) }
    let grad = Tensor(shape: [0])
    let opt = SGD(learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4)
    let parameters = model.parameters
    func step() {
      let logits = model.forward(x, training: true)
      _ = loss.loss(logits: logits, targets: y, gradient: grad)
      _ = model.backward(grad)
      opt.step(parameters)
    }
    for _ in 0..<3 { step() }
    return (0..<repeats).map { _ in
      let t = DispatchTime.now().uptimeNanoseconds
      for _ in 0..<steps { step() }
      return Double(batch * steps) / (Double(DispatchTime.now().uptimeNanoseconds - t) * 1e-9)
    }
  }

  static func certify(repeats: Int, steps: Int) throws -> [Double] {
    let n = 1000
    let shape = [28, 28, 1]
    let model = try ModelZoo.make("cnn-small", inputShape: shape, classes: 10)
    let key = RandomKey(seed: 0)
    model.initialize(.torchDefault, key: key.split("init"))
    let x0 = Tensor(shape: [1] + shape)
    var s = key.split("x0").stream()
    s.fillNormal(x0.buffer)
    let batch = Tensor(shape: [n] + shape)
    let d = x0.count
    var noise = key.split("noise").stream()
    var counts = [Int](repeating: 0, count: 10)
    func step() {
      noise.fillNormal(batch.buffer, mean: 0, std: 0.25)
      for i in 0..<n {
        let row = batch.pointer + i * d
        for j in 0..<d { row[j] += x0[j] }
      }
      let logits = model.forward(batch, training: false)
      for r in 0..<n {
        let row = logits.pointer + r * 10
        var best = 0
        for j in 1..<10 where row[j] > row[best] { best = j }
        counts[best] += 1
      }
    }
    for _ in 0..<2 { step() }
    return (0..<repeats).map { _ in
      let t = DispatchTime.now().uptimeNanoseconds
      for _ in 0..<steps { step() }
      return Double(n * steps) / (Double(DispatchTime.now().uptimeNanoseconds - t) * 1e-9)
    }
  }
}
