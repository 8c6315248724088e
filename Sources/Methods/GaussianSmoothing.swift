import Datasets
import Engine
import Foundation
import NN

/// Gaussian noise N(0, σ²I) added in [0, 1] pixel space to inputs that the pipeline has already
/// normalised per channel ((x − μ_c)/s_c).
///
/// The official code puts the normalisation layer inside the network and adds noise before it; on
/// normalised inputs the same noise is N(0, (σ/s_c)²) per channel, and an ℓ2 step of length r in pixel
/// space moves channel c by r·u/s_c for a unit pixel-space direction u. This type does that conversion,
/// so σ, radii and step sizes are in pixel units as in the papers.
public struct PixelNoise: Sendable {
  /// σ in pixel units.
  public var sigma: Double
  /// Per-channel std s_c and the pixel range [0, 1] in normalised units.
  public let channelStd: [Float], low: [Float], high: [Float]

  /// Noise of level `sigma` for inputs normalised by `normalization`.
  public init(sigma: Double, normalization: Normalization) {
    self.sigma = sigma
    channelStd = normalization.std
    low = zip(normalization.mean, normalization.std).map { (0 - $0) / $1 }
    high = zip(normalization.mean, normalization.std).map { (1 - $0) / $1 }
  }

  /// The number of channels (the innermost NHWC dimension).
  public var channels: Int { channelStd.count }

  /// out[r] = x[r mod rows(x)] + δ_r for r < rows(out), δ_r ~ N(0, σ²) in pixel units: the rows of
  /// `out` are `copies` stacked copies of the batch `x` ([x + δ_1; …; x + δ_m], the official order).
  public func addNoise(_ x: Tensor, copies: Int, into out: Tensor, stream: inout RandomStream) {
    let b = x.rows
    let d = x.rowSize
    out.resize([b * copies] + Array(x.shape.dropFirst()))
    stream.fillNormal(out.buffer)
    let c = channels
    var scale = [Float](repeating: 0, count: c)
    for ch in 0..<c { scale[ch] = Float(sigma) / channelStd[ch] }
    for copy in 0..<copies {
      for i in 0..<b {
        let o = out.pointer + (copy * b + i) * d
        let xi = x.pointer + i * d
        for k in 0..<d { o[k] = xi[k] + scale[k % c] * o[k] }
      }
    }
  }

  /// Fills `out` with δ ~ N(0, σ²I) in pixel units (N(0, (σ/s_c)²) per channel in normalised units).
  public func fillNoise(_ out: Tensor, stream: inout RandomStream) {
    stream.fillNormal(out.buffer)
    let c = channels
    var scale = [Float](repeating: 0, count: c)
    for ch in 0..<c { scale[ch] = Float(sigma) / channelStd[ch] }
    for k in 0..<out.count { out[k] *= scale[k % c] }
  }

  /// out[r] = x + δ_r for `rows` noisy copies of one example x [D]. The draws come from
  /// ``RandomStream/fillNormalPolar(_:)`` (certification evaluates millions of noisy copies; the
  /// trigonometric Box–Muller of `fillNormal` took two thirds of its time).
  public func noisyCopies(
    of x: UnsafePointer<Float>, size d: Int, rows: Int, shape: [Int], into out: Tensor,
    stream: inout RandomStream
  ) {
    out.resize([rows] + shape)
    stream.fillNormalPolar(out.buffer)
    let c = channels
    var scale = [Float](repeating: 0, count: c)
    for ch in 0..<c { scale[ch] = Float(sigma) / channelStd[ch] }
    for r in 0..<rows {
      let o = out.pointer + r * d
      for k in 0..<d { o[k] = x[k] + scale[k % c] * o[k] }
    }
  }

  /// Clamps every entry of `x` to the pixel range [0, 1] (in normalised units).
  public func clampToPixelRange(_ x: Tensor) {
    let c = channels
    for k in 0..<x.count { x[k] = Swift.min(Swift.max(x[k], low[k % c]), high[k % c]) }
  }

  /// The pixel-space ℓ2 norm of a normalised-space difference v [D]: ‖v·s_c‖_2.
  public func pixelNorm(_ v: UnsafePointer<Float>, count d: Int) -> Double {
    let c = channels
    var s = 0.0
    for k in 0..<d {
      let p = Double(v[k]) * Double(channelStd[k % c])
      s += p * p
    }
    return s.squareRoot()
  }
}

