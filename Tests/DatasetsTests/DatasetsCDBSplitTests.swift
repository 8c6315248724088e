import Engine
import Testing

@testable import Datasets

@Suite("CDB split")
struct DatasetsCDBSplitTests {
  @Test("first-in-order subset keeps the first n_c of each class, class-major")
  func firstInOrder() throws {
    let labels = [2, 0, 1, 0, 2, 0, 1, 2, 0]
    #expect(try LongTail.firstInOrder(labels: labels, counts: [3, 1, 2]) == [1, 3, 5, 2, 0, 4])
    #expect(throws: DatasetError.self) { try LongTail.firstInOrder(labels: labels, counts: [5, 1, 1]) }
    #expect(throws: DatasetError.self) { try LongTail.firstInOrder(labels: [3], counts: [1, 1]) }
  }

  @Test("CDB protocol: last k per class held out first, then the first n_c of the rest")
  func cdbProtocol() throws {
    let (_, splits) = try DatasetsPreparationTests.splits()
    let recipe = DataRecipe(
      seed: 0, validationPerClass: 5, validationSelection: .lastInOrder,
      imbalance: .profile(.exponential, ratio: 10), imbalanceSelection: .first)
    let data = try DataPreparation.prepare(splits, recipe: recipe)
    let labels = splits.train.labels
    let byClass = (0..<10).map { c in labels.indices.filter { labels[$0] == c } }
    // 60 per class: the validation split is each class's last 5 rows.
    #expect(Set(data.validation.indices) == Set(byClass.flatMap { $0.suffix(5) }))
    // n_c = int(55·0.1^(c/9)) of the remaining 550, the first of each class in file order.
    let counts = try LongTail.counts(profile: .exponential, ratio: 10, classes: 10, totalCount: 550)
    #expect(counts[0] == 55 && counts[9] == 5)
    #expect(data.train.indices == (0..<10).flatMap { Array(byClass[$0].prefix(counts[$0])) })
    #expect(data.subsetCounts == counts)
    // Deterministic: another dataset seed gives the same split.
    var other = recipe
    other.seed = 7
    #expect(try DataPreparation.prepare(splits, recipe: other).train.indices == data.train.indices)
  }

  /// shared/methods/cdb.md §3: CIFAR-100 with 25 held out per class leaves 475; totals per ratio, and the
  /// Fashion-MNIST default (5975 left per class).
  @Test("CDB's counts: CIFAR-100-LT totals and the Fashion-MNIST default", arguments: [
    (200.0, 9022, 2), (100, 10302, 4), (50, 11975, 9), (20, 15111, 23), (10, 18591, 47),
  ])
  func cdbCounts(ratio: Double, total: Int, smallest: Int) throws {
    let counts = try LongTail.counts(profile: .exponential, ratio: ratio, classes: 100, totalCount: 47_500)
    #expect(counts.reduce(0, +) == total && counts.first == 475 && counts.last == smallest)
    let fashion = try LongTail.counts(profile: .exponential, ratio: 100, classes: 10, totalCount: 59_750)
    #expect(fashion == [5975, 3581, 2147, 1287, 771, 462, 277, 166, 99, 59])
  }
}
