import Engine
import Testing
import _ReplicateTestSupport

@testable import Datasets

@Suite("Batch filling and augmentation")
struct DatasetsBatchTests {
  /// `count` images of h×w×c whose bytes are `(n·h·w·c + k + 1)·step mod 256` (distinct within an image).
  static func images(count: Int, h: Int, w: Int, c: Int, step: Int = 1, classes: Int = 10) throws -> ImageSet {
    let size = h * w * c
    let pixels = (0..<(count * size)).map { UInt8(truncatingIfNeeded: ($0 + 1) * step) }
    return try ImageSet(
      height: h, width: w, channels: c, classes: classes, pixels: pixels, labels: (0..<count).map { $0 % classes })
  }

  @Test("normalisation: (x/255 − mean_c)/std_c per channel, CIFAR constants")
  func normalisation() throws {
    let pixels: [UInt8] = [0, 255, 128, 255, 0, 51]  // 1×2×1×3
    let set = LabeledSubset(try ImageSet(height: 2, width: 1, channels: 3, classes: 10, pixels: pixels, labels: [7]))
    let filler = try BatchFiller(set: set, normalization: .cifar10)
    let batch = Tensor(shape: [1])
    var labels: [Int] = []
    filler.fill([0], images: batch, labels: &labels)
    #expect(batch.shape == [1, 2, 1, 3])
    #expect(labels == [7])
    // Computed in float64 with Python: (0 − 0.4914)/0.2023, (1 − 0.4822)/0.1994, (128/255 − 0.4465)/0.2010, …
    expectApprox(
      batch.toArray(), [-2.4290657, 2.5967904, 0.2759243, 2.5140880, -2.4182548, -1.2263682], abs: 2e-6, rel: 1e-6)
  }

  @Test("the mean and std are exact over the chosen images")
  func statistics() throws {
    let set = try ImageSet(
      height: 1, width: 2, channels: 1, classes: 2, pixels: [0, 255, 51, 102, 9, 9], labels: [0, 1, 0])
    let all = Normalization.statistics(of: set)
    // values /255: 0, 1, 0.2, 0.4, 9/255 twice.
    let v = [0, 1, 0.2, 0.4, 9.0 / 255, 9.0 / 255]
    let mean = v.reduce(0, +) / 6
    let std = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 6).squareRoot()
    expectApprox(Double(all.mean[0]), mean, abs: 1e-7)
    expectApprox(Double(all.std[0]), std, abs: 1e-7)
    let first = Normalization.statistics(of: set, indices: [0])
    expectApprox(Double(first.mean[0]), 0.5, abs: 1e-7)
    expectApprox(Double(first.std[0]), 0.5, abs: 1e-7)
  }

  /// Reference augmentation: pad with zero bytes, crop at (top, left), mirror.
  static func reference(_ set: ImageSet, row: Int, padding p: Int, top: Int, left: Int, flip: Bool) -> [Float] {
    let (h, w, c) = (set.height, set.width, set.channels)
    let pw = w + 2 * p
    var padded = [UInt8](repeating: 0, count: (h + 2 * p) * pw * c)
    for y in 0..<h {
      for x in 0..<w {
        for ch in 0..<c { padded[((y + p) * pw + x + p) * c + ch] = set.pixels[row * h * w * c + (y * w + x) * c + ch] }
      }
    }
    var out: [Float] = []
    for y in 0..<h {
      for x in 0..<w {
        let cx = flip ? w - 1 - x : x
        for ch in 0..<c { out.append(Float(padded[((y + top) * pw + cx + left) * c + ch]) / 255) }
      }
    }
    return out
  }

  @Test("random crop with padding and flip: geometry and draw order", arguments: [(1, 1), (2, 2)])
  func cropFlip(padding: Int, channels: Int) throws {
    let images = try Self.images(count: 3, h: 4, w: 5, c: channels, step: 7)
    let set = LabeledSubset(images)
    let filler = try BatchFiller(
      set: set, normalization: .unit(channels: channels),
      augmentation: Augmentation(padding: padding, horizontalFlip: true))
    let batch = Tensor(shape: [1])
    var labels: [Int] = []
    var seen = Set<[Int]>()
    for trial in 0..<150 {
      var stream = RandomKey(seed: UInt64(trial)).stream()
      var copy = stream
      let positions: ArraySlice<Int> = [2, 0, 1]
      filler.fill(positions, images: batch, labels: &labels, stream: &stream)
      #expect(labels == [2, 0, 1])
      var expected: [Float] = []
      for row in positions {
        let top = copy.nextInt(below: 2 * padding + 1)
        let left = copy.nextInt(below: 2 * padding + 1)
        let flip = copy.nextDouble() < 0.5
        seen.insert([top, left, flip ? 1 : 0])
        expected += Self.reference(images, row: row, padding: padding, top: top, left: left, flip: flip)
      }
      #expect(batch.toArray() == expected, "trial \(trial)")
      #expect(stream.counter == copy.counter)
    }
    #expect(seen.count == (2 * padding + 1) * (2 * padding + 1) * 2)
  }

  @Test("padded pixels are the normalised zero byte")
  func paddingValue() throws {
    let set = LabeledSubset(try Self.images(count: 1, h: 2, w: 2, c: 3, step: 50))
    let filler = try BatchFiller(set: set, normalization: .cifar10, augmentation: Augmentation(padding: 2))
    let batch = Tensor(shape: [1])
    var labels: [Int] = []
    // Search a stream whose crop is entirely padding (top = 0, left = 0 with a 2×2 image and p = 2).
    for seed in 0..<200 {
      var stream = RandomKey(seed: UInt64(seed)).stream()
      var probe = stream
      guard probe.nextInt(below: 5) == 0, probe.nextInt(below: 5) == 0 else { continue }
      filler.fill([0], images: batch, labels: &labels, stream: &stream)
      let zero = (0..<3).map { (0 - Normalization.cifar10.mean[$0]) / Normalization.cifar10.std[$0] }
      #expect(batch.toArray() == zero + zero + zero + zero)
      return
    }
    Issue.record("no stream with a full-padding crop among 200 seeds")
  }

  @Test("without augmentation no random number is drawn; buffers are reused")
  func reuse() throws {
    let set = LabeledSubset(try Self.images(count: 10, h: 3, w: 3, c: 1))
    let filler = try BatchFiller(set: set, normalization: .unit(channels: 1))
    let batch = Tensor(shape: [1])
    var labels: [Int] = []
    var stream = RandomKey(seed: 1).stream()
    filler.fill([1, 2, 3, 4], images: batch, labels: &labels, stream: &stream)
    #expect(stream.counter == 0)
    let pointer = batch.pointer
    let capacity = labels.capacity
    filler.fill([5, 6, 7, 8], images: batch, labels: &labels, stream: &stream)
    filler.fill([9, 0], images: batch, labels: &labels)
    #expect(batch.pointer == pointer && labels.capacity == capacity)
    #expect(batch.shape == [2, 3, 3, 1] && labels == [9, 0])
    let expected: [Float] = (81..<90).map { Float($0 + 1) / 255 } + (0..<9).map { Float($0 + 1) / 255 }
    #expect(batch.toArray() == expected)
  }

  @Test("a normalisation with the wrong channel count is an error")
  func badNormalisation() throws {
    let set = LabeledSubset(try Self.images(count: 1, h: 1, w: 1, c: 3))
    #expect(throws: DatasetError.self) { try BatchFiller(set: set, normalization: .unit(channels: 1)) }
    #expect(throws: DatasetError.self) {
      try BatchFiller(set: set, normalization: Normalization(mean: [0, 0, 0], std: [1, 0, 1]))
    }
  }
}

