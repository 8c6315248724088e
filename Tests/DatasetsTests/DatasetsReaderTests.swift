import Foundation
import Testing

@testable import Datasets

@Suite("Dataset readers")
struct DatasetsReaderTests {
  static let trainLabels = [3, 0, 9, 1, 1, 4, 7, 2]
  static let testLabels = [5, 6, 0]

  @Test("IDX files read the same, raw or gzip", arguments: [false, true])
  func idxRoundTrip(gzipped: Bool) throws {
    let dir = try TemporaryDirectory()
    try Fixtures.writeIDXDataset(in: dir.path, train: Self.trainLabels, test: Self.testLabels, gzipped: gzipped)
    let splits = try DatasetCatalog.load("fashion-mnist", dataDir: dir.path, checkOfficialCounts: false)
    #expect(splits.name == "fashion-mnist")
    #expect(splits.train.labels == Self.trainLabels)
    #expect(splits.test.labels == Self.testLabels)
    #expect(splits.train.height == 4 && splits.train.width == 3 && splits.train.channels == 1)
    #expect(splits.train.classes == 10)
    var expected: [UInt8] = []
    for n in 0..<Self.trainLabels.count {
      for y in 0..<4 { for x in 0..<3 { expected.append(Fixtures.pixel(n, y, x)) } }
    }
    #expect(splits.train.pixels == expected)
    let suffix = gzipped ? ".gz" : ""
    let files = try DatasetCatalog.files("fashion-mnist", dataDir: dir.path)
    #expect(
      files
        == [
          "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
        ].map { dir.path + "/" + $0 + suffix })
  }

  @Test("CIFAR-10 records become NHWC images, files found in the archive's subfolder")
  func cifar10() throws {
    let dir = try TemporaryDirectory()
    let sub = dir.file("cifar-10-batches-bin")
    try Fixtures.writeCIFAR10(in: sub, perBatch: 3, testCount: 2) { ($0 * 7) % 10 }
    let splits = try DatasetCatalog.load("cifar10", dataDir: dir.path, checkOfficialCounts: false)
    #expect(splits.train.count == 15)
    #expect(splits.train.labels == (0..<15).map { ($0 * 7) % 10 })
    #expect(splits.test.labels == [0, 7])
    let set = splits.train
    #expect(set.height == 32 && set.width == 32 && set.channels == 3)
    for (n, y, x, c) in [(0, 0, 0, 0), (4, 5, 17, 1), (14, 31, 31, 2), (7, 12, 3, 0)] {
      #expect(set.pixels[((n * 32 + y) * 32 + x) * 3 + c] == Fixtures.pixel(n, y, x, c))
    }
    let files = try DatasetCatalog.files("cifar10", dataDir: dir.path)
    #expect(files == (1...5).map { sub + "/data_batch_\($0).bin" } + [sub + "/test_batch.bin"])
  }

  @Test("CIFAR-100 uses the fine label")
  func cifar100() throws {
    let dir = try TemporaryDirectory()
    let fine = [99, 0, 42, 17]
    try Fixtures.write(Fixtures.cifarRecords(labels: fine, coarse: { $0 / 5 }), to: dir.file("train.bin"))
    try Fixtures.write(Fixtures.cifarRecords(labels: [3], coarse: { $0 / 5 }), to: dir.file("test.bin"))
    let splits = try DatasetCatalog.load("cifar100", dataDir: dir.path, checkOfficialCounts: false)
    #expect(splits.train.labels == fine)
    #expect(splits.train.classes == 100)
    #expect(splits.train.pixels[((2 * 32 + 9) * 32 + 4) * 3 + 2] == Fixtures.pixel(2, 9, 4, 2))
  }

  // MARK: - Error paths

  private func expectError(_ code: DatasetError.Code, mentioning file: String, _ body: () throws -> Void) {
    do {
      try body()
      Issue.record("expected a \(code) error, got none")
    } catch let error as DatasetError {
      #expect(error.code == code, "\(error)")
      #expect(error.description.contains(file), "\(error) does not name \(file)")
      #expect(!error.expected.isEmpty)
    } catch {
      Issue.record("unexpected error \(error)")
    }
  }

  @Test("a missing file names the file and the directories searched")
  func missingFile() throws {
    let dir = try TemporaryDirectory()
    try Fixtures.writeIDXDataset(in: dir.path, train: Self.trainLabels, test: Self.testLabels, gzipped: true)
    try FileManager.default.removeItem(atPath: dir.file("t10k-labels-idx1-ubyte.gz"))
    expectError(.missingFile, mentioning: "t10k-labels-idx1-ubyte") {
      _ = try DatasetCatalog.load("fashion-mnist", dataDir: dir.path, checkOfficialCounts: false)
    }
    expectError(.missingFile, mentioning: dir.path) {
      _ = try DatasetCatalog.files("fashion-mnist", dataDir: dir.path)
    }
    expectError(.missingFile, mentioning: "nothing-here") { _ = try FileBytes.read(dir.file("nothing-here")) }
  }

  @Test("unknown dataset and CIFAR without a data directory")
  func settings() {
    expectError(.unknownDataset, mentioning: "imagenet") { _ = try DatasetCatalog.load("imagenet", dataDir: nil) }
    expectError(.missingDataDirectory, mentioning: "--data-dir") {
      _ = try DatasetCatalog.files("cifar10", dataDir: nil)
    }
  }

  @Test("truncated files", arguments: [false, true])
  func truncated(gzipped: Bool) throws {
    let dir = try TemporaryDirectory()
    let images = Fixtures.idxImages(count: 3, rows: 4, columns: 3)
    try Fixtures.write(Array(images.dropLast(5)), to: dir.file("img"))
    try Fixtures.write(Array(Fixtures.idxLabels([1, 2, 3]).dropLast()), to: dir.file("lab"))
    try Fixtures.write(Array(images.prefix(10)), to: dir.file("short-header"))
    if gzipped { for f in ["img", "lab", "short-header"] { try Fixtures.gzip(dir.file(f)) } }
    let gz = gzipped ? ".gz" : ""
    expectError(.truncated, mentioning: "img" + gz) { _ = try IDXReader.readImages(dir.file("img" + gz)) }
    expectError(.truncated, mentioning: "lab" + gz) { _ = try IDXReader.readLabels(dir.file("lab" + gz), classes: 10) }
    expectError(.truncated, mentioning: "short-header" + gz) {
      _ = try IDXReader.readImages(dir.file("short-header" + gz))
    }
  }

  @Test("extra bytes after the data are an error")
  func trailing() throws {
    let dir = try TemporaryDirectory()
    try Fixtures.write(Fixtures.idxLabels([1, 2]) + [0], to: dir.file("lab"))
    expectError(.trailingBytes, mentioning: "lab") { _ = try IDXReader.readLabels(dir.file("lab"), classes: 10) }
  }

  @Test("a truncated CIFAR file and an empty one")
  func truncatedCIFAR() throws {
    let dir = try TemporaryDirectory()
    try Fixtures.write(Array(Fixtures.cifarRecords(labels: [1, 2]).dropLast(100)), to: dir.file("a.bin"))
    try Fixtures.write([], to: dir.file("b.bin"))
    expectError(.truncated, mentioning: "a.bin") {
      _ = try CIFARReader.read(files: [dir.file("a.bin")], variant: .cifar10)
    }
    expectError(.truncated, mentioning: "b.bin") {
      _ = try CIFARReader.read(files: [dir.file("b.bin")], variant: .cifar10)
    }
  }

  @Test("bad magic numbers, including labels and images swapped")
  func badMagic() throws {
    let dir = try TemporaryDirectory()
    try Fixtures.write(Fixtures.idxImages(count: 1, rows: 2, columns: 2, magic: 0x0803_0000), to: dir.file("img"))
    try Fixtures.write(Fixtures.idxLabels([1]), to: dir.file("lab"))
    expectError(.badMagic, mentioning: "img") { _ = try IDXReader.readImages(dir.file("img")) }
    expectError(.badMagic, mentioning: "lab") { _ = try IDXReader.readImages(dir.file("lab")) }
    do {
      _ = try IDXReader.readImages(dir.file("img"))
    } catch let error as DatasetError {
      #expect(error.description.contains("0x08030000") && error.description.contains("0x00000803"), "\(error)")
    }
  }

  @Test("image and label counts that disagree")
  func countMismatch() throws {
    let dir = try TemporaryDirectory()
    try Fixtures.write(Fixtures.idxImages(count: 3, rows: 2, columns: 2), to: dir.file("img"))
    try Fixtures.write(Fixtures.idxLabels([1, 2]), to: dir.file("lab"))
    expectError(.countMismatch, mentioning: "lab") {
      _ = try IDXReader.read(images: dir.file("img"), labels: dir.file("lab"))
    }
    // A header that claims more images than the file holds.
    try Fixtures.write(Fixtures.idxImages(count: 2, rows: 2, columns: 2, headerCount: 5), to: dir.file("img2"))
    expectError(.truncated, mentioning: "img2") { _ = try IDXReader.readImages(dir.file("img2")) }
    // A header whose size cannot exist does not overflow.
    try Fixtures.write(
      Fixtures.bigEndian(0x803) + Fixtures.bigEndian(.max) + Fixtures.bigEndian(.max) + Fixtures.bigEndian(.max),
      to: dir.file("img3"))
    expectError(.truncated, mentioning: "img3") { _ = try IDXReader.readImages(dir.file("img3")) }
  }

  @Test("the official counts are checked by default")
  func officialCounts() throws {
    let dir = try TemporaryDirectory()
    try Fixtures.writeIDXDataset(in: dir.path, train: Self.trainLabels, test: Self.testLabels, gzipped: false)
    expectError(.countMismatch, mentioning: "train-images-idx3-ubyte") {
      _ = try DatasetCatalog.load("fashion-mnist", dataDir: dir.path)
    }
  }

  @Test("labels outside the classes")
  func badLabel() throws {
    let dir = try TemporaryDirectory()
    try Fixtures.write(Fixtures.idxLabels([1, 10, 2]), to: dir.file("lab"))
    expectError(.labelOutOfRange, mentioning: "lab") { _ = try IDXReader.readLabels(dir.file("lab"), classes: 10) }
    try Fixtures.write(Fixtures.cifarRecords(labels: [3, 10]), to: dir.file("c10.bin"))
    expectError(.labelOutOfRange, mentioning: "c10.bin") {
      _ = try CIFARReader.read(files: [dir.file("c10.bin")], variant: .cifar10)
    }
    try Fixtures.write(Fixtures.cifarRecords(labels: [3, 100], coarse: { _ in 1 }), to: dir.file("c100.bin"))
    expectError(.labelOutOfRange, mentioning: "c100.bin") {
      _ = try CIFARReader.read(files: [dir.file("c100.bin")], variant: .cifar100)
    }
    try Fixtures.write(Fixtures.cifarRecords(labels: [3], coarse: { _ in 20 }), to: dir.file("coarse.bin"))
    expectError(.labelOutOfRange, mentioning: "coarse.bin") {
      _ = try CIFARReader.read(files: [dir.file("coarse.bin")], variant: .cifar100)
    }
  }

  @Test("corrupt and cut gzip streams")
  func badGzip() throws {
    let dir = try TemporaryDirectory()
    try Fixtures.write(Fixtures.idxLabels(Array(repeating: 3, count: 500)), to: dir.file("lab"))
    try Fixtures.gzip(dir.file("lab"))
    let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.file("lab.gz"))))
    var corrupt = good
    for k in 12..<min(24, corrupt.count - 8) { corrupt[k] ^= 0x5A }
    try Fixtures.write(corrupt, to: dir.file("corrupt.gz"))
    try Fixtures.write(Array(good.prefix(good.count - 12)), to: dir.file("cut.gz"))
    try Fixtures.write([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF, 0xFF], to: dir.file("garbage.gz"))
    #expect(try IDXReader.readLabels(dir.file("lab.gz"), classes: 10).count == 500)
    for name in ["corrupt.gz", "cut.gz", "garbage.gz"] {
      expectError(.badGzip, mentioning: name) { _ = try IDXReader.readLabels(dir.file(name), classes: 10) }
    }
  }

  @Test("ImageSet's checked initialiser rejects inconsistent shapes and labels")
  func imageSetInit() throws {
    #expect(throws: DatasetError.self) {
      try ImageSet(height: 2, width: 2, channels: 1, classes: 3, pixels: [0, 0, 0], labels: [1])
    }
    #expect(throws: DatasetError.self) {
      try ImageSet(height: 1, width: 1, channels: 1, classes: 3, pixels: [0], labels: [3])
    }
    let set = try ImageSet(height: 1, width: 2, channels: 1, classes: 3, pixels: [1, 2, 3, 4], labels: [0, 2])
    #expect(set.count == 2 && set.imageSize == 2)
  }
}
