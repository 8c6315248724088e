import Foundation

/// Average-K set-valued classification with a plug-in global threshold, and top-K for comparison
/// (Lorieul, Joly, Shasha, arXiv 2112.08851).
///
/// Given scores η̂ [N][C] (e.g. softmax probabilities) and a target average set size k > 0:
/// 1. threshold λ̂ = the m-th largest of the N·C scores, m = ⌈N·k⌉ (one threshold for all examples);
/// 2. S_i = {c : η̂_ic ≥ λ̂} (sets may be empty);
/// 3. average-K error = mean_i [y_i ∉ S_i]; the mean set size is ≥ k, = k without ties when N·k is
///    an integer.
/// Top-K (integer k): the k classes with the highest scores, ties to the lower index.
/// No official code exists: this is a reconstruction from the problem definition (the paper's
/// consistent plug-in estimator), to be checked against the paper's notation.
///
/// **References:**
/// - Lorieul, Joly, Shasha, "Classification Under Ambiguity: When Is Average-K Better Than Top-K?",
///   arXiv 2112.08851 (no official code; `provenance: paper-formula` in the conformance vectors).
public enum AverageK {
  /// The outcome of average-K (and top-K when k is an integer) on a labelled set.
  public struct Result: Hashable, Sendable {
    /// The global threshold λ̂.
    public var threshold: Double
    /// |S_i| per example.
    public var setSizes: [Int]
    /// mean_i |S_i|.
    public var meanSetSize: Double
    /// mean_i [y_i ∉ S_i].
    public var averageKError: Double
    /// The top-k class indices per example (descending score), when k is an integer.
    public var topKSets: [[Int]]?
    /// mean_i [y_i ∉ top-k(i)], when k is an integer.
    public var topKError: Double?
  }

  /// The plug-in threshold: the ⌈N·k⌉-th largest of all N·C scores (clamped to 1…N·C).
  public static func threshold(scores: [[Double]], k: Double) -> Double {
    precondition(k > 0, "k must be positive")
    let all = scores.flatMap { $0 }.sorted(by: >)
    precondition(!all.isEmpty, "no scores")
    let m = Int((Double(scores.count) * k).rounded(.up))
    return all[Swift.min(Swift.max(m, 1), all.count) - 1]
  }

  /// The indices of the k largest scores, by descending score, ties to the lower index.
  public static func topK(_ scores: [Double], k: Int) -> [Int] {
    let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
    return Array(order.prefix(k))
  }

  /// Average-K (and top-K when k is an integer) on scores [N][C] with labels [N].
  public static func evaluate(scores: [[Double]], labels: [Int], k: Double) -> Result {
    precondition(scores.count == labels.count && !scores.isEmpty, "one label per row, at least one row")
    let lambda = threshold(scores: scores, k: k)
    var sizes: [Int] = []
    var misses = 0
    for (row, y) in zip(scores, labels) {
      sizes.append(row.filter { $0 >= lambda }.count)
      if !(row[y] >= lambda) { misses += 1 }
    }
    let n = Double(scores.count)
    var result = Result(
      threshold: lambda, setSizes: sizes, meanSetSize: Double(sizes.reduce(0, +)) / n,
      averageKError: Double(misses) / n)
    if k == k.rounded(), let kk = Int(exactly: k) {
      let sets = scores.map { topK($0, k: kk) }
      result.topKSets = sets
      result.topKError = Double(zip(sets, labels).filter { !$0.0.contains($0.1) }.count) / n
    }
    return result
  }
}