@Suite("Samplers")
struct DatasetsSamplerTests {
  static let labels =
    Array(repeating: 0, count: 1000) + Array(repeating: 1, count: 100) + Array(repeating: 2, count: 10)

  @Test("uniform shuffle: a permutation per epoch, reproducible, different across epochs")
  func uniform() throws {
    let sampler = try EpochSampler(labels: Self.labels, classes: 3, scheme: .uniformShuffle)
    let key = RandomKey(seed: 5).split("data-order")
    let e0 = sampler.order(epoch: 0, key: key)
    #expect(e0.sorted() == Array(0..<1110))
    #expect(e0 == sampler.order(epoch: 0, key: key))
    #expect(e0 != sampler.order(epoch: 1, key: key))
  }

  static func frequencies(_ scheme: SamplingScheme, epochs: Int = 10) throws -> (observed: [Double], expected: [Double])
  {
    let sampler = try EpochSampler(labels: labels, classes: 3, scheme: scheme)
    var counts = [0, 0, 0]
    for epoch in 0..<epochs {
      let order = sampler.order(epoch: epoch, key: RandomKey(seed: 9))
      #expect(order.count == labels.count)
      for k in order { counts[labels[k]] += 1 }
    }
    let total = Double(counts.reduce(0, +))
    return (counts.map { Double($0) / total }, sampler.classProbabilities)
  }

  static let sqrtWeights: [Double] = [31.6227766, 10, 3.16227766]
  // n(1−β)/(1−β^n) for n = 1000, 100, 10, β = 0.9999 (computed in float64 with numpy).
  static let effectiveWeights: [Double] = [1.0507832, 1.0049583, 1.0004501]
  static let resamplingCases: [(SamplingScheme, [Double])] = [
    (.classBalanced, [1.0 / 3, 1.0 / 3, 1.0 / 3]),
    (.squareRoot, sqrtWeights.map { $0 / 44.7850543 }),
    (.classPower(1), [1000.0 / 1110, 100.0 / 1110, 10.0 / 1110]),
    (.effectiveNumber(beta: 0.9999), effectiveWeights.map { $0 / 3.0561917 }),
  ]

  @Test("re-sampling class frequencies", arguments: 0..<4)
  func resampling(case index: Int) throws {
    let (scheme, expected) = Self.resamplingCases[index]
    let (observed, probabilities) = try Self.frequencies(scheme)
    expectApprox(probabilities, expected, abs: 1e-6)
    // 11,100 draws: sd of a frequency ≤ 0.0048; 0.025 is > 5 sd.
    for c in 0..<3 { #expect(abs(observed[c] - expected[c]) < 0.025, "class \(c): \(observed[c]) vs \(expected[c])") }
  }

  @Test("within a class, examples are drawn uniformly")
  func withinClass() throws {
    let sampler = try EpochSampler(labels: Self.labels, classes: 3, scheme: .classBalanced, samplesPerEpoch: 30_000)
    let order = sampler.order(epoch: 0, key: RandomKey(seed: 2))
    var hits = [Int](repeating: 0, count: 10)
    for k in order where k >= 1100 { hits[k - 1100] += 1 }
    // ≈ 1,000 each (sd ≈ 30).
    for h in hits { #expect(abs(h - 1000) < 160, "\(hits)") }
  }

  @Test("bad sampler settings are errors")
  func bad() {
    #expect(throws: DatasetError.self) { try EpochSampler(labels: [], classes: 3, scheme: .uniformShuffle) }
    #expect(throws: DatasetError.self) { try EpochSampler(labels: [3], classes: 3, scheme: .uniformShuffle) }
    #expect(throws: DatasetError.self) { try EpochSampler(labels: [1], classes: 3, scheme: .effectiveNumber(beta: 1)) }
  }
}
