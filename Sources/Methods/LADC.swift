import Engine
import NN

/// Label-aware distribution calibration (LADC; Wang, Gao, Wang, Gao, Pei, Pan, Xu, arXiv 2111.04901): a
/// tail class's feature distribution is calibrated with the statistics of its most similar head classes,
/// features are sampled from the calibrated Gaussians, and the classifier is re-trained on real and
/// sampled features.
///
/// No official code exists and the paper's method section was not readable (methods/ladc.md): this is a
/// reconstruction along the distribution-calibration recipe LADC builds on (Yang, Liu, Xu, "Free Lunch for
/// Few-shot Learning: Distribution Calibration", ICLR 2021, ShuoYang-1998/Few_Shot_Distribution_Calibration),
/// with every unknown a named parameter. After stage 1 (the backbone trained as configured):
/// 1. features f(x) of every training example (evaluation mode, no augmentation), Tukey-transformed
///    f ↦ f^β (β = `beta`; features are post-ReLU, so ≥ 0);
/// 2. per class c: mean μ_c and covariance Σ_c (denominator n_c − 1);
/// 3. head classes: the ⌈`head_share`·C⌉ classes with the most examples (Fig. 1: 4 of CIFAR-10's 10);
///    tail: the rest;
/// 4. for a tail class t, its `k` nearest head classes N(t) by cosine similarity of the means;
/// 5. calibration with a pseudo-count m = `strength` (the transfer shrinks as n_t grows):
///    α_t = m/(m + n_t), μ'_t = (1 − α_t)·μ_t + α_t·mean_{h∈N(t)} μ_h, Σ'_t = (1 − α_t)·Σ_t + α_t·mean_{h∈N(t)} Σ_h;
/// 6. every class with n_c < n_max gets n_max − n_c features z = μ' + L·ε, ε ~ N(0, I), L the Cholesky
///    factor (LAPACK `dpotrf`) of Σ' + ridge·(tr Σ'/d)·I (head classes from their own statistics), mapped
///    back to the feature space by z ↦ max(z, 0)^{1/β};
/// 7. the classifier head is re-initialised and re-trained on real ∪ sampled features (a balanced set of
///    C·n_max) with CE, SGD (momentum 0.9) and a cosine learning rate, the backbone frozen.
///
/// `source` selects what stage 2 trains on: `calibrated` (LADC), `own` (each class sampled from its own
/// Gaussian, no borrowing: the calibration ablation), `crt` (real features only, class-balanced
/// re-sampling to C·n_max per epoch: the "re-trained classifier alone" baseline, Kang et al. 2020's cRT),
/// `real` (real features, plain shuffle). Stage-2 defaults follow cRT (classifier-balancing/Decoupling:
/// 10 epochs, batch 512, lr 0.2 cosine, weight decay 5e-4). The secondary reading-list note that LADC ends
/// with LWS-plus is not implemented.
///
/// Random streams (from the job key's `ladc` key): `sample` (Gaussian draws), `order` (folded by
/// epoch), `head` (re-initialisation).
public enum LADC {
  /// A Gaussian in feature space: mean [d] and covariance [d × d] row-major.
  public struct Gaussian: Sendable, Equatable {
    /// The mean.
    public var mean: [Double]
    /// The covariance, row-major.
    public var covariance: [Double]
    /// Creates a Gaussian.
    public init(mean: [Double], covariance: [Double]) {
      self.mean = mean
      self.covariance = covariance
    }
  }

  /// Tukey's ladder of powers f^β (β > 0) of a feature, negative values clamped to 0.
  @inlinable public static func tukey(_ x: Float, beta: Double) -> Float {
    beta == 1 ? x : Float(pow64(Double(Swift.max(x, 0)), beta))
  }

  /// The inverse of ``tukey(_:beta:)`` on [0, ∞): max(z, 0)^{1/β} (β = 1: unchanged).
  @inlinable public static func inverseTukey(_ z: Float, beta: Double) -> Float {
    beta == 1 ? z : Float(pow64(Double(Swift.max(z, 0)), 1 / beta))
  }