extension RandomStream {
  /// Fills `out` with independent N(0, 1) draws by Marsaglia's polar method: (u, v) uniform in the
  /// square (−1, 1)², rejected unless 0 < s = u² + v² < 1, then u·√(−2 ln s / s) and v·√(−2 ln s / s).
  /// One logarithm and no trigonometry per pair; about 21% of the pairs are rejected.
  public mutating func fillNormalPolar(_ out: UnsafeMutableBufferPointer<Float>) {
    var i = 0
    while i < out.count {
      let u = 2 * nextDouble() - 1
      let v = 2 * nextDouble() - 1
      let s = u * u + v * v
      guard s > 0 && s < 1 else { continue }
      let f = (-2 * log(s) / s).squareRoot()
      out[i] = Float(u * f)
      if i + 1 < out.count { out[i + 1] = Float(v * f) }
      i += 2
    }
  }
}

/// Gaussian data augmentation (Cohen, Rosenfeld, Kolter 2019): every training input is replaced by
/// `copies` noisy copies x + δ, δ ~ N(0, σ²I) in pixel space, and the standard cross-entropy step runs
/// on them (the mean over all m·b rows). With `copies` = m it is the "Gaussian" baseline of SmoothMix's
/// `train_cohen.py` with `num_noise_vec` = m.
///
/// **References:**
/// - Cohen, Rosenfeld, Kolter, "Certified Adversarial Robustness via Randomized Smoothing", ICML 2019
///   (locuslab/smoothing `code/train.py`).
/// - jh-jeong/smoothmix `code/train_cohen.py` (noise before the network's normalisation layer).
public final class GaussianNoiseTraining: TrainingHooks {
  /// The registry entry: `gaussian-noise`, σ = 0.25, one copy.
  public static let definition = ComponentDefinition(
    name: "gaussian-noise", version: 1, parameters: ["sigma": .number(0.25), "copies": .number(1)]
  ) { spec, context in
    GaussianNoiseTraining(
      noise: PixelNoise(sigma: try spec.number("sigma", { $0 >= 0 }), normalization: context.normalization),
      copies: try spec.integer("copies", min: 1), key: context.key.split("gaussian-noise"))
  }

  /// The noise.
  public let noise: PixelNoise
  /// Noisy copies per example (m).
  public let copies: Int
  private let key: RandomKey
  private let noisy = Tensor(shape: [0])
  private let firstCopy = Tensor(shape: [0])
  private var labels: [Int] = []

  /// Creates the hook.
  public init(noise: PixelNoise, copies: Int, key: RandomKey) {
    self.noise = noise
    self.copies = copies
    self.key = key
  }

  public func trainStep(_ trainer: Trainer, _ batch: TrainingBatch) throws -> StepOutcome? {
    var stream = key.fold(batch.epoch).fold(batch.step).stream()
    noise.addNoise(batch.inputs, copies: copies, into: noisy, stream: &stream)
    labels.removeAll(keepingCapacity: true)
    for _ in 0..<copies { labels += batch.labels }
    let (value, logits) = trainer.standardStep(noisy, labels: labels)
    // The trainer counts training errors on one row per example: the first copy.
    firstCopy.resize([batch.labels.count, logits.rowSize])
    firstCopy.pointer.update(from: logits.pointer, count: firstCopy.count)
    return StepOutcome(loss: value, logits: firstCopy)
  }
}

