import Engine
import Testing

@testable import Datasets

@Suite("Data preparation pipeline")
struct DatasetsPreparationTests {
  /// 600 training images (60 per class, label(i) = (7i + i/10) mod 10) and 100 test images, IDX layout.
  static func splits() throws -> (TemporaryDirectory, DatasetSplits) {
    let dir = try TemporaryDirectory()
    try Fixtures.writeIDXDataset(
      in: dir.path, train: (0..<600).map { (7 * $0 + $0 / 10) % 10 }, test: (0..<100).map { $0 % 10 }, gzipped: true)
    return (dir, try DatasetCatalog.load("fashion-mnist", dataDir: dir.path, checkOfficialCounts: false))
  }

  static let recipe = DataRecipe(
    seed: 3, validationPerClass: 5, imbalance: .profile(.exponential, ratio: 10),
    noise: .init(kind: .symmetric, rate: 0.2), maxTrain: 100, maxTest: 50)

  @Test("validation → long-tailed subset → cap → noise, as documented")
  func pipeline() throws {
    let (_, splits) = try Self.splits()
    let data = try DataPreparation.prepare(splits, recipe: Self.recipe)
    // Validation: 5 per class, clean, disjoint from the training examples.
    #expect(ClassCounts.of(data.validation.labels, classes: 10) == Array(repeating: 5, count: 10))
    #expect(data.validation.noiseRate == 0)
    let subset = try #require(data.subsetIndices)
    #expect(Set(subset).isDisjoint(with: data.validation.indices))
    // Long-tailed counts from the 550 remaining (img_max = 55).
    let counts = try LongTail.counts(profile: .exponential, ratio: 10, classes: 10, totalCount: 550)
    #expect(data.subsetCounts == counts)
    #expect(subset.count == counts.reduce(0, +))
    #expect(ClassCounts.of(subset.map { splits.train.labels[$0] }, classes: 10) == counts)
    // The cap keeps proportions and draws from the subset only.
    #expect(data.train.count == 100)
    #expect(Set(data.train.indices).isSubset(of: subset))
    #expect(ClassCounts.of(data.train.trueLabels, classes: 10) == Splits.proportionalQuotas(counts, total: 100))
    // Noise on the capped set: ⌊0.2·n_c⌋ per class.
    let flips = Splits.proportionalQuotas(counts, total: 100).map { Int(0.2 * Double($0)) }.reduce(0, +)
    #expect(data.train.noisyPositions.count == flips)
    #expect(data.trainCounts == ClassCounts.of(data.train.labels, classes: 10))
    #expect(data.test.count == 50 && ClassCounts.of(data.test.labels, classes: 10) == Array(repeating: 5, count: 10))
  }

  @Test("without validation the subset is the official code's on the full training set")
  func plainSubset() throws {
    let (_, splits) = try Self.splits()
    let data = try DataPreparation.prepare(
      splits, recipe: DataRecipe(seed: 4, imbalance: .profile(.step, ratio: 5)))
    let counts = try LongTail.counts(profile: .step, ratio: 5, classes: 10, totalCount: 600)
    #expect(data.subsetIndices == (try LongTail.subset(labels: splits.train.labels, counts: counts, seed: 4)))
    #expect(data.train.indices == data.subsetIndices)
    #expect(data.validation.count == 0)
    #expect(data.test.count == 100)
    let plain = try DataPreparation.prepare(splits, recipe: DataRecipe())
    #expect(plain.subsetIndices == nil && plain.train.indices == Array(0..<600))
  }

  @Test("a two-class task with explicit counts (L2RW-style): classes kept, relabelled, counted")
  func binaryTask() throws {
    let (_, splits) = try Self.splits()
    let recipe = DataRecipe(seed: 1, classes: [4, 2], validationPerClass: 5, imbalance: .counts([40, 3]))
    let data = try DataPreparation.prepare(splits, recipe: recipe)
    #expect(data.train.classes == 2 && data.test.classes == 2 && data.validation.classes == 2)
    #expect(data.subsetCounts == [40, 3] && data.trainTrueCounts == [40, 3] && data.trainCounts == [40, 3])
    #expect(ClassCounts.of(data.validation.labels, classes: 2) == [5, 5])
    // Class 4 → 0, class 2 → 1, for train, validation and test alike.
    for part in [data.train, data.validation, data.test] {
      for (k, row) in part.indices.enumerated() {
        let original = (part == data.test ? splits.test : splits.train).labels[row]
        #expect(original == [4, 2][part.labels[k]])
      }
    }
    #expect(data.test.count == 20)
    #expect(throws: DatasetError.self) {
      try DataPreparation.prepare(splits, recipe: DataRecipe(classes: [4, 2], imbalance: .counts([1, 2, 3])))
    }
    #expect(throws: DatasetError.self) { try LabeledSubset(splits.train).restrictingClasses([3, 3]) }
    #expect(throws: DatasetError.self) { try LabeledSubset(splits.train).restrictingClasses([3, 10]) }
    let noisy = try LabelNoise.apply(
      .init(kind: .symmetric, rate: 0.5), to: LabeledSubset(splits.train), key: RandomKey(seed: 1))
    #expect(throws: DatasetError.self) { try noisy.restrictingClasses([0, 1]) }
  }

  @Test("same seed → same data; another seed → other data")
  func determinism() throws {
    let (_, splits) = try Self.splits()
    let a = try DataPreparation.prepare(splits, recipe: Self.recipe)
    let b = try DataPreparation.prepare(splits, recipe: Self.recipe)
    #expect(
      a.train == b.train && a.validation == b.validation && a.test == b.test && a.subsetIndices == b.subsetIndices)
    var other = Self.recipe
    other.seed = 4
    let c = try DataPreparation.prepare(splits, recipe: other)
    #expect(c.subsetIndices != a.subsetIndices)
    #expect(c.validation.indices != a.validation.indices)
    // Batches and epoch orders from the same keys agree too.
    let filler = try BatchFiller(
      set: a.train, normalization: Normalization.statistics(of: splits.train), augmentation: .cifar)
    let sampler = try EpochSampler(labels: a.train.labels, classes: 10, scheme: .squareRoot)
    let order = sampler.order(epoch: 2, key: RandomKey(seed: 8))
    #expect(order == sampler.order(epoch: 2, key: RandomKey(seed: 8)))
    let x = Tensor(shape: [1])
    let y = Tensor(shape: [1])
    var lx: [Int] = []
    var ly: [Int] = []
    var sx = RandomKey(seed: 8).split("augment").stream()
    var sy = sx
    filler.fill(order[0..<16], images: x, labels: &lx, stream: &sx)
    filler.fill(order[0..<16], images: y, labels: &ly, stream: &sy)
    #expect(x.toArray() == y.toArray() && lx == ly)
  }

  @Test("settings that do not fit are errors")
  func errors() throws {
    let (_, splits) = try Self.splits()
    for recipe in [
      DataRecipe(seed: -1), DataRecipe(seed: 1 << 33), DataRecipe(validationPerClass: 60), DataRecipe(maxTrain: 0),
      DataRecipe(maxTest: -3), DataRecipe(imbalance: .profile(.exponential, ratio: 0.1)),
      DataRecipe(noise: .init(kind: .asymmetric(AsymmetricMap([.init(3, 3)])), rate: 0.1)),
    ] {
      #expect(throws: DatasetError.self, "\(recipe)") { try DataPreparation.prepare(splits, recipe: recipe) }
    }
  }
}
