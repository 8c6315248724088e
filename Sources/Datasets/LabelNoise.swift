import Engine

/// An asymmetric (class-dependent) noise map: ordered pairs "source class → target class".
///
/// The order matters only for ``LabelNoise/Generator/numpyLegacy(seed:)``, which flips the sources one
/// after the other on the current labels, as ABSGD's code does.
public struct AsymmetricMap: Sendable, Equatable, Codable {
  /// The pairs, in the order they are applied.
  public var pairs: [Pair]

  /// One flip `source → target`.
  public struct Pair: Sendable, Equatable, Codable {
    /// The class whose examples may be relabelled.
    public var source: Int
    /// The label they receive.
    public var target: Int
    /// A pair `source → target`.
    public init(_ source: Int, _ target: Int) {
      self.source = source
      self.target = target
    }
  }

  /// A map from its pairs.
  public init(_ pairs: [Pair]) { self.pairs = pairs }

  /// CIFAR-10: truck→automobile, bird→airplane, cat→dog, dog→cat, deer→horse, in ABSGD's order.
  /// **References:** Patrini et al., *Making Deep Neural Networks Robust to Label Noise: a Loss
  /// Correction Approach*, CVPR 2017; qiqi-helloworld/ABSGD `noisy_label/noisyDataset.py`
  /// (`cifar10Noisy`, sources [9, 2, 3, 5, 4] → [1, 0, 5, 3, 7]); hongxin001/LogitClip
  /// `datasets/cifar.py` uses the same pairs.
  public static let cifar10 = AsymmetricMap([.init(9, 1), .init(2, 0), .init(3, 5), .init(5, 3), .init(4, 7)])

  /// CIFAR-100: class i → the next class of its block of five consecutive indices, cyclically
  /// (4 → 0, 9 → 5, …), the blocks ABSGD's `build_for_cifar100` uses.
  public static let cifar100 = AsymmetricMap(
    (0..<100).map { .init($0, ($0 / 5) * 5 + ($0 % 5 + 1) % 5) })

  /// MNIST: 2→7, 3→8, 5↔6, 7→1. **References:** Patrini et al., CVPR 2017 (their MNIST map).
  public static let mnist = AsymmetricMap([.init(7, 1), .init(2, 7), .init(5, 6), .init(6, 5), .init(3, 8)])

  /// Fashion-MNIST, five source classes like CIFAR-10's: T-shirt(0)→Shirt(6), Pullover(2)↔Coat(4),
  /// Sandal(5)→Sneaker(7), Ankle boot(9)→Sneaker(7). A project choice, not from a paper: the
  /// LogitClip Fashion-MNIST default of `shared/methods/logitclip.md`.
  public static let fashionMNIST = AsymmetricMap([.init(0, 6), .init(2, 4), .init(4, 2), .init(5, 7), .init(9, 7)])

  /// Fashion-MNIST, the alternative of `shared/methods/absgd.md` (a project choice): T-shirt→Shirt,
  /// Pullover→Coat, Sandal↔Sneaker.
  public static let fashionMNISTPairs = AsymmetricMap([.init(0, 6), .init(2, 4), .init(5, 7), .init(7, 5)])

  /// The maps by name: `cifar10`, `cifar100`, `mnist`, `fashion-mnist`, `fashion-mnist-pairs`.
  public static let named: [String: AsymmetricMap] = [
    "cifar10": .cifar10, "cifar100": .cifar100, "mnist": .mnist, "fashion-mnist": .fashionMNIST,
    "fashion-mnist-pairs": .fashionMNISTPairs,
  ]

  /// Checks that classes are in range, no pair maps a class to itself and no source repeats.
  func validate(classes: Int) throws {
    var seen = Set<Int>()
    for pair in pairs {
      guard (0..<classes).contains(pair.source), (0..<classes).contains(pair.target), pair.source != pair.target,
        seen.insert(pair.source).inserted
      else {
        throw DatasetError(
          .invalidSetting, file: "dataset.noise.map", "pair \(pair.source) → \(pair.target)",
          expected: "distinct source classes in 0..<\(classes), each mapped to another class")
      }
    }
  }
}

