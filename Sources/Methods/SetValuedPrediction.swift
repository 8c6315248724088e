import Engine
import Foundation

/// Set-valued prediction from a trained model's softmax probabilities (Lorieul, Joly, Shasha,
/// arXiv 2112.08851), evaluated on the test set after training, as a `finish` step.
///
/// For k = 1 … `k_max` (and the rule chosen by `rule`):
/// - `top-k`: S(x) = the k most probable classes; the mean set size is exactly k;
/// - `average-k`: S(x) = {c : η̂_c(x) ≥ λ̂_k}, one global threshold λ̂_k = the ⌈N_val·k⌉-th largest of
///   the N_val·C validation scores (``AverageK/threshold(scores:k:)``), so the mean set size on the
///   held-out validation split is k; on the test set it is k up to sampling error.
/// Metrics (percent): `set_error_at_k_<k>` = mean [y ∉ S(x)] on the test set, and `mean_set_size_at_k_<k>`.
/// The report plots both families against k with one line per method, so a manifest lists the same
/// trained model twice (methods differing only in `rule`) to compare the two rules at equal k; the
/// trainings are identical (same spec and seed apart from the rule), so the comparison is paired.
///
/// **References:**
/// - Lorieul, Joly, Shasha, "Classification Under Ambiguity: When Is Average-K Better Than Top-K?",
///   arXiv 2112.08851 (no official code; the plug-in estimator of the problem definition).
public final class SetValuedPrediction: TrainingHooks {
  /// The registry entry: `set-valued`, rule `average-k`, k = 1…5.
  public static let definition = ComponentDefinition(
    name: "set-valued", version: 1, parameters: ["rule": .text("average-k"), "k_max": .number(5)],
    choices: ["rule": ["average-k", "top-k"]]
  ) { spec, context in
    let rule = try spec.text("rule")
    return SetValuedPrediction(
      averageK: rule == "average-k", kMax: try spec.integer("k_max", min: 1),
      validation: rule == "average-k" ? try context.requireValidation(for: "set-valued") : nil)
  }

  /// True for average-k, false for top-k.
  public let averageK: Bool
  /// The largest k.
  public let kMax: Int
  private let validation: BatchSource?
  private let logits = Tensor(shape: [0])

  /// Creates the hook.
  public init(averageK: Bool, kMax: Int, validation: BatchSource?) {
    self.averageK = averageK
    self.kMax = kMax
    self.validation = validation
  }

  /// Softmax probabilities of logits [N, C], in `Double`.
  static func probabilities(_ logits: Tensor) -> [[Double]] {
    let c = logits.rowSize
    return (0..<logits.rows).map { i in
      let row = logits.pointer + i * c
      let lse = Kernels.logSumExp(row, cols: c)
      return (0..<c).map { exp(Double(row[$0]) - lse) }
    }
  }

  /// (set error %, mean set size) of sets {c : score ≥ threshold} on labelled scores.
  public static func thresholdSets(_ scores: [[Double]], labels: [Int], threshold: Double) -> (Double, Double) {
    var misses = 0
    var size = 0
    for (row, y) in zip(scores, labels) {
      size += row.filter { $0 >= threshold }.count
      if !(row[y] >= threshold) { misses += 1 }
    }
    let n = Double(Swift.max(scores.count, 1))
    return (100 * Double(misses) / n, Double(size) / n)
  }

  public func finish(_ trainer: Trainer, output: inout JobOutput) throws {
    let test = Self.probabilities(trainer.testLogits)
    let labels = trainer.test.labels
    guard !test.isEmpty else { return }
    let c = test[0].count
    var validationScores: [[Double]] = []
    if let validation {
      trainer.evaluate(validation, into: logits)
      validationScores = Self.probabilities(logits)
    }
    var ks: [Double] = []
    var errors: [Double] = []
    for k in 1...Swift.min(kMax, c) {
      let (error, size): (Double, Double)
      if averageK {
        let lambda = AverageK.threshold(scores: validationScores, k: Double(k))
        (error, size) = Self.thresholdSets(test, labels: labels, threshold: lambda)
        output.overall["average_k_threshold_at_k_\(k)"] = lambda
      } else {
        let misses = zip(test, labels).filter { !AverageK.topK($0.0, k: k).contains($0.1) }.count
        (error, size) = (100 * Double(misses) / Double(test.count), Double(k))
      }
      output.overall["set_error_at_k_\(k)"] = error
      output.overall["mean_set_size_at_k_\(k)"] = size
      ks.append(Double(k))
      errors.append(error)
    }
    output.series["set_error"] = ["k": ks, "error": errors]
  }
}

