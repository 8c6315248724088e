import Engine

/// Held-out validation splits and stratified caps.
public enum Splits {
  /// Which examples of each class form the validation split.
  public enum ValidationSelection: String, Sendable, Codable, CaseIterable {
    /// `k` examples per class, uniformly without replacement, from the dataset seed's key.
    case random
    /// The last `k` examples of each class in the set's order (CDB's carve-out:
    /// `shared/methods/cdb.md` §split, "the last 25 training images in file order").
    case lastInOrder
  }

  /// Splits `set` into a training part and a class-balanced validation part of `perClass` examples
  /// per class.
  ///
  /// Both parts keep `set`'s order (the validation part therefore class-interleaved as in the file);
  /// labels are copied as they are, so taking the split before injecting noise gives a clean validation
  /// set (L2RW's clean meta set, CDB's and CALS's balanced validation splits).
  ///
  /// - Throws: ``DatasetError`` `invalidSetting` if a class has `perClass` examples or fewer (it would
  ///   vanish from training) or `perClass < 0`.
  public static func holdOut(
    _ set: LabeledSubset, perClass: Int, selection: ValidationSelection = .random, key: RandomKey
  ) throws -> (train: LabeledSubset, validation: LabeledSubset) {
    guard perClass >= 0 else {
      throw DatasetError(
        .invalidSetting, file: "dataset.validation_per_class", "\(perClass)", expected: "a count ≥ 0")
    }
    var stream = key.stream()
    var isValidation = [Bool](repeating: false, count: set.count)
    for (c, members) in ClassCounts.positions(set.labels, classes: set.classes).enumerated() {
      guard perClass == 0 || perClass < members.count else {
        throw DatasetError(
          .invalidSetting, file: "dataset.validation_per_class",
          "\(perClass) validation examples for class \(c), which has \(members.count)",
          expected: "fewer validation examples per class than the class holds")
      }
      let chosen: [Int]
      switch selection {
      case .random: chosen = LabelNoise.sample(members, count: perClass, stream: &stream)
      case .lastInOrder: chosen = Array(members.suffix(perClass))
      }
      for k in chosen { isValidation[k] = true }
    }
    let validation = set.count == 0 ? [] : (0..<set.count).filter { isValidation[$0] }
    let train = (0..<set.count).filter { !isValidation[$0] }
    return (set.selecting(train), set.selecting(validation))
  }

  /// Per-class quotas summing to `total` proportional to `counts` (largest remainder; ties to the lower
  /// class), with at least one per non-empty class when `total` allows it.
  public static func proportionalQuotas(_ counts: [Int], total: Int) -> [Int] {
    let n = counts.reduce(0, +)
    guard n > total else { return counts }
    var quotas = counts.map { $0 * total / n }
    let remainders = counts.map { $0 * total % n }
    var left = total - quotas.reduce(0, +)
    let order = counts.indices.sorted { remainders[$0] != remainders[$1] ? remainders[$0] > remainders[$1] : $0 < $1 }
    for c in order where left > 0 {
      quotas[c] += 1
      left -= 1
    }
    let present = counts.filter { $0 > 0 }.count
    if total >= present {
      for c in counts.indices where counts[c] > 0 && quotas[c] == 0 {
        // Take one from the class with the largest quota (lowest index on ties).
        if let donor = quotas.indices.max(by: { quotas[$0] != quotas[$1] ? quotas[$0] < quotas[$1] : $0 > $1 }),
          quotas[donor] > 1
        {
          quotas[donor] -= 1
          quotas[c] = 1
        }
      }
    }
    return quotas
  }

  /// At most `maxCount` examples of `set`, keeping per-class proportions of the true labels
  /// (``proportionalQuotas(_:total:)``); within a class the kept examples are drawn uniformly without
  /// replacement from `key`, and the result keeps `set`'s order. Returns `set` unchanged when it is not
  /// larger than `maxCount`.
  public static func stratifiedCap(_ set: LabeledSubset, maxCount: Int, key: RandomKey) -> LabeledSubset {
    guard set.count > maxCount else { return set }
    let byClass = ClassCounts.positions(set.trueLabels, classes: set.classes)
    let quotas = proportionalQuotas(byClass.map(\.count), total: max(maxCount, 0))
    var stream = key.stream()
    var keep = [Bool](repeating: false, count: set.count)
    for (c, members) in byClass.enumerated() {
      for k in LabelNoise.sample(members, count: quotas[c], stream: &stream) { keep[k] = true }
    }
    return set.selecting((0..<set.count).filter { keep[$0] })
  }
}