/// Injected label noise, drawn from the dataset seed only so every method sees the same noisy labels.
///
/// Three kinds, as the noisy-label papers here define them:
/// - ``Kind/symmetric``: a true flip to a uniformly drawn *other* class (LogitClip, α-loss, ABSGD).
/// - ``Kind/asymmetric(_:)``: class-pair flips (``AsymmetricMap``).
/// - ``Kind/uniform``: replacement by a uniform label over *all* C classes, so a replaced label may stay
///   correct and the wrong-label rate is about rate·(C−1)/C (susceptibility / tracking-memorization,
///   after Chatterjee 2020; L2RW's "uniform flip" is of this family).
///
/// Two generators:
/// - ``Generator/counter`` (default): the project's counter-based stream. Symmetric: in each class c,
///   exactly ⌊rate·n_c⌋ examples, chosen uniformly without replacement, get a uniformly drawn other
///   class. Asymmetric: for each pair, exactly ⌊rate·n_s⌋ of the examples labelled `s` (labels as
///   before any flip) get the target. Uniform: each example independently with probability `rate`
///   gets a uniform label over all classes.
/// - ``Generator/numpyLegacy(seed:)``: numpy's legacy generator, matching an official draw bit for bit.
///   Symmetric and asymmetric reproduce qiqi-helloworld/ABSGD `noisy_label/noisyDataset.py`
///   (`cifar10Noisy`, after `DatasetGenerator`'s `np.random.seed(seed)`, default 123): symmetric
///   takes `int(int(rate·N)/C)` per class with `np.random.choice(class_idx, k, replace=False)` for
///   c = 0…C−1, then relabels them in that order with `np.random.choice(other classes)`; asymmetric
///   takes, pair by pair in order, `int(rate·n)` of the examples *currently* labelled `source` (so in
///   the CIFAR-10 map some flipped cats are flipped back) with `choice(…, replace=False)`. ABSGD's
///   CIFAR-100 asymmetric noise draws a per-example multinomial instead; that draw is not matched.
///   Uniform reproduces mahf93/tracking-memorization `dataset.py` (`corrupt_labels`:
///   `mask = np.random.rand(N) <= p; labels[mask] = np.random.choice(C, mask.sum())`) with the given
///   seed in place of its `int(time.time())`. hongxin001/LogitClip draws its noise set with Python's
///   `random` and relabels after `np.random.randn` draws of its dependent-noise matrix (and ships
///   JSON noise files); that draw is not matched.
public enum LabelNoise {
  /// The kind of noise.
  public enum Kind: Sendable, Equatable {
    /// Flip to a uniformly drawn other class.
    case symmetric
    /// Flip along class pairs.
    case asymmetric(AsymmetricMap)
    /// Replace by a uniform label over all classes (may keep the true one).
    case uniform
  }

  /// Which random numbers draw the noise.
  public enum Generator: Sendable, Equatable {
    /// The project's counter-based stream (`RandomKey`).
    case counter
    /// numpy's legacy `RandomState` seeded with `seed` (parity with the official draws above).
    case numpyLegacy(seed: Int)
  }

  /// A noise setting.
  public struct Spec: Sendable, Equatable {
    /// The kind of noise.
    public var kind: Kind
    /// The noise rate in [0, 1].
    public var rate: Double
    /// Which random numbers draw it.
    public var generator: Generator
    /// A setting.
    public init(kind: Kind, rate: Double, generator: Generator = .counter) {
      self.kind = kind
      self.rate = rate
      self.generator = generator
    }
  }