/// The synthetic class-overlap experiment: Bayes top-K and average-K errors where the ambiguity is known,
/// as a function of how heterogeneous it is, at a fixed mean ambiguity. Computed in `finish`; it does not
/// depend on the trained network (it rides on a job so its numbers land in the same report).
///
/// The mixture (C classes; the paper's exact synthetic design is unverified, this is the simplest family
/// with a closed form): half of the inputs are ambiguous among a = m − d classes, half among b = m + d
/// classes, η(x) uniform over the input's group. The mean group size m is fixed; the spread d = 0 … min(m − 1,
/// C − m) is the heterogeneity (d = 0: every input equally ambiguous). For a budget k:
/// - top-K: err = Σ_types w·max(0, 1 − k/g);
/// - average-K (oracle): the threshold takes labels by decreasing η = 1/g (whole groups of the less
///   ambiguous type first, randomised at the atom): a type that gets s < w·g of the k slots errs w − s/g.
/// With k = m (the default) average-K covers every group (err 0) and top-K errs ½·d/(m + d): equal at d = 0,
/// a gap growing with d.
/// The plug-in estimator also runs on `samples` draws with η̂ = η + U(0, 10⁻⁶) jitter (ties broken as an
/// estimated η would): threshold on one sample (``AverageK/threshold(scores:k:)``), error on another.
/// Metrics (percent), per spread d: `synthetic_top_k_error_at_spread_<d>`,
/// `synthetic_average_k_error_at_spread_<d>`, `synthetic_plugin_average_k_error_at_spread_<d>`,
/// `synthetic_gap_at_spread_<d>` (top-K − average-K, Bayes).
public final class AmbiguityOracle: TrainingHooks {
  /// The registry entry: `ambiguity-oracle`, C = 10, m = 5, k = 5, 20,000 samples.
  public static let definition = ComponentDefinition(
    name: "ambiguity-oracle", version: 1,
    parameters: ["classes": .number(10), "mean_group_size": .number(5), "k": .number(5), "samples": .number(20_000)]
  ) { spec, context in
    let hook = AmbiguityOracle(
      classes: try spec.integer("classes", min: 2), meanGroupSize: try spec.integer("mean_group_size", min: 1),
      k: try spec.integer("k", min: 1), samples: try spec.integer("samples", min: 10),
      key: context.key.split("ambiguity-oracle"))
    guard hook.meanGroupSize <= hook.classes else {
      throw JobFailure(.badSpec, "component 'ambiguity-oracle': mean_group_size must be at most classes")
    }
    return hook
  }

  /// C, m, k and the sample size of the plug-in estimate.
  public let classes: Int, meanGroupSize: Int, k: Int, samples: Int
  private let key: RandomKey

  /// Creates the hook.
  public init(classes: Int, meanGroupSize: Int, k: Int, samples: Int, key: RandomKey) {
    self.classes = classes
    self.meanGroupSize = meanGroupSize
    self.k = k
    self.samples = samples
    self.key = key
  }

  /// The spreads d with 1 ≤ m − d and m + d ≤ C.
  public var spreads: [Int] { Array(0...Swift.min(meanGroupSize - 1, classes - meanGroupSize)) }

  /// The two types (weight, group size) at spread d.
  public func types(spread d: Int) -> [(weight: Double, groupSize: Int)] {
    [(0.5, meanGroupSize - d), (0.5, meanGroupSize + d)]
  }

  /// The Bayes top-K error (fraction).
  public static func topKError(_ types: [(weight: Double, groupSize: Int)], k: Int) -> Double {
    types.reduce(0) { $0 + $1.weight * Swift.max(0, 1 - Double(k) / Double($1.groupSize)) }
  }

  /// The Bayes average-K error (fraction): slots go to labels by decreasing η = 1/g.
  public static func averageKError(_ types: [(weight: Double, groupSize: Int)], k: Int) -> Double {
    var budget = Double(k)
    var error = 0.0
    for t in types.sorted(by: { $0.groupSize < $1.groupSize }) {
      let need = t.weight * Double(t.groupSize)
      let spent = Swift.min(budget, need)
      error += t.weight - spent / Double(t.groupSize)
      budget -= spent
    }
    return Swift.max(0, error)
  }

  /// `count` labelled draws with jittered η rows.
  func sample(_ types: [(weight: Double, groupSize: Int)], count: Int, stream: inout RandomStream)
    -> ([[Double]], [Int])
  {
    var scores: [[Double]] = []
    var labels: [Int] = []
    for _ in 0..<count {
      var row = [Double](repeating: 0, count: classes)
      let g = stream.nextDouble() < types[0].weight ? types[0].groupSize : types[1].groupSize
      let first = stream.nextInt(below: classes)
      for j in 0..<g { row[(first + j) % classes] = 1 / Double(g) }
      let label = (first + stream.nextInt(below: g)) % classes
      for j in 0..<classes { row[j] += 1e-6 * stream.nextDouble() }
      scores.append(row)
      labels.append(label)
    }
    return (scores, labels)
  }

  public func finish(_ trainer: Trainer, output: inout JobOutput) throws {
    for d in spreads {
      let types = types(spread: d)
      let top = Self.topKError(types, k: k)
      let average = Self.averageKError(types, k: k)
      var stream = key.fold(d).stream()
      let (calibration, _) = sample(types, count: samples, stream: &stream)
      let (test, labels) = sample(types, count: samples, stream: &stream)
      let lambda = AverageK.threshold(scores: calibration, k: Double(k))
      let (plugin, _) = SetValuedPrediction.thresholdSets(test, labels: labels, threshold: lambda)
      output.overall["synthetic_top_k_error_at_spread_\(d)"] = 100 * top
      output.overall["synthetic_average_k_error_at_spread_\(d)"] = 100 * average
      output.overall["synthetic_plugin_average_k_error_at_spread_\(d)"] = plugin
      output.overall["synthetic_gap_at_spread_\(d)"] = 100 * (top - average)
    }
  }
}
