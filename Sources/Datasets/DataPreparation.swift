import Engine

/// The dataset part of a job: which subset, noise and splits, all from one dataset seed.
public struct DataRecipe: Sendable, Equatable {
  /// Per-class counts of the training subset, drawn by the official code's procedure
  /// (``LongTail/subset(labels:counts:seed:)``).
  public enum Imbalance: Sendable, Equatable {
    /// A long-tailed profile and ratio ρ = n_max / n_min ≥ 1 (``LongTail/counts(profile:ratio:classes:totalCount:)``).
    case profile(ImbalanceProfile, ratio: Double)
    /// Explicit per-class counts (e.g. L2RW's 4-vs-9 counts), one per class.
    case counts([Int])

    /// ``profile(_:ratio:)``.
    public init(profile: ImbalanceProfile, ratio: Double) { self = .profile(profile, ratio: ratio) }
  }

  /// The dataset seed (the official codes' `rand_number`, default 0); it alone fixes the subset, the
  /// noise and the splits, so every method of a table sees the same data. Must be in `0..<2³²`.
  public var seed: Int
  /// Examples per class held out from the training set as a clean, balanced validation split (0: none).
  public var validationPerClass: Int
  /// How the validation examples are chosen.
  public var validationSelection: Splits.ValidationSelection
  /// Which examples of each class the long-tailed subset keeps.
  public var imbalanceSelection: LongTailSelection
  /// The original classes to keep, relabelled `0..<k` in this order (`nil`: all); applied first, to
  /// the training and test sets (``LabeledSubset/restrictingClasses(_:)``).
  public var classes: [Int]?
  /// The long-tailed profile or explicit counts, or `nil` for the full training set.
  public var imbalance: Imbalance?
  /// Injected label noise, or `nil`. A ``LabelNoise/Generator/numpyLegacy(seed:)`` seed is used as
  /// given (ABSGD's default is 123); pass ``seed`` there for "from the dataset seed".
  public var noise: LabelNoise.Spec?
  /// Stratified cap of the training set (smoke runs), applied after the long-tailed subset and before
  /// the noise.
  public var maxTrain: Int?
  /// Stratified cap of the test set (smoke runs).
  public var maxTest: Int?

  /// A recipe; every part defaults to "off".
  public init(
    seed: Int = 0, classes: [Int]? = nil, validationPerClass: Int = 0,
    validationSelection: Splits.ValidationSelection = .random, imbalance: Imbalance? = nil,
    imbalanceSelection: LongTailSelection = .shuffled, noise: LabelNoise.Spec? = nil, maxTrain: Int? = nil,
    maxTest: Int? = nil
  ) {
    self.seed = seed
    self.classes = classes
    self.validationPerClass = validationPerClass
    self.validationSelection = validationSelection
    self.imbalanceSelection = imbalanceSelection
    self.imbalance = imbalance
    self.noise = noise
    self.maxTrain = maxTrain
    self.maxTest = maxTest
  }
}

/// The data a job trains and evaluates on.
public struct PreparedData: Sendable {
  /// The dataset name.
  public let name: String
  /// The training examples (noisy labels in `labels`, clean ones in `trueLabels`). Long-tailed
  /// training sets are class-major in the official code's order.
  public let train: LabeledSubset
  /// The held-out validation examples (empty when the recipe asks for none); clean labels.
  public let validation: LabeledSubset
  /// The test examples, clean labels, file order (or a stratified cap of them).
  public let test: LabeledSubset
  /// The long-tailed subset as rows of the official training file, class-major, before any cap: the
  /// list whose ``Fingerprint/int64LittleEndianBytes(_:)`` SHA-256 is the subset fingerprint; `nil`
  /// without an imbalance profile.
  public let subsetIndices: [Int]?
  /// The per-class counts of the long-tailed subset (`get_img_num_per_cls`), `nil` without one.
  public let subsetCounts: [Int]?
  /// Per-class counts of the training labels as trained on (after cap and noise).
  public var trainCounts: [Int] { ClassCounts.of(train.labels, classes: train.classes) }
  /// Per-class counts of the training set's true labels (what the many/medium/few split uses).
  public var trainTrueCounts: [Int] { ClassCounts.of(train.trueLabels, classes: train.classes) }
  /// The realised noise rate of the training set (0 without noise).
  public var realisedNoiseRate: Double { train.noiseRate }
}

