import Engine
import Testing

@testable import Datasets

@Suite("Label noise")
struct DatasetsNoiseTests {
  /// N = 300, 30 per class: label(i) = (3i + i/10) mod 10.
  static let base = (0..<300).map { (3 * $0 + $0 / 10) % 10 }

  /// A subset with the given labels (1×1 images).
  static func subset(_ labels: [Int], classes: Int = 10) throws -> LabeledSubset {
    LabeledSubset(
      try ImageSet(
        height: 1, width: 1, channels: 1, classes: classes, pixels: .init(repeating: 0, count: labels.count),
        labels: labels))
  }

  static let key = RandomKey(seed: 11).split("label-noise")

  @Test("symmetric: exactly ⌊rate·n_c⌋ true flips per class", arguments: [0.0, 0.2, 0.4, 1.0])
  func symmetric(rate: Double) throws {
    // Imbalanced classes: 100, 51, 7, 3.
    let labels =
      Array(repeating: 0, count: 100) + Array(repeating: 1, count: 51) + Array(repeating: 2, count: 7)
      + Array(repeating: 3, count: 3)
    let noisy = try LabelNoise.apply(
      .init(kind: .symmetric, rate: rate), to: Self.subset(labels, classes: 4), key: Self.key)
    #expect(noisy.trueLabels == labels)
    for (c, n) in [100, 51, 7, 3].enumerated() {
      let flipped = noisy.noisyPositions.filter { labels[$0] == c }.count
      #expect(flipped == Int(rate * Double(n)), "class \(c)")
    }
    let expected = [100, 51, 7, 3].map { Int(rate * Double($0)) }.reduce(0, +)
    #expect(noisy.noisyPositions.count == expected)
    expectApproxRate(noisy.noiseRate, Double(expected) / 161)
  }