  /// Per-class mean and covariance (denominator n_c − 1, zero for n_c ≤ 1) of `features` [N × d].
  public static func statistics(features: [Float], labels: [Int], classes: Int, dimension d: Int) -> [Gaussian] {
    var members = [[Int]](repeating: [], count: classes)
    for (i, y) in labels.enumerated() { members[y].append(i) }
    return members.map { rows in
      var mean = [Double](repeating: 0, count: d)
      for r in rows { for j in 0..<d { mean[j] += Double(features[r * d + j]) } }
      let n = rows.count
      if n > 0 { for j in 0..<d { mean[j] /= Double(n) } }
      // Centred rows, then Xcᵀ·Xc / (n − 1) through GEMM.
      var centred = [Float](repeating: 0, count: n * d)
      for (k, r) in rows.enumerated() { for j in 0..<d { centred[k * d + j] = features[r * d + j] - Float(mean[j]) } }
      var product = [Float](repeating: 0, count: d * d)
      if n > 1 {
        centred.withUnsafeBufferPointer { x in
          product.withUnsafeMutableBufferPointer { c in
            BLAS.gemm(
              transA: true, m: d, n: d, k: n, alpha: 1 / Float(n - 1), x.baseAddress!, lda: d, x.baseAddress!,
              ldb: d, c.baseAddress!, ldc: d)
          }
        }
      }
      return Gaussian(mean: mean, covariance: product.map(Double.init))
    }
  }

  /// The head classes: the ⌈share·C⌉ classes with the largest counts (ties to the lower index), at least
  /// one and at most C − 1, in class order.
  public static func headClasses(counts: [Int], share: Double) -> [Int] {
    let c = counts.count
    let size = Swift.min(Swift.max(Int((share * Double(c)).rounded(.up)), 1), Swift.max(c - 1, 1))
    let order = counts.indices.sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
    return Array(order.prefix(size)).sorted()
  }

  /// Cosine similarity of two vectors (0 when either is zero).
  public static func cosine(_ a: [Double], _ b: [Double]) -> Double {
    var dot = 0.0
    var na = 0.0
    var nb = 0.0
    for (x, y) in zip(a, b) {
      dot += x * y
      na += x * x
      nb += y * y
    }
    return na > 0 && nb > 0 ? dot / (na * nb).squareRoot() : 0
  }

  /// The `k` head classes whose means are most cosine-similar to `mean` (ties to the lower index),
  /// most similar first.
  public static func neighbours(of mean: [Double], head: [Int], means: [[Double]], k: Int) -> [Int] {
    let scored = head.map { ($0, cosine(mean, means[$0])) }
    return scored.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(k).map(\.0)
  }

  /// Step 5: α = m/(m + n), μ' = (1 − α)·μ + α·mean(μ_h), Σ' = (1 − α)·Σ + α·mean(Σ_h). No neighbours or
  /// m = 0 returns `own`.
  public static func calibrate(own: Gaussian, count: Int, neighbours: [Gaussian], strength: Double) -> Gaussian {
    guard !neighbours.isEmpty, strength > 0 else { return own }
    let alpha = strength / (strength + Double(count))
    let share = alpha / Double(neighbours.count)
    var out = Gaussian(mean: own.mean.map { $0 * (1 - alpha) }, covariance: own.covariance.map { $0 * (1 - alpha) })
    for h in neighbours {
      for j in out.mean.indices { out.mean[j] += share * h.mean[j] }
      for j in out.covariance.indices { out.covariance[j] += share * h.covariance[j] }
    }
    return out
  }

  /// The lower Cholesky factor of Σ + ε·(tr Σ/d)·I (LAPACK `dpotrf` through ``BLAS/cholesky(_:n:)``),
  /// ε = `ridge` first and ×10 on each failure (at most 8 tries). Returns nil when none succeeds.
  public static func choleskyFactor(_ covariance: [Double], dimension d: Int, ridge: Double) -> [Double]? {
    var trace = 0.0
    for j in 0..<d { trace += covariance[j * d + j] }
    let scale = trace > 0 ? trace / Double(d) : 1
    var epsilon = ridge
    for _ in 0..<8 {
      var a = covariance
      for j in 0..<d { a[j * d + j] += epsilon * scale }
      if BLAS.cholesky(&a, n: d) == 0 { return a }
      epsilon = Swift.max(epsilon * 10, 1e-8)
    }
    return nil
  }

  /// `count` draws μ + L·ε (ε ~ N(0, I) from `stream`), mapped back through ``inverseTukey(_:beta:)``,
  /// appended to `out` as rows of d.
  public static func sample(
    mean: [Double], factor: [Double], dimension d: Int, count: Int, beta: Double, stream: inout RandomStream,
    into out: inout [Float]
  ) {
    guard count > 0 else { return }
    var noise = [Float](repeating: 0, count: count * d)
    noise.withUnsafeMutableBufferPointer { stream.fillNormal($0) }
    let l = factor.map(Float.init)
    var z = [Float](repeating: 0, count: count * d)
    // Z = E·Lᵀ: row i is L·ε_i.
    noise.withUnsafeBufferPointer { e in
      l.withUnsafeBufferPointer { lp in
        z.withUnsafeMutableBufferPointer { zp in
          BLAS.gemm(
            transB: true, m: count, n: d, k: d, e.baseAddress!, lda: d, lp.baseAddress!, ldb: d, zp.baseAddress!,
            ldc: d)
        }
      }
    }
    out.reserveCapacity(out.count + count * d)
    for i in 0..<count {
      for j in 0..<d { out.append(inverseTukey(z[i * d + j] + Float(mean[j]), beta: beta)) }
    }
  }
}

