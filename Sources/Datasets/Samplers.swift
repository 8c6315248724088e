import Engine

/// How an epoch's order of training examples is drawn.
public enum SamplingScheme: Sendable, Equatable {
  /// Every example once, in a uniformly random order (the usual shuffled loader).
  case uniformShuffle
  /// Class-balanced re-sampling: N draws with replacement; each draw picks a class uniformly among the
  /// non-empty classes, then an example of it uniformly (Kang et al., *Decoupling Representation and
  /// Classifier for Long-Tailed Recognition*, ICLR 2020, q = 0).
  case classBalanced
  /// Square-root re-sampling: as ``classBalanced`` with class probability ∝ √n_c (Kang et al. 2020,
  /// q = 1/2; Mahajan et al. 2018).
  case squareRoot
  /// Class probability ∝ n_c^q, then an example uniformly (q = 1: instance-balanced with replacement).
  case classPower(Double)
  /// Multinomial with replacement over examples with per-example weight (1−β)/(1−β^{n_y}), N draws:
  /// kaidic/LDAM-DRW `utils.py` `ImbalancedDatasetSampler` (β = 0.9999), the "Resample" rule
  /// (Cui et al., *Class-Balanced Loss Based on Effective Number of Samples*, CVPR 2019). Drawn as
  /// class ∝ n_c·w_c, then an example uniformly, which is the same distribution.
  case effectiveNumber(beta: Double)
  /// Class probability ∝ the given per-class weight (≥ 0, one per class), then an example uniformly:
  /// a sampler whose class distribution a method sets per epoch (CDB-S, q_c ∝ d_c^τ).
  case classWeights([Double])
}

/// Epoch orders: positions `0..<N` of a training set, drawn from a key per epoch.
///
/// `order(epoch:key:)` uses `key.fold(epoch)` only, so an epoch's order does not depend on which
/// epochs were drawn before it. Re-sampling schemes return N positions with repetitions (N = the
/// number of examples unless `samplesPerEpoch` says otherwise); ``SamplingScheme/uniformShuffle``
/// returns a permutation.
public struct EpochSampler: Sendable {
  /// The scheme.
  public let scheme: SamplingScheme
  /// Positions per epoch.
  public let samplesPerEpoch: Int
  /// Positions of each class.
  private let members: [[Int]]
  /// Cumulative class probabilities (last = 1) for the re-sampling schemes.
  private let cumulative: [Double]
  private let count: Int

  /// A sampler over examples with training labels `labels` in `0..<classes`.
  ///
  /// - Throws: ``DatasetError`` `invalidSetting` for no examples, a label out of range, β outside
  ///   [0, 1) or a non-finite power.
  public init(labels: [Int], classes: Int, scheme: SamplingScheme, samplesPerEpoch: Int? = nil) throws {
    guard !labels.isEmpty, labels.allSatisfy({ $0 >= 0 && $0 < classes }) else {
      throw DatasetError(
        .invalidSetting, file: "train.sampler", "\(labels.count) labels for \(classes) classes",
        expected: "a non-empty training set with labels in 0..<\(classes)")
    }
    let members = ClassCounts.positions(labels, classes: classes)
    let n = members.map { Double($0.count) }
    var weights: [Double]
    switch scheme {
    case .uniformShuffle: weights = n
    case .classBalanced: weights = n.map { $0 > 0 ? 1 : 0 }
    case .squareRoot: weights = n.map { $0.squareRoot() }
    case .classPower(let q):
      guard q.isFinite else {
        throw DatasetError(.invalidSetting, file: "train.sampler.power", "\(q)", expected: "a finite power")
      }
      weights = n.map { $0 > 0 ? pow64($0, q) : 0 }
    case .effectiveNumber(let beta):
      guard beta >= 0, beta < 1 else {
        throw DatasetError(.invalidSetting, file: "train.sampler.beta", "\(beta)", expected: "β in [0, 1)")
      }
      weights = n.map { $0 > 0 ? $0 * (1 - beta) / (1 - pow64(beta, $0)) : 0 }
    case .classWeights(let given):
      guard given.count == classes, given.allSatisfy({ $0 >= 0 && $0.isFinite }),
        zip(given, n).contains(where: { $0 > 0 && $1 > 0 })
      else {
        throw DatasetError(
          .invalidSetting, file: "train.sampler.weights", "\(given)",
          expected: "\(classes) finite weights ≥ 0, positive for some non-empty class")
      }
      weights = zip(given, n).map { $1 > 0 ? $0 : 0 }
    }
    let total = weights.reduce(0, +)
    var running = 0.0
    cumulative = weights.map {
      running += $0
      return running / total
    }
    self.members = members
    self.scheme = scheme
    self.count = labels.count
    self.samplesPerEpoch = samplesPerEpoch ?? labels.count
  }

  /// The class-sampling probabilities (for the re-sampling schemes; the class frequencies for the
  /// uniform shuffle).
  public var classProbabilities: [Double] {
    cumulative.indices.map { $0 == 0 ? cumulative[0] : cumulative[$0] - cumulative[$0 - 1] }
  }

  /// The positions of epoch `epoch`, drawn from `key.fold(epoch)`.
  public func order(epoch: Int, key: RandomKey) -> [Int] {
    var stream = key.fold(epoch).stream()
    if scheme == .uniformShuffle { return stream.permutation(count) }
    var out = [Int]()
    out.reserveCapacity(samplesPerEpoch)
    for _ in 0..<samplesPerEpoch {
      let u = stream.nextDouble()
      var lo = 0
      var hi = cumulative.count - 1
      while lo < hi {
        let mid = (lo + hi) / 2
        if cumulative[mid] > u { hi = mid } else { lo = mid + 1 }
      }
      while members[lo].isEmpty { lo -= 1 }  // rounding at the top end can land past the last class
      out.append(members[lo][stream.nextInt(below: members[lo].count)])
    }
    return out
  }
}