  private func expectApproxRate(_ a: Double, _ b: Double) { #expect(abs(a - b) < 1e-12) }

  @Test("symmetric: targets are spread over the other classes")
  func symmetricTargets() throws {
    let labels = (0..<10_000).map { $0 % 10 }
    let noisy = try LabelNoise.apply(.init(kind: .symmetric, rate: 0.5), to: Self.subset(labels), key: Self.key)
    var transitions = [[Int]](repeating: .init(repeating: 0, count: 10), count: 10)
    for k in noisy.noisyPositions { transitions[labels[k]][noisy.labels[k]] += 1 }
    for i in 0..<10 {
      #expect(transitions[i][i] == 0)
      #expect(transitions[i].reduce(0, +) == 500)
      // 500 flips over 9 targets: 55.6 expected each, sd ≈ 7.0; ±30 is > 4 sd.
      for j in 0..<10 where j != i { #expect(abs(transitions[i][j] - 56) <= 30, "\(i) → \(j): \(transitions[i][j])") }
    }
    expectApproxRate(noisy.noiseRate, 0.5)
  }

  @Test("asymmetric: exactly ⌊rate·n_s⌋ per source class, along the map only (cat ↔ dog from true labels)")
  func asymmetric() throws {
    let set = try Self.subset(Self.base)
    let noisy = try LabelNoise.apply(.init(kind: .asymmetric(.cifar10), rate: 0.4), to: set, key: Self.key)
    let map = Dictionary(uniqueKeysWithValues: AsymmetricMap.cifar10.pairs.map { ($0.source, $0.target) })
    for k in noisy.noisyPositions { #expect(map[Self.base[k]] == noisy.labels[k]) }
    for c in 0..<10 {
      let flipped = noisy.noisyPositions.filter { Self.base[$0] == c }.count
      #expect(flipped == (map[c] == nil ? 0 : 12), "class \(c)")
    }
    expectApproxRate(noisy.noiseRate, 60.0 / 300)
  }

  @Test("named maps are valid permutation-free class pairs")
  func maps() throws {
    for (name, map) in AsymmetricMap.named {
      let classes = name == "cifar100" ? 100 : 10
      #expect(throws: Never.self, "\(name)") { try map.validate(classes: classes) }
    }
    #expect(AsymmetricMap.cifar100.pairs[4] == .init(4, 0) && AsymmetricMap.cifar100.pairs[97] == .init(97, 98))
    #expect(throws: DatasetError.self) { try AsymmetricMap([.init(1, 1)]).validate(classes: 10) }
    #expect(throws: DatasetError.self) { try AsymmetricMap([.init(1, 2), .init(1, 3)]).validate(classes: 10) }
    #expect(throws: DatasetError.self) { try AsymmetricMap([.init(1, 10)]).validate(classes: 10) }
  }

  @Test("uniform replacement: wrong-label rate ≈ rate·(C−1)/C")
  func uniform() throws {
    let labels = (0..<20_000).map { $0 % 10 }
    let noisy = try LabelNoise.apply(.init(kind: .uniform, rate: 0.5), to: Self.subset(labels), key: Self.key)
    // Expected 0.45, sd ≈ 0.0035: a 0.02 band is more than 5 sd.
    #expect(abs(noisy.noiseRate - 0.45) < 0.02, "\(noisy.noiseRate)")
  }

  @Test("the same key gives the same noise, another key other noise")
  func determinism() throws {
    let set = try Self.subset(Self.base)
    for kind: LabelNoise.Kind in [.symmetric, .asymmetric(.cifar10), .uniform] {
      let a = try LabelNoise.apply(.init(kind: kind, rate: 0.4), to: set, key: Self.key)
      let b = try LabelNoise.apply(.init(kind: kind, rate: 0.4), to: set, key: Self.key)
      let c = try LabelNoise.apply(.init(kind: kind, rate: 0.4), to: set, key: RandomKey(seed: 12).split("label-noise"))
      #expect(a.labels == b.labels)
      #expect(a.labels != c.labels)
    }
  }

  @Test("rates outside [0, 1] are errors")
  func badRate() throws {
    let set = try Self.subset(Self.base)
    #expect(throws: DatasetError.self) {
      try LabelNoise.apply(.init(kind: .symmetric, rate: 1.5), to: set, key: Self.key)
    }
    #expect(throws: DatasetError.self) {
      try LabelNoise.apply(.init(kind: .uniform, rate: -0.1), to: set, key: Self.key)
    }
  }

  /// numpy-legacy parity, references produced once with numpy 2.4.6 on the labels
  /// `base = [(3*i + i//10) % 10 for i in range(300)]` by the official procedures:
  ///
  /// ```python
  /// import numpy as np
  /// def other_class(n_classes, current_class):            # ABSGD noisy_label/noisyDataset.py
  ///     l = list(range(n_classes)); l.remove(current_class); return np.random.choice(l)
  /// np.random.seed(123); targets = list(base)              # ABSGD cifar10Noisy, symmetric 0.4
  /// class_index = [np.where(np.array(targets) == i)[0] for i in range(10)]
  /// noisy_idx = []
  /// for d in range(10): noisy_idx.extend(np.random.choice(class_index[d], int(int(0.4 * 300) / 10), replace=False))
  /// for i in noisy_idx: targets[i] = other_class(10, targets[i])
  /// np.random.seed(123); targets = list(base)              # ABSGD cifar10Noisy, asym 0.4
  /// for s, t in zip([9, 2, 3, 5, 4], [1, 0, 5, 3, 7]):
  ///     cls_idx = np.where(np.array(targets) == s)[0]
  ///     for idx in np.random.choice(cls_idx, int(0.4 * cls_idx.shape[0]), replace=False): targets[idx] = t
  /// np.random.seed(5); labels = np.array(base)             # tracking-memorization corrupt_labels, p 0.3
  /// mask = np.random.rand(len(labels)) <= 0.3; labels[mask] = np.random.choice(10, mask.sum())
  /// ```
  static let numpyReferences: [(LabelNoise.Kind, Double, Int, String)] = [
    (
      .symmetric, 0.4, 123,
      "068942814314703692582381870362369208145047244974941017777632732581490388399258148144926905100110703603664581191976363256259147236936725885501403692598201430112119238107017066970884867043691592584470300089254140137766928822224703093636552471670365257128447025960925864723758658587451310399252058647406"
    ),
    (
      .asymmetric(.cifar10), 0.4, 123,
      "036925814714703692382581770369369238147047036105813817703612692381470370361258148177056125925814705605692581771770361238258147036136903814704703690581581770569269258177037056903817817705610390381470360369258147147036123805817703695610581470770369238158147056906103814703705610381781470369251038147056"
    ),
    (
      .uniform, 0.3, 5,
      "036925811644713096582459426366629238547067037925815823173692692585460303369258148747936920955814713603602581471470369258258143016916999204414703392581551476569269258141037026925816212703692592581470580723858144147030925185814006491612581470470374222153147032026935872703703692588081973369265038149036"
    ),
  ]

  @Test("numpy-legacy generator reproduces ABSGD's and tracking-memorization's draws", arguments: 0..<3)
  func numpyParity(case index: Int) throws {
    let (kind, rate, seed, expected) = Self.numpyReferences[index]
    let noisy = try LabelNoise.apply(
      .init(kind: kind, rate: rate, generator: .numpyLegacy(seed: seed)), to: Self.subset(Self.base), key: Self.key)
    #expect(noisy.labels.map(String.init).joined() == expected)
    #expect(noisy.trueLabels == Self.base)
  }

  @Test("numpy symmetric draw needs int(rate·N)/C examples in every class")
  func numpyTooSmall() throws {
    let labels = Array(repeating: 0, count: 90) + [1, 1]
    #expect(throws: DatasetError.self) {
      try LabelNoise.apply(
        .init(kind: .symmetric, rate: 0.5, generator: .numpyLegacy(seed: 1)), to: Self.subset(labels, classes: 2),
        key: Self.key)
    }
  }
}