/// The LADC post-hoc stage as a component (`ladc`): after training, ``LADC`` steps 1–7 and a re-trained
/// head; the trainer then evaluates the test set again. Parameters and defaults: see ``LADC``.
public final class LADCStage: TrainingHooks {
  /// What stage 2 trains the head on.
  public enum Source: String, Sendable, CaseIterable {
    /// Real ∪ features sampled from the calibrated Gaussians (LADC).
    case calibrated
    /// Real ∪ features sampled from each class's own Gaussian (no borrowing).
    case own
    /// Real features, class-balanced re-sampling (cRT).
    case crt
    /// Real features, plain shuffle.
    case real
  }

  /// The registry entry `ladc`.
  public static let definition = ComponentDefinition(
    name: "ladc", version: 1,
    parameters: [
      "source": .text("calibrated"), "k": .number(2), "head_share": .number(0.4), "strength": .number(100),
      "beta": .number(0.5), "ridge": .number(1e-3), "epochs": .number(10), "lr": .number(0.2),
      "batch_size": .number(512), "weight_decay": .number(5e-4), "momentum": .number(0.9),
    ],
    choices: ["source": Source.allCases.map(\.rawValue)]
  ) { spec, context in
    guard let initialization = Initialization(rawValue: context.spec.model.initialization) else {
      throw JobFailure(.badSpec, "unknown init '\(context.spec.model.initialization)'")
    }
    let unit: (Double) -> Bool = { $0 > 0 && $0 <= 1 }
    return LADCStage(
      source: Source(rawValue: try spec.text("source"))!, k: try spec.integer("k", min: 1),
      headShare: try spec.number("head_share", unit, expected: "in (0, 1]"),
      strength: try spec.number("strength", { $0 >= 0 && $0.isFinite }, expected: "≥ 0"),
      beta: try spec.number("beta", { $0 > 0 && $0.isFinite }, expected: "> 0"),
      ridge: try spec.number("ridge", { $0 >= 0 && $0.isFinite }, expected: "≥ 0"),
      epochs: try spec.integer("epochs", min: 1), learningRate: try spec.number("lr", { $0 > 0 }, expected: "> 0"),
      batchSize: try spec.integer("batch_size", min: 1),
      weightDecay: try spec.number("weight_decay", { $0 >= 0 }, expected: "≥ 0"),
      momentum: try spec.number("momentum", { $0 >= 0 && $0 < 1 }, expected: "in [0, 1)"),
      classCounts: context.trainCounts, initialization: initialization, key: context.key.split("ladc"))
  }

  /// Stage 2's training data.
  public let source: Source
  /// Neighbours per tail class, head share, pseudo-count, Tukey power and relative ridge.
  public let k: Int, headShare: Double, strength: Double, beta: Double, ridge: Double
  /// Stage-2 optimisation.
  public let epochs: Int, learningRate: Double, batchSize: Int, weightDecay: Double, momentum: Double
  /// Training examples per class.
  public let classCounts: [Int]
  /// How the head is re-initialised.
  public let initialization: Initialization
  private let key: RandomKey
  private var stage1Error: Double?
  private var neighbourText = ""
  private var synthetic = 0

  /// A stage with the given settings.
  public init(
    source: Source, k: Int, headShare: Double, strength: Double, beta: Double, ridge: Double, epochs: Int,
    learningRate: Double, batchSize: Int, weightDecay: Double, momentum: Double, classCounts: [Int],
    initialization: Initialization, key: RandomKey
  ) {
    self.source = source
    self.k = k
    self.headShare = headShare
    self.strength = strength
    self.beta = beta
    self.ridge = ridge
    self.epochs = epochs
    self.learningRate = learningRate
    self.batchSize = batchSize
    self.weightDecay = weightDecay
    self.momentum = momentum
    self.classCounts = classCounts
    self.initialization = initialization
    self.key = key
  }

  /// Features [N × d] of every example of `source` in evaluation mode, without augmentation.
  public static func features(of model: Classifier, _ data: BatchSource, batchSize: Int = 256) -> [Float] {
    let d = model.featureSize
    var out = [Float](repeating: 0, count: data.count * d)
    let x = Tensor(shape: [0])
    var labels: [Int] = []
    var none: RandomStream? = nil
    let all = Array(0..<data.count)
    var start = 0
    while start < data.count {
      let end = Swift.min(start + batchSize, data.count)
      data.fill(all[start..<end], into: x, labels: &labels, augment: &none)
      let f = model.features.forward(x, training: false)
      for i in 0..<(end - start) * d { out[start * d + i] = f[i] }
      start = end
    }
    return out
  }

