import Engine
import Testing

@testable import Datasets

@Suite("Validation splits, caps, class counts")
struct DatasetsSplitTests {
  static func subset(_ labels: [Int], classes: Int = 10) throws -> LabeledSubset {
    LabeledSubset(
      try ImageSet(
        height: 1, width: 1, channels: 1, classes: classes, pixels: .init(repeating: 0, count: labels.count),
        labels: labels))
  }

  @Test("hold-out: k per class, disjoint, covering, order kept", arguments: Splits.ValidationSelection.allCases)
  func holdOut(selection: Splits.ValidationSelection) throws {
    let labels = (0..<500).map { ($0 * 7 + $0 / 50) % 10 }
    let set = try Self.subset(labels)
    let (train, validation) = try Splits.holdOut(set, perClass: 5, selection: selection, key: RandomKey(seed: 3))
    #expect(ClassCounts.of(validation.labels, classes: 10) == Array(repeating: 5, count: 10))
    #expect(train.count == 450)
    #expect(Set(train.indices).isDisjoint(with: validation.indices))
    #expect(Set(train.indices + validation.indices) == Set(0..<500))
    #expect(train.indices == train.indices.sorted() && validation.indices == validation.indices.sorted())
    if selection == .lastInOrder {
      for c in 0..<10 {
        let members = (0..<500).filter { labels[$0] == c }
        #expect(validation.indices.filter { labels[$0] == c } == Array(members.suffix(5)))
      }
    }
    #expect(throws: DatasetError.self) { try Splits.holdOut(set, perClass: 50, key: RandomKey(seed: 3)) }
  }

  @Test("proportional quotas sum to the cap and keep at least one per class")
  func quotas() {
    let counts = [6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60]
    let q = Splits.proportionalQuotas(counts, total: 2000)
    #expect(q.reduce(0, +) == 2000)
    for c in counts.indices { #expect(abs(Double(q[c]) - 2000 * Double(counts[c]) / 14886) < 1, "class \(c)") }
    #expect(Splits.proportionalQuotas([1000, 1, 1], total: 10) == [8, 1, 1])
    #expect(Splits.proportionalQuotas([5, 5], total: 20) == [5, 5])
    #expect(Splits.proportionalQuotas([3, 3, 3], total: 2) == [1, 1, 0])
  }

  @Test("stratified cap keeps proportions, order and is deterministic")
  func cap() throws {
    let labels = (0..<1000).map { $0 % 4 == 0 ? 1 : 0 }
    let set = try Self.subset(labels, classes: 2)
    let capped = Splits.stratifiedCap(set, maxCount: 100, key: RandomKey(seed: 1))
    #expect(ClassCounts.of(capped.labels, classes: 2) == [75, 25])
    #expect(capped.indices == capped.indices.sorted())
    #expect(capped == Splits.stratifiedCap(set, maxCount: 100, key: RandomKey(seed: 1)))
    #expect(capped.indices != Splits.stratifiedCap(set, maxCount: 100, key: RandomKey(seed: 2)).indices)
    #expect(Splits.stratifiedCap(set, maxCount: 5000, key: RandomKey(seed: 1)) == set)
  }

  @Test("class counts and many/medium/few groups")
  func shots() {
    #expect(ClassCounts.of([0, 2, 2, 1, 2], classes: 4) == [1, 1, 3, 0])
    let standard = ShotThresholds.standard
    #expect(standard.groups([500, 101, 100, 20, 19, 5]) == [.many, .many, .medium, .medium, .few, .few])
    let fashion = ShotThresholds.scaled(toMaxCount: 6000)
    #expect(fashion == ShotThresholds(many: 1200, few: 240))
    #expect(
      fashion.groups([6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60])
        == [.many, .many, .many, .many, .medium, .medium, .medium, .few, .few, .few])
  }
}