/// Certification of the Gaussian-smoothed classifier g(x) = argmax_c P(f(x + δ) = c), δ ~ N(0, σ²I),
/// on the test set after training (Cohen et al. 2019, Alg. CERTIFY and PREDICT), as a `finish` step.
///
/// For each of the first `max_examples` test examples (all when 0), in evaluation mode:
/// 1. counts₀ = class histogram of f(x + δ) over n₀ draws; ĉ_A = argmax counts₀;
/// 2. counts = histogram over n fresh draws; n_A = counts[ĉ_A];
/// 3. p̲_A = Clopper–Pearson lower bound at level 1 − α (``RandomizedSmoothing/certify(nA:n:alpha:sigma:)``);
///    abstain when p̲_A < ½, else certify ĉ_A with radius R = σ·Φ⁻¹(p̲_A);
/// 4. PREDICT on the same n draws: abstain unless the two-sided binomial test of the top two counts
///    rejects p = ½ at level α. (Cohen's PREDICT draws its own sample; reusing CERTIFY's fresh sample
///    keeps each procedure's guarantee and halves the cost. The two are never combined.)
/// Noisy copies are evaluated in batches of `batch` rows; the noise stream of example i is
/// `key.split("certify").fold(i)`, so results do not depend on the batch size.
///
/// Metrics (percent): `certified_accuracy_at_l2_radius_<r>` for r = 0, `radius_step`, … ≤ `radius_max`
/// (correct and R ≥ r; r = 0 counts every correct certified prediction), `average_certified_radius`
/// (mean of R·[correct] over all certified examples, as SmoothMix's ACR), `certify_abstention_rate`,
/// `predict_accuracy` and `predict_abstention_rate`. Series `certified_accuracy`: radius against
/// accuracy on a grid of 0.05.
///
/// **References:**
/// - Cohen, Rosenfeld, Kolter, ICML 2019, Alg. CERTIFY / PREDICT; jh-jeong/smoothmix
///   `code/third_party/core.py` `Smooth`, `code/certify.py` (n₀ = 100, n = 100,000, α = 0.001).
public final class SmoothedCertification: TrainingHooks {
  /// The registry entry: `certify` with the official defaults (n = 100,000: set a smaller n on a CPU).
  public static let definition = ComponentDefinition(
    name: "certify", version: 1,
    parameters: [
      "sigma": .number(0.25), "n0": .number(100), "n": .number(100_000), "alpha": .number(0.001),
      "max_examples": .number(0), "batch": .number(1000), "radius_step": .number(0.25), "radius_max": .number(2),
    ]
  ) { spec, context in
    SmoothedCertification(
      noise: PixelNoise(sigma: try spec.number("sigma", { $0 > 0 }), normalization: context.normalization),
      n0: try spec.integer("n0", min: 1), n: try spec.integer("n", min: 1),
      alpha: try spec.number("alpha", { $0 > 0 && $0 < 1 }, expected: "in (0, 1)"),
      maxExamples: try spec.integer("max_examples"), batch: try spec.integer("batch", min: 1),
      radii: try radiusGrid(step: spec.number("radius_step", { $0 > 0 }), max: spec.number("radius_max", { $0 >= 0 })),
      key: context.key.split("certify"))
  }

  /// r = 0, step, 2·step, … ≤ max (rounded to 6 decimals so names print cleanly).
  static func radiusGrid(step: Double, max: Double) -> [Double] {
    var radii: [Double] = []
    var i = 0
    while Double(i) * step <= max + 1e-9 {
      radii.append((Double(i) * step * 1e6).rounded() / 1e6)
      i += 1
    }
    return radii
  }

  /// The noise.
  public let noise: PixelNoise
  /// Selection draws, estimation draws, and the confidence level.
  public let n0: Int, n: Int, alpha: Double
  /// Test examples certified (0 = all).
  public let maxExamples: Int
  /// Noisy copies per forward pass.
  public let batch: Int
  /// The radii of the `certified_accuracy_at_l2_radius_<r>` metrics.
  public let radii: [Double]
  private let key: RandomKey
  private let inputs = Tensor(shape: [0])
  private let noisy = Tensor(shape: [0])

  /// One test example's outcome.
  public struct Outcome: Hashable, Sendable {
    /// The label, the certified class (nil when abstaining) and its radius.
    public var label: Int, prediction: Int?, radius: Double
    /// PREDICT's class (nil when abstaining).
    public var predicted: Int?
  }

  /// The outcomes of the latest ``finish(_:output:)``.
  public private(set) var outcomes: [Outcome] = []

  /// Creates the hook.
  public init(
    noise: PixelNoise, n0: Int, n: Int, alpha: Double, maxExamples: Int, batch: Int, radii: [Double], key: RandomKey
  ) {
    self.noise = noise
    self.n0 = n0
    self.n = n
    self.alpha = alpha
    self.maxExamples = maxExamples
    self.batch = batch
    self.radii = radii
    self.key = key
  }

  /// The class histogram of f over `draws` noisy copies of x.
  func counts(_ model: Classifier, _ x: UnsafePointer<Float>, shape: [Int], draws: Int, stream: inout RandomStream)
    -> [Int]
  {
    let d = shape.reduce(1, *)
    var counts = [Int](repeating: 0, count: model.classes)
    var remaining = draws
    while remaining > 0 {
      let rows = Swift.min(batch, remaining)
      noise.noisyCopies(of: x, size: d, rows: rows, shape: shape, into: noisy, stream: &stream)
      let logits = model.forward(noisy, training: false)
      let c = logits.rowSize
      for r in 0..<rows {
        let row = logits.pointer + r * c
        var best = 0
        for j in 1..<c where row[j] > row[best] { best = j }
        counts[best] += 1
      }
      remaining -= rows
    }
    return counts
  }