  public func afterTraining(_ trainer: Trainer) throws -> Bool {
    stage1Error = trainer.curves["test_error"]?.last
    let model = trainer.model
    guard model.head is Linear else { throw JobFailure(.badSpec, "component 'ladc' needs a linear head") }
    let d = model.featureSize
    let classes = model.classes
    let labels = trainer.train.labels
    var features = Self.features(of: model, trainer.train)
    var targets = labels
    let nMax = classCounts.max() ?? 0
    if source == .calibrated || source == .own {
      let transformed = features.map { LADC.tukey($0, beta: beta) }
      let stats = LADC.statistics(features: transformed, labels: labels, classes: classes, dimension: d)
      let head = Set(LADC.headClasses(counts: classCounts, share: headShare))
      var stream = key.split("sample").stream()
      var parts: [String] = []
      for c in 0..<classes where classCounts[c] < nMax {
        var gaussian = stats[c]
        if source == .calibrated && !head.contains(c) {
          let near = LADC.neighbours(of: stats[c].mean, head: head.sorted(), means: stats.map(\.mean), k: k)
          parts.append("\(c):" + near.map(String.init).joined(separator: "+"))
          gaussian = LADC.calibrate(
            own: stats[c], count: classCounts[c], neighbours: near.map { stats[$0] }, strength: strength)
        }
        guard let factor = LADC.choleskyFactor(gaussian.covariance, dimension: d, ridge: ridge) else {
          throw JobFailure(.badSpec, "component 'ladc': the covariance of class \(c) is not positive definite")
        }
        let count = nMax - classCounts[c]
        LADC.sample(
          mean: gaussian.mean, factor: factor, dimension: d, count: count, beta: beta, stream: &stream,
          into: &features)
        targets += Array(repeating: c, count: count)
        synthetic += count
      }
      neighbourText = parts.joined(separator: " ")
    }
    try retrainHead(model, features: features, targets: targets, nMax: nMax)
    return true
  }

  /// Step 7: re-initialise the head and train it on the rows of `features` with CE.
  func retrainHead(_ model: Classifier, features: [Float], targets: [Int], nMax: Int) throws {
    let d = model.featureSize
    let head = model.head
    head.initialize(initialization, key: key.split("head"))
    let keepGradient = head.needsInputGradient
    head.needsInputGradient = false
    defer { head.needsInputGradient = keepGradient }
    let optimizer = SGD(
      learningRate: Float(learningRate), momentum: Float(momentum), weightDecay: Float(weightDecay))
    let schedule = LearningRateSchedule.cosine(base: learningRate, warmup: 0, epochs: epochs)
    let loss = CrossEntropyLoss()
    let gradient = Tensor(shape: [0])
    let batch = Tensor(shape: [0])
    var batchTargets: [Int] = []
    var members = [[Int]](repeating: [], count: model.classes)
    for (i, y) in targets.enumerated() { members[y].append(i) }
    for epoch in 0..<epochs {
      optimizer.learningRate = Float(schedule.rate(epoch: epoch))
      var stream = key.split("order").fold(epoch).stream()
      let order: [Int]
      if source == .crt {
        order = (0..<(nMax * model.classes)).map { _ in
          let rows = members[stream.nextInt(below: model.classes)]
          return rows[stream.nextInt(below: rows.count)]
        }
      } else {
        order = stream.permutation(targets.count)
      }
      var start = 0
      while start < order.count {
        let end = Swift.min(start + batchSize, order.count)
        batch.resize([end - start, d])
        batchTargets.removeAll(keepingCapacity: true)
        features.withUnsafeBufferPointer { f in
          for (r, i) in order[start..<end].enumerated() {
            (batch.pointer + r * d).update(from: f.baseAddress! + i * d, count: d)
            batchTargets.append(targets[i])
          }
        }
        let logits = head.forward(batch, training: true)
        let value = loss.loss(logits: logits, targets: batchTargets, gradient: gradient)
        guard value.isFinite else {
          throw JobFailure(.nonFiniteLoss, "component 'ladc': stage-2 loss is \(value) at epoch \(epoch)")
        }
        _ = head.backward(gradient)
        optimizer.step(head.parameters)
        start = end
      }
    }
  }

  public func finish(_ trainer: Trainer, output: inout JobOutput) throws {
    if let stage1Error { output.overall["stage1_top1_error"] = stage1Error }
    output.overall["synthetic_features"] = Double(synthetic)
    output.data["ladc_source"] = source.rawValue
    if !neighbourText.isEmpty { output.data["ladc_neighbours"] = neighbourText }
  }
}
