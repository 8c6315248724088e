import Foundation
import Testing

@testable import Datasets

@Suite("Long-tailed subsets")
struct DatasetsLongTailTests {
  @Test("CIFAR-10/100 counts as shared/methods/ldam-drw.md §3")
  func cifarCounts() throws {
    let exp100 = try LongTail.counts(profile: .exponential, ratio: 100, classes: 10, totalCount: 50_000)
    #expect(exp100 == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50])
    #expect(exp100.reduce(0, +) == 12_406)
    let exp10 = try LongTail.counts(profile: .exponential, ratio: 10, classes: 10, totalCount: 50_000)
    #expect(exp10 == [5000, 3871, 2997, 2320, 1796, 1391, 1077, 834, 645, 500])
    #expect(exp10.reduce(0, +) == 20_431)
    let c100 = try LongTail.counts(profile: .exponential, ratio: 100, classes: 100, totalCount: 50_000)
    #expect(Array(c100.prefix(5)) == [500, 477, 455, 434, 415] && c100.last == 5 && c100.reduce(0, +) == 10_847)
    #expect(
      try LongTail.counts(profile: .exponential, ratio: 10, classes: 100, totalCount: 50_000).reduce(0, +) == 19_573)
    #expect(try LongTail.counts(profile: .step, ratio: 100, classes: 10, totalCount: 50_000).reduce(0, +) == 25_250)
    #expect(try LongTail.counts(profile: .step, ratio: 10, classes: 10, totalCount: 50_000).reduce(0, +) == 27_500)
  }

  @Test("Fashion-MNIST counts (parity JSON)", arguments: DataParity.cases)
  func fashionCounts(_ c: DataParity.Case) throws {
    let counts = try LongTail.counts(profile: c.profile, ratio: c.ratio, classes: 10, totalCount: 60_000)
    #expect(counts == c.counts)
    #expect(counts.reduce(0, +) == c.n)
  }

  @Test("invalid ratios and too-large counts are errors")
  func invalid() {
    #expect(throws: DatasetError.self) { try LongTail.counts(profile: .step, ratio: 0.5, classes: 10, totalCount: 100) }
    #expect(throws: DatasetError.self) {
      try LongTail.counts(profile: .step, ratio: .nan, classes: 10, totalCount: 100)
    }
    #expect(throws: DatasetError.self) { try LongTail.subset(labels: [0, 0, 1], counts: [1, 2], seed: 0) }
    #expect(throws: DatasetError.self) { try LongTail.subset(labels: [0, 0, 2], counts: [1, 1], seed: 0) }
    #expect(throws: Never.self) { try LongTail.subset(labels: [0, 0, 1], counts: [2, 1], seed: 0) }
  }

  /// CIFAR-format fixture: 5 batches × 40 records, label(i) = (7i + i/10) mod 10 (20 per class). The
  /// expected indices were computed once with numpy 2.4.6 by the official procedure:
  ///
  /// ```python
  /// import numpy as np
  /// N, C = 200, 10
  /// labels = np.array([(7 * i + i // 10) % 10 for i in range(N)], dtype=np.int64)
  /// for imb_type, imb_factor, seed in [("exp", 0.1, 0), ("step", 0.5, 7)]:
  ///     img_max = N / C
  ///     if imb_type == "exp":
  ///         counts = [int(img_max * (imb_factor ** (i / (C - 1.0)))) for i in range(C)]
  ///     else:
  ///         counts = [int(img_max)] * (C // 2) + [int(img_max * imb_factor)] * (C // 2)
  ///     np.random.seed(seed)
  ///     sel = []
  ///     for c, n in zip(np.unique(labels), counts):
  ///         idx = np.where(labels == c)[0]; np.random.shuffle(idx); sel.extend(idx[:n].tolist())
  ///     print(imb_type, seed, counts, sel)
  /// ```
  @Test("CIFAR fixture files give the numpy reference's indices")
  func cifarFixture() throws {
    let dir = try TemporaryDirectory()
    try Fixtures.writeCIFAR10(in: dir.path, perBatch: 40, testCount: 10) { (7 * $0 + $0 / 10) % 10 }
    let splits = try DatasetCatalog.load("cifar10", dataDir: dir.path, checkOfficialCounts: false)
    let exp = try DataPreparation.prepare(
      splits, recipe: DataRecipe(seed: 0, imbalance: .profile(.exponential, ratio: 10)))
    #expect(exp.subsetCounts == [20, 15, 11, 9, 7, 5, 4, 3, 2, 2])
    #expect(
      exp.subsetIndices == [
        186, 17, 193, 86, 100, 179, 62, 131, 48, 24, 55, 148, 93, 79, 162, 117, 31, 0, 155, 124, 110, 10, 189, 172, 27,
        127, 196, 165, 103, 3, 34, 41, 158, 89, 134, 151, 137, 120, 51, 113, 20, 82, 68, 37, 175, 44, 185, 9, 130, 23,
        30, 178, 78, 123, 147, 71, 19, 26, 195, 57, 188, 88, 129, 67, 105, 81, 174, 184, 146, 60, 46, 56, 187, 132, 66,
        11, 21, 169,
      ])
    #expect(exp.train.indices == exp.subsetIndices)
    #expect(exp.train.labels == exp.train.indices.map { (7 * $0 + $0 / 10) % 10 })
    let step = try DataPreparation.prepare(
      splits, recipe: DataRecipe(seed: 7, imbalance: .profile(.step, ratio: 2)))
    #expect(step.subsetCounts == [20, 20, 20, 20, 20, 10, 10, 10, 10, 10])
    #expect(
      step.subsetIndices == [
        17, 179, 24, 55, 117, 0, 186, 62, 131, 193, 100, 148, 86, 162, 93, 124, 79, 31, 48, 155, 189, 72, 158, 141, 172,
        34, 10, 103, 41, 65, 96, 89, 27, 3, 134, 110, 165, 58, 127, 196, 82, 20, 68, 13, 175, 44, 51, 113, 137, 144,
        151,
        199, 37, 99, 106, 182, 75, 120, 168, 6, 61, 161, 147, 192, 9, 109, 85, 123, 78, 178, 116, 154, 30, 23, 185, 130,
        92, 54, 16, 47, 71, 64, 19, 88, 119, 26, 188, 102, 133, 2, 164, 57, 40, 171, 157, 140, 33, 126, 195, 95, 198, 5,
        143, 98, 29, 12, 181, 43, 105, 112, 77, 177, 39, 184, 139, 153, 146, 53, 15, 46, 25, 132, 118, 1, 32, 101, 194,
        18, 170, 63, 159, 173, 111, 166, 11, 180, 80, 35, 142, 4, 169, 45, 121, 114, 83, 183, 14, 38, 52, 176,
      ])
  }

  @Test("the fingerprint bytes are little-endian int64")
  func fingerprintBytes() throws {
    #expect(
      Fingerprint.int64LittleEndianBytes([1, 258, -1]) == [1, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0]
        + [UInt8](repeating: 255, count: 8))
    // sha256 of np.asarray([0, 1, 2], dtype='<i8').tobytes()
    #expect(
      try Fixtures.sha256Hex(Fingerprint.int64LittleEndianBytes([0, 1, 2]))
        == "ab25350e3e65efebe24584461683ecda68725576e825e550038b90e7b1479946")
  }
}