  /// CERTIFY and PREDICT for one example x [H, W, C] (normalised).
  public func certify(_ model: Classifier, _ x: UnsafePointer<Float>, shape: [Int], label: Int, index: Int)
    -> Outcome
  {
    var stream = key.fold(index).stream()
    let selection = counts(model, x, shape: shape, draws: n0, stream: &stream)
    let cA = Self.argmax(selection)
    let estimation = counts(model, x, shape: shape, draws: n, stream: &stream)
    let certificate = RandomizedSmoothing.certify(nA: estimation[cA], n: n, alpha: alpha, sigma: noise.sigma)
    // PREDICT: the top two counts (ties to the lower class index).
    let order = estimation.indices.sorted {
      estimation[$0] > estimation[$1] || (estimation[$0] == estimation[$1] && $0 < $1)
    }
    let test = RandomizedSmoothing.predict(nA: estimation[order[0]], nB: estimation[order[1]], alpha: alpha)
    return Outcome(
      label: label, prediction: certificate.abstain ? nil : cA, radius: certificate.radius,
      predicted: test.abstain ? nil : order[0])
  }

  static func argmax(_ v: [Int]) -> Int {
    var best = 0
    for j in v.indices where v[j] > v[best] { best = j }
    return best
  }

  public func finish(_ trainer: Trainer, output: inout JobOutput) throws {
    let test = trainer.test
    let count = maxExamples > 0 ? Swift.min(maxExamples, test.count) : test.count
    guard count > 0, trainer.model.classes >= 2 else { return }
    let shape = test.exampleShape
    let d = shape.reduce(1, *)
    outcomes = []
    var labels: [Int] = []
    var none: RandomStream? = nil
    var start = 0
    let all = Array(0..<count)
    while start < count {
      let end = Swift.min(start + 256, count)
      test.fill(all[start..<end], into: inputs, labels: &labels, augment: &none)
      for i in start..<end {
        outcomes.append(
          certify(trainer.model, inputs.pointer + (i - start) * d, shape: shape, label: labels[i - start], index: i))
      }
      start = end
    }
    for (name, value) in Self.metrics(outcomes, radii: radii) { output.overall[name] = value }
    let grid = Self.radiusGrid(step: 0.05, max: Swift.max(outcomes.map(\.radius).max() ?? 0, radii.last ?? 0))
    output.series["certified_accuracy"] = [
      "radius": grid, "accuracy": grid.map { Self.certifiedAccuracy(outcomes, radius: $0) },
    ]
    output.data["certify"] = "sigma \(noise.sigma), n0 \(n0), n \(n), alpha \(alpha), examples \(count)"
  }

  /// Percent of examples certified correct with radius ≥ r.
  public static func certifiedAccuracy(_ outcomes: [Outcome], radius r: Double) -> Double {
    guard !outcomes.isEmpty else { return .nan }
    let hits = outcomes.filter { $0.prediction == $0.label && $0.radius >= r }.count
    return 100 * Double(hits) / Double(outcomes.count)
  }

  /// The named metrics of a set of outcomes.
  public static func metrics(_ outcomes: [Outcome], radii: [Double]) -> [String: Double] {
    let total = Double(Swift.max(outcomes.count, 1))
    var m: [String: Double] = [:]
    for r in radii { m["certified_accuracy_at_l2_radius_\(radiusName(r))"] = certifiedAccuracy(outcomes, radius: r) }
    m["average_certified_radius"] =
      outcomes.reduce(0.0) { $0 + ($1.prediction == $1.label ? $1.radius : 0) } / total
    m["certify_abstention_rate"] = 100 * Double(outcomes.filter { $0.prediction == nil }.count) / total
    m["predict_accuracy"] = 100 * Double(outcomes.filter { $0.predicted == $0.label }.count) / total
    m["predict_abstention_rate"] = 100 * Double(outcomes.filter { $0.predicted == nil }.count) / total
    return m
  }

  /// `0`, `0.25`, `1`, `1.5`: the shortest decimal form of r.
  static func radiusName(_ r: Double) -> String {
    r == r.rounded() ? "\(Int(r))" : "\(r)"
  }
}
