import Engine

/// Classification metrics of a model's test-set logits, as the imbalance and calibration papers
/// report them. Errors and accuracies are in percent.
public struct ClassificationMetrics: Sendable {
  /// 100 − top-1 accuracy (% of examples).
  public var top1Error: Double
  /// 100 − top-5 accuracy (top-k with k = min(5, C)).
  public var top5Error: Double
  /// 100 − mean per-class accuracy (equals top-1 error on a balanced test set).
  public var balancedError: Double
  /// Accuracy per class (% of that class's test examples; NaN for a class with no test example).
  public var perClassAccuracy: [Double]
  /// Test examples per class.
  public var testCounts: [Int]
  /// Mean −log p_y, natural log.
  public var nll: Double
  /// Expected calibration error over 15 equal-width confidence bins (percent): Σ_b |B_b|/N·|acc_b − conf_b|.
  public var ece: Double
  /// Per bin: mean confidence, accuracy (fractions) and example count; empty bins have 0, 0, 0.
  public var reliability: (confidence: [Double], accuracy: [Double], count: [Double])
  /// How many distinct classes the model predicts on the test set (1 means a collapsed model).
  public var predictedClasses: Int

  /// The number of confidence bins of ``ece`` (Guo et al. 2017, as the calibration papers use).
  public static let bins = 15

  /// Metrics of `logits` [N, C] against `labels`, accumulated in `Double` in index order.
  public init(logits: Tensor, labels: [Int]) {
    let n = logits.rows, c = logits.rowSize
    let k = Swift.min(5, c)
    var correct = [Int](repeating: 0, count: c), total = [Int](repeating: 0, count: c)
    var top1 = 0, top5 = 0
    var nllSum = 0.0
    var binConf = [Double](repeating: 0, count: Self.bins), binAcc = binConf, binCount = binConf
    var predicted = Set<Int>()
    for i in 0..<n {
      let row = logits.pointer + i * c
      let y = labels[i]
      var best = 0
      for j in 1..<c where row[j] > row[best] { best = j }
      predicted.insert(best)
      // Rank of the true class: the number of classes scoring strictly higher, ties to the lower index.
      var above = 0
      for j in 0..<c where row[j] > row[y] || (row[j] == row[y] && j < y) { above += 1 }
      total[y] += 1
      if best == y {
        correct[y] += 1
        top1 += 1
      }
      if above < k { top5 += 1 }
      let lse = Kernels.logSumExp(row, cols: c)
      nllSum += lse - Double(row[y])
      let confidence = exp64(Double(row[best]) - lse)
      // Bin b holds confidences in (b/B, (b+1)/B]; confidence 0 cannot occur.
      let b = Swift.min(Self.bins - 1, Swift.max(0, Int((confidence * Double(Self.bins)).rounded(.up)) - 1))
      binConf[b] += confidence
      binAcc[b] += best == y ? 1 : 0
      binCount[b] += 1
    }
    let nd = Double(Swift.max(n, 1))
    top1Error = 100 * (1 - Double(top1) / nd)
    top5Error = 100 * (1 - Double(top5) / nd)
    perClassAccuracy = (0..<c).map { total[$0] > 0 ? 100 * Double(correct[$0]) / Double(total[$0]) : .nan }
    let present = perClassAccuracy.filter { !$0.isNaN }
    balancedError = 100 - present.reduce(0, +) / Double(Swift.max(present.count, 1))
    testCounts = total
    nll = nllSum / nd
    var eceSum = 0.0
    for b in 0..<Self.bins where binCount[b] > 0 {
      binConf[b] /= binCount[b]
      binAcc[b] /= binCount[b]
      eceSum += binCount[b] / nd * Swift.abs(binAcc[b] - binConf[b])
    }
    ece = 100 * eceSum
    reliability = (binConf, binAcc, binCount)
    predictedClasses = predicted.count
  }
}