/// The cases of `shared/conformance/data-parity-fashion-mnist.json`, copied verbatim (counts, n,
/// sha256 of the class-major indices as little-endian int64, first five indices per class, last index
/// of class 9).
enum DataParity {
  struct Case: Sendable, CustomTestStringConvertible {
    var id: String
    var profile: ImbalanceProfile
    var ratio: Double
    var counts: [Int]
    var n: Int
    var sha256: String
    var lastOfClass9: Int
    var testDescription: String { id }
  }

  static let first5: [[Int]] = [
    [43279, 20687, 56899, 5141, 14437], [52804, 54453, 12620, 6138, 54724], [23957, 9955, 51160, 2008, 5988],
    [39374, 56948, 57685, 38978, 13822], [51876, 37196, 31872, 47131, 38506], [42918, 56319, 7646, 2392, 18010],
    [53521, 5347, 39676, 25332, 32182], [48779, 26242, 21674, 37412, 48885], [43851, 2207, 47661, 44117, 36339],
    [26316, 46136, 43924, 33823, 40433],
  ]

  static let cases: [Case] = [
    Case(
      id: "exponential-100", profile: .exponential, ratio: 100,
      counts: [6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60], n: 14886,
      sha256: "ed7a73125b2eb63a36be421826f78f842318f4af247699425c5a60caba7dd240", lastOfClass9: 6637),
    Case(
      id: "exponential-10", profile: .exponential, ratio: 10,
      counts: [6000, 4645, 3596, 2784, 2156, 1669, 1292, 1000, 774, 600], n: 24516,
      sha256: "a364808fba24eb804eb5e270dc2e6866e4d36c51427c7d5135beea3a3334fce7", lastOfClass9: 35545),
    Case(
      id: "step-100", profile: .step, ratio: 100,
      counts: [6000, 6000, 6000, 6000, 6000, 60, 60, 60, 60, 60], n: 30300,
      sha256: "31840193b897422a0ad74e1e014bbd0004ed85b0055d1f2d2a1d30c2fe6af1f7", lastOfClass9: 6637),
    Case(
      id: "step-10", profile: .step, ratio: 10,
      counts: [6000, 6000, 6000, 6000, 6000, 600, 600, 600, 600, 600], n: 33000,
      sha256: "d208a82325ec979e3b8235377f50006fdb9836ebdf444cc10c865f5d5efc26c7", lastOfClass9: 35545),
  ]