/// Turns official splits and a ``DataRecipe`` into a job's data.
///
/// Order: (0) ``DataRecipe/classes`` restricts and relabels the classes; (1) the validation split is taken from the full official training set (before the long-tailed
/// subset, as CDB's carve-out; with `validationPerClass == 0` the long-tailed subset is exactly the
/// official code's); (2) the long-tailed subset of the remaining examples (``LongTail``: numpy legacy
/// generator seeded with the dataset seed, or the first n_c of each class in order; `img_max` = remaining/C); (3) the `maxTrain` cap; (4) label
/// noise on the resulting training set; `maxTest` caps the test set. Counter-based draws use keys split
/// from `RandomKey(seed: seed).split("dataset")`: `validation`, `max-train`, `max-test`, `label-noise`.
public enum DataPreparation {
  /// The version of the data pipeline (readers, long-tailed subsampling, label noise, splits, augmentation,
  /// normalisation): part of every job id. Bump it whenever a change can move which examples a job sees
  /// or their values.
  public static let version = 1

  /// The key every counter-based dataset draw derives from.
  public static func key(seed: Int) -> RandomKey {
    RandomKey(seed: UInt64(bitPattern: Int64(seed))).split("dataset")
  }

  /// Prepares the data of one job.
  ///
  /// - Throws: ``DatasetError`` `invalidSetting` for settings that do not fit the data.
  public static func prepare(_ splits: DatasetSplits, recipe: DataRecipe) throws -> PreparedData {
    guard recipe.seed >= 0, recipe.seed <= Int(UInt32.max) else {
      throw DatasetError(
        .invalidSetting, file: "dataset.seed", "\(recipe.seed)", expected: "an integer in 0...\(UInt32.max)")
    }
    let base = key(seed: recipe.seed)
    var full = LabeledSubset(splits.train)
    var test = LabeledSubset(splits.test)
    if let kept = recipe.classes {
      full = try full.restrictingClasses(kept)
      test = try test.restrictingClasses(kept)
    }
    let split = try Splits.holdOut(
      full, perClass: recipe.validationPerClass, selection: recipe.validationSelection,
      key: base.split("validation"))
    var train = split.train
    var subsetIndices: [Int]? = nil
    var subsetCounts: [Int]? = nil
    if let imbalance = recipe.imbalance {
      let counts: [Int]
      switch imbalance {
      case .profile(let profile, let ratio):
        counts = try LongTail.counts(profile: profile, ratio: ratio, classes: train.classes, totalCount: train.count)
      case .counts(let explicit):
        guard explicit.count == train.classes else {
          throw DatasetError(
            .invalidSetting, file: "dataset.imbalance.counts", "\(explicit.count) counts",
            expected: "one count per class (\(train.classes))")
        }
        counts = explicit
      }
      let kept =
        switch recipe.imbalanceSelection {
        case .shuffled: try LongTail.subset(labels: train.labels, counts: counts, seed: recipe.seed)
        case .first: try LongTail.firstInOrder(labels: train.labels, counts: counts)
        }
      train = train.selecting(kept)
      subsetIndices = train.indices
      subsetCounts = counts
    }
    if let cap = recipe.maxTrain {
      guard cap > 0 else {
        throw DatasetError(.invalidSetting, file: "dataset.max_train", "\(cap)", expected: "a positive count")
      }
      train = Splits.stratifiedCap(train, maxCount: cap, key: base.split("max-train"))
    }
    if let noise = recipe.noise {
      train = try LabelNoise.apply(noise, to: train, key: base.split("label-noise"))
    }
    if let cap = recipe.maxTest {
      guard cap > 0 else {
        throw DatasetError(.invalidSetting, file: "dataset.max_test", "\(cap)", expected: "a positive count")
      }
      test = Splits.stratifiedCap(test, maxCount: cap, key: base.split("max-test"))
    }
    return PreparedData(
      name: splits.name, train: train, validation: split.validation, test: test, subsetIndices: subsetIndices,
      subsetCounts: subsetCounts)
  }
}
