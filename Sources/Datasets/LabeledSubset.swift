/// Examples drawn from an ``ImageSet``, with the labels training sees and the true labels.
///
/// `indices[k]` is the row in `images` of example `k` (a *position*); `labels[k]` is its training
/// label (noisy when label noise was injected) and `trueLabels[k]` its clean label. Batches, samplers
/// and splits all speak in positions `0..<count`. The pixels are shared with `images`, never copied.
public struct LabeledSubset: Sendable, Equatable {
  /// The image store the indices point into.
  public let images: ImageSet
  /// Rows of `images`, one per example, in this subset's order.
  public private(set) var indices: [Int]
  /// The labels training uses (noisy after ``LabelNoise/apply(_:to:key:)``).
  public internal(set) var labels: [Int]
  /// The clean labels.
  public private(set) var trueLabels: [Int]

  /// The number of examples.
  public var count: Int { indices.count }
  /// The number of classes (the image set's, or fewer after ``restrictingClasses(_:)``).
  public private(set) var classes: Int

  /// Every image of `images`, in file order, with clean labels.
  public init(_ images: ImageSet) {
    self.images = images
    indices = Array(0..<images.count)
    labels = images.labels
    trueLabels = images.labels
    classes = images.classes
  }

  /// The images at `indices` (rows of `images`), with clean labels.
  public init(_ images: ImageSet, indices: [Int]) {
    precondition(indices.allSatisfy { $0 >= 0 && $0 < images.count }, "index outside the image set")
    self.images = images
    self.indices = indices
    labels = indices.map { images.labels[$0] }
    trueLabels = labels
    classes = images.classes
  }

  /// The examples at `positions` (positions in this subset, any order), keeping their labels.
  public func selecting(_ positions: [Int]) -> LabeledSubset {
    var copy = self
    copy.indices = positions.map { indices[$0] }
    copy.labels = positions.map { labels[$0] }
    copy.trueLabels = positions.map { trueLabels[$0] }
    return copy
  }

  /// The examples whose true class is in `kept`, relabelled `kept[0] → 0`, `kept[1] → 1`, … (a
  /// binary task from two classes, e.g. L2RW's Pullover-vs-Coat or α-loss's T-shirt-vs-Shirt), in this
  /// subset's order; ``classes`` becomes `kept.count`.
  ///
  /// - Throws: ``DatasetError`` `invalidSetting` if `kept` has fewer than 2 classes, repeats one, names
  ///   one outside `0..<classes`, or a kept example's training label (after noise) is not kept.
  public func restrictingClasses(_ kept: [Int]) throws -> LabeledSubset {
    guard kept.count >= 2, Set(kept).count == kept.count, kept.allSatisfy({ $0 >= 0 && $0 < classes }) else {
      throw DatasetError(
        .invalidSetting, file: "dataset.classes", "classes \(kept)",
        expected: "at least 2 distinct classes in 0..<\(classes)")
    }
    var newLabel = [Int](repeating: -1, count: classes)
    for (k, c) in kept.enumerated() { newLabel[c] = k }
    let positions = (0..<count).filter { newLabel[trueLabels[$0]] >= 0 }
    var out = selecting(positions)
    out.trueLabels = out.trueLabels.map { newLabel[$0] }
    out.labels = try out.labels.map {
      guard newLabel[$0] >= 0 else {
        throw DatasetError(
          .invalidSetting, file: "dataset.classes", "a training label \($0) outside the kept classes \(kept)",
          expected: "classes restricted before noise is injected")
      }
      return newLabel[$0]
    }
    out.classes = kept.count
    return out
  }

  /// The positions whose training label differs from the true label.
  public var noisyPositions: [Int] { (0..<count).filter { labels[$0] != trueLabels[$0] } }

  /// The fraction of examples whose training label differs from the true label (0 for an empty set).
  public var noiseRate: Double { count == 0 ? 0 : Double(noisyPositions.count) / Double(count) }
}

/// Per-class counts and the many/medium/few-shot split used by the long-tailed papers.
public enum ClassCounts {
  /// How many of `labels` fall in each class `0..<classes` (labels outside are ignored).
  public static func of(_ labels: [Int], classes: Int) -> [Int] {
    var counts = [Int](repeating: 0, count: classes)
    for label in labels where label >= 0 && label < classes { counts[label] += 1 }
    return counts
  }

  /// The positions of each class, ascending, from `labels`.
  static func positions(_ labels: [Int], classes: Int) -> [[Int]] {
    var out = [[Int]](repeating: [], count: classes)
    for (k, label) in labels.enumerated() { out[label].append(k) }
    return out
  }
}

/// A class's shot group by its training count.
public enum ShotGroup: String, Sendable, Codable, CaseIterable {
  /// More than ``ShotThresholds/many`` training examples.
  case many
  /// From ``ShotThresholds/few`` to ``ShotThresholds/many`` training examples, inclusive.
  case medium
  /// Fewer than ``ShotThresholds/few`` training examples.
  case few
}

/// Thresholds of the many/medium/few-shot split: many-shot n > `many`, medium-shot `few` ≤ n ≤ `many`,
/// few-shot n < `few`.
///
/// **References:** Liu et al., *Large-Scale Long-Tailed Recognition in an Open World* (OLTR), CVPR
/// 2019: many > 100, medium 20–100, few < 20, defined for ImageNet-LT and used on CIFAR-100-LT, whose
/// largest class has 500 images; ``scaled(toMaxCount:referenceMaxCount:)`` keeps the same fractions of
/// the largest class for other datasets (Fashion-MNIST, n_max = 6,000: 1,200 and 240).
public struct ShotThresholds: Sendable, Equatable, Codable {
  /// A class with more than this many training examples is many-shot.
  public var many: Int
  /// A class with fewer than this many training examples is few-shot.
  public var few: Int

  /// Thresholds `many` and `few` (`few ≤ many`).
  public init(many: Int, few: Int) {
    self.many = many
    self.few = few
  }

  /// 100 and 20, as the long-tailed papers.
  public static let standard = ShotThresholds(many: 100, few: 20)

  /// The standard thresholds times `maxCount / referenceMaxCount` (integer division after the
  /// multiplication), for a dataset whose largest class has `maxCount` images.
  public static func scaled(toMaxCount maxCount: Int, referenceMaxCount: Int = 500) -> ShotThresholds {
    ShotThresholds(many: 100 * maxCount / referenceMaxCount, few: 20 * maxCount / referenceMaxCount)
  }

  /// The group of a class with `count` training examples.
  public func group(_ count: Int) -> ShotGroup {
    count > many ? .many : (count < few ? .few : .medium)
  }

  /// The group of every class, from per-class training counts.
  public func groups(_ counts: [Int]) -> [ShotGroup] { counts.map(group) }
}