  /// Where the Debian package `dataset-fashion-mnist` installs the files.
  static let debianDirectory = "/usr/share/datasets/fashion-mnist"
  static var debianFilesPresent: Bool {
    [
      "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
      "t10k-labels-idx1-ubyte.gz",
    ]
    .allSatisfy { FileManager.default.fileExists(atPath: debianDirectory + "/" + $0) }
  }
}

@Suite(
  "Fashion-MNIST data parity (real files)",
  .enabled(
    if: DataParity.debianFilesPresent,
    "the Debian Fashion-MNIST files are missing from /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist)"
  ))
struct DatasetsFashionParityTests {
  static let labels: [Int]? = try? IDXReader.readLabels(
    DataParity.debianDirectory + "/train-labels-idx1-ubyte.gz", classes: 10)

  @Test(
    "subsets match the official code's (counts, first five per class, last of class 9, sha256)",
    arguments: DataParity.cases)
  func parity(_ c: DataParity.Case) throws {
    let labels = try #require(Self.labels, "cannot read \(DataParity.debianDirectory)/train-labels-idx1-ubyte.gz")
    #expect(labels.count == 60_000)
    let counts = try LongTail.counts(profile: c.profile, ratio: c.ratio, classes: 10, totalCount: labels.count)
    let indices = try LongTail.subset(labels: labels, counts: counts, seed: 0)
    #expect(counts == c.counts)
    #expect(indices.count == c.n)
    var start = 0
    for (k, count) in counts.enumerated() {
      #expect(Array(indices[start..<(start + 5)]) == DataParity.first5[k], "class \(k)")
      #expect(indices[start..<(start + count)].allSatisfy { labels[$0] == k })
      start += count
    }
    #expect(indices.last == c.lastOfClass9)
    #expect(try Fixtures.sha256Hex(Fingerprint.int64LittleEndianBytes(indices)) == c.sha256)
  }

  @Test("the catalog loads the Debian files with the official counts and the same subset")
  func catalog() throws {
    let splits = try DatasetCatalog.load("fashion-mnist", dataDir: nil)
    #expect(splits.train.count == 60_000 && splits.test.count == 10_000)
    #expect(splits.train.labels == Self.labels)
    let files = try DatasetCatalog.files("fashion-mnist", dataDir: nil)
    #expect(files.first == DataParity.debianDirectory + "/train-images-idx3-ubyte.gz" && files.count == 4)
    let prepared = try DataPreparation.prepare(
      splits, recipe: DataRecipe(seed: 0, imbalance: .profile(.exponential, ratio: 100)))
    #expect(
      try Fixtures.sha256Hex(Fingerprint.int64LittleEndianBytes(prepared.subsetIndices ?? []))
        == DataParity.cases[0].sha256)
    let stats = Normalization.statistics(of: splits.train)
    #expect(abs(Double(stats.mean[0]) - 0.2860) < 5e-4 && abs(Double(stats.std[0]) - 0.3530) < 5e-4, "\(stats)")
  }
}