  /// `set` with noisy training labels; its `trueLabels` are kept, so ``LabeledSubset/noiseRate`` is the
  /// realised rate (the fraction of wrong labels).
  ///
  /// - Parameters:
  ///   - key: the key for ``Generator/counter`` draws (the harness derives it from the dataset seed).
  /// - Throws: ``DatasetError`` `invalidSetting` for a rate outside [0, 1], a bad map, or (numpy
  ///   symmetric) a class smaller than its noisy count.
  public static func apply(_ spec: Spec, to set: LabeledSubset, key: RandomKey) throws -> LabeledSubset {
    guard spec.rate >= 0, spec.rate <= 1 else {
      throw DatasetError(.invalidSetting, file: "dataset.noise.rate", "rate \(spec.rate)", expected: "a rate in [0, 1]")
    }
    if case .asymmetric(let map) = spec.kind { try map.validate(classes: set.classes) }
    guard set.classes >= 2 else {
      throw DatasetError(.invalidSetting, file: "dataset.noise", "\(set.classes) class", expected: "at least 2 classes")
    }
    var out = set
    switch spec.generator {
    case .counter:
      var stream = key.stream()
      out.labels = counterNoise(spec, labels: set.labels, classes: set.classes, stream: &stream)
    case .numpyLegacy(let seed):
      var generator = try NumpyRandomState(checkedSeed: seed, setting: "dataset.noise.seed")
      out.labels = try numpyNoise(spec, labels: set.labels, classes: set.classes, generator: &generator)
    }
    return out
  }

  // MARK: - Counter-based draws

  private static func counterNoise(_ spec: Spec, labels: [Int], classes: Int, stream: inout RandomStream) -> [Int] {
    var noisy = labels
    switch spec.kind {
    case .symmetric:
      for members in ClassCounts.positions(labels, classes: classes) {
        let chosen = sample(members, count: Int(spec.rate * Double(members.count)), stream: &stream)
        for k in chosen {
          let r = stream.nextInt(below: classes - 1)
          noisy[k] = r < labels[k] ? r : r + 1
        }
      }
    case .asymmetric(let map):
      let byClass = ClassCounts.positions(labels, classes: classes)
      for pair in map.pairs {
        let members = byClass[pair.source]
        for k in sample(members, count: Int(spec.rate * Double(members.count)), stream: &stream) {
          noisy[k] = pair.target
        }
      }
    case .uniform:
      for k in labels.indices where stream.nextDouble() < spec.rate {
        noisy[k] = stream.nextInt(below: classes)
      }
    }
    return noisy
  }

  /// `count` elements of `members` uniformly without replacement (partial Fisher–Yates, in draw order).
  static func sample(_ members: [Int], count: Int, stream: inout RandomStream) -> [Int] {
    var pool = members
    let k = min(max(count, 0), pool.count)
    for i in 0..<k { pool.swapAt(i, i + stream.nextInt(below: pool.count - i)) }
    return Array(pool.prefix(k))
  }

  // MARK: - numpy legacy draws

  private static func numpyNoise(
    _ spec: Spec, labels: [Int], classes: Int, generator: inout NumpyRandomState
  ) throws -> [Int] {
    var noisy = labels
    switch spec.kind {
    case .symmetric:
      guard spec.rate > 0 else { return noisy }
      let perClass = Int(spec.rate * Double(labels.count)) / classes
      var chosen: [Int] = []
      for (c, members) in ClassCounts.positions(labels, classes: classes).enumerated() {
        guard perClass <= members.count else {
          throw DatasetError(
            .invalidSetting, file: "dataset.noise",
            "class \(c) has \(members.count) examples, fewer than the \(perClass) noisy ones ABSGD's draw takes per class",
            expected: "a set with at least int(rate·N)/C examples in every class")
        }
        chosen += generator.choiceWithoutReplacement(population: members.count, count: perClass).map { members[$0] }
      }
      for k in chosen {
        let r = generator.randint(below: classes - 1)
        noisy[k] = r < noisy[k] ? r : r + 1
      }
    case .asymmetric(let map):
      for pair in map.pairs {
        let members = noisy.indices.filter { noisy[$0] == pair.source }
        let count = Int(spec.rate * Double(members.count))
        for p in generator.choiceWithoutReplacement(population: members.count, count: count) {
          noisy[members[p]] = pair.target
        }
      }
    case .uniform:
      var mask = [Bool](repeating: false, count: labels.count)
      for k in labels.indices { mask[k] = generator.randomSample() <= spec.rate }
      for k in labels.indices where mask[k] { noisy[k] = generator.randint(below: classes) }
    }
    return noisy
  }
}
