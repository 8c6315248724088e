import Engine

/// How class sizes fall off in a long-tailed subset.
public enum ImbalanceProfile: String, Sendable, Codable, CaseIterable {
  /// n_i = int(n_max · (1/ρ)^(i/(C−1))): class 0 keeps n_max, class C−1 keeps n_max/ρ.
  case exponential
  /// The first ⌊C/2⌋ classes keep int(n_max), the others int(n_max/ρ).
  case step
}

/// Which examples of each class a long-tailed subset keeps.
public enum LongTailSelection: String, Sendable, Codable, CaseIterable {
  /// Each class's examples shuffled by numpy's legacy generator from the dataset seed, the first n_c
  /// kept (kaidic/LDAM-DRW `gen_imbalanced_data`; ``LongTail/subset(labels:counts:seed:)``).
  case shuffled
  /// The first n_c examples of each class in the set's order, no randomness (hitachi-rd-cv/CDB-loss
  /// `CIFAR-LT/data/data_preprocessing.py` `create_imbalance`; ``LongTail/firstInOrder(labels:counts:)``).
  case first
}

/// Long-tailed subsets exactly as kaidic/LDAM-DRW draws them.
///
/// **References:** Cao et al., *Learning Imbalanced Datasets with Label-Distribution-Aware Margin
/// Loss*, NeurIPS 2019; official code kaidic/LDAM-DRW `imbalance_cifar.py` (`get_img_num_per_cls`,
/// `gen_imbalanced_data`), reused by UniMix, ABSGD, VS, CDB and LADC.
public enum LongTail {
  /// Per-class counts as `get_img_num_per_cls`, with `img_max = totalCount / classes` (a `Double`, as
  /// Python's `/`) and `imb_factor = 1/ratio`; truncation toward zero as Python's `int()`.
  ///
  /// For an odd number of classes the step profile gives the last ⌈C/2⌉ classes the small count (the
  /// official code would produce only C−1 counts and silently drop the last class).
  ///
  /// - Throws: ``DatasetError`` `invalidSetting` unless `ratio ≥ 1` is finite and `classes ≥ 2`.
  public static func counts(profile: ImbalanceProfile, ratio: Double, classes: Int, totalCount: Int) throws -> [Int] {
    guard ratio.isFinite, ratio >= 1 else {
      throw DatasetError(
        .invalidSetting, file: "dataset.imbalance.ratio", "ratio \(ratio)", expected: "a finite ratio ≥ 1")
    }
    guard classes >= 2 else {
      throw DatasetError(
        .invalidSetting, file: "dataset.imbalance", "\(classes) classes", expected: "at least 2 classes")
    }
    let imgMax = Double(totalCount) / Double(classes)
    let factor = 1.0 / ratio
    switch profile {
    case .exponential:
      return (0..<classes).map { i in
        Int(imgMax * pow64(factor, Double(i) / (Double(classes) - 1.0)))
      }
    case .step:
      let head = classes / 2
      return (0..<classes).map { $0 < head ? Int(imgMax) : Int(imgMax * factor) }
    }
  }

  /// The subset of `gen_imbalanced_data`: one numpy legacy `RandomState` seeded with `seed`
  /// (`np.random.seed(rand_number)`); for class c = 0…C−1 in order, the ascending positions with label
  /// c are shuffled in place by the legacy shuffle and the first `counts[c]` kept.
  ///
  /// - Parameters:
  ///   - labels: the labels of the set to subsample, in its order.
  ///   - counts: per-class counts (``counts(profile:ratio:classes:totalCount:)``).
  ///   - seed: the dataset seed (`rand_number`, default 0 upstream), in `0..<2³²`.
  /// - Returns: the kept positions, class-major (class 0's first), each class in shuffled order.
  /// - Throws: ``DatasetError`` `invalidSetting` if a label has no count, a class has fewer examples than its count (the
  ///   official code would silently keep fewer images while recording the full count) or the seed is
  ///   outside numpy's range.
  public static func subset(labels: [Int], counts: [Int], seed: Int) throws -> [Int] {
    var generator = try NumpyRandomState(checkedSeed: seed, setting: "dataset.seed")
    if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= counts.count }) {
      throw DatasetError(
        .invalidSetting, file: "dataset.imbalance", "label \(labels[bad]) at position \(bad)",
        expected: "labels in 0..<\(counts.count), one count per class")
    }
    let byClass = ClassCounts.positions(labels, classes: counts.count)
    var kept: [Int] = []
    kept.reserveCapacity(counts.reduce(0, +))
    for (c, count) in counts.enumerated() {
      var members = byClass[c]
      guard count >= 0, count <= members.count else {
        throw DatasetError(
          .invalidSetting, file: "dataset.imbalance",
          "class \(c) needs \(count) examples but the training set has \(members.count)",
          expected: "per-class counts within the available examples")
      }
      generator.shuffle(&members)
      kept.append(contentsOf: members.prefix(count))
    }
    return kept
  }
}

extension LongTail {
  /// The subset of CDB's `create_imbalance`: for class c = 0…C−1 in order, the first `counts[c]`
  /// positions with label c in the set's order (`np.where(labels == c)[0][:n_c]`). Deterministic.
  ///
  /// - Returns: the kept positions, class-major, each class ascending.
  /// - Throws: ``DatasetError`` `invalidSetting` as ``subset(labels:counts:seed:)`` (a label without a
  ///   count, a class smaller than its count).
  public static func firstInOrder(labels: [Int], counts: [Int]) throws -> [Int] {
    if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= counts.count }) {
      throw DatasetError(
        .invalidSetting, file: "dataset.imbalance", "label \(labels[bad]) at position \(bad)",
        expected: "labels in 0..<\(counts.count), one count per class")
    }
    var kept: [Int] = []
    for (c, members) in ClassCounts.positions(labels, classes: counts.count).enumerated() {
      guard counts[c] >= 0, counts[c] <= members.count else {
        throw DatasetError(
          .invalidSetting, file: "dataset.imbalance",
          "class \(c) needs \(counts[c]) examples but the training set has \(members.count)",
          expected: "per-class counts within the available examples")
      }
      kept.append(contentsOf: members.prefix(counts[c]))
    }
    return kept
  }
}

/// Bytes for content fingerprints.
public enum Fingerprint {
  /// Each value as a little-endian two's-complement Int64, concatenated: the byte string whose SHA-256
  /// is the subset fingerprint of issue 9 (`np.asarray(indices, dtype='<i8').tobytes()`).
  public static func int64LittleEndianBytes(_ values: [Int]) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(values.count * 8)
    for value in values {
      let bits = UInt64(bitPattern: Int64(value))
      for shift in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    }
    return out
  }
}
