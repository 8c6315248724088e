import Foundation

@testable import Datasets

/// A fresh temporary directory, removed when the value is released.
final class TemporaryDirectory {
  let path: String

  init() throws {
    path = NSTemporaryDirectory() + "datasets-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  /// `path/name`.
  func file(_ name: String) -> String { path + "/" + name }
}

/// Writers of small dataset files with deterministic content.
enum Fixtures {
  static func write(_ bytes: [UInt8], to path: String) throws {
    let dir = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
  }

  static func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
  }

  /// The pixel of fixture image `n` at (y, x, channel c): a deterministic byte pattern.
  static func pixel(_ n: Int, _ y: Int, _ x: Int, _ c: Int = 0) -> UInt8 {
    UInt8(truncatingIfNeeded: n &* 31 &+ y &* 7 &+ x &* 3 &+ c &* 101)
  }

  /// An IDX image file's bytes (`count` images of rows×columns); `magic`/`headerCount` override the header.
  static func idxImages(count: Int, rows: Int, columns: Int, magic: UInt32 = 0x803, headerCount: Int? = nil) -> [UInt8]
  {
    var bytes =
      bigEndian(magic) + bigEndian(UInt32(headerCount ?? count)) + bigEndian(UInt32(rows))
      + bigEndian(UInt32(columns))
    for n in 0..<count {
      for y in 0..<rows { for x in 0..<columns { bytes.append(pixel(n, y, x)) } }
    }
    return bytes
  }

  /// An IDX label file's bytes.
  static func idxLabels(_ labels: [Int], magic: UInt32 = 0x801, headerCount: Int? = nil) -> [UInt8] {
    bigEndian(magic) + bigEndian(UInt32(headerCount ?? labels.count)) + labels.map { UInt8($0) }
  }

  /// A CIFAR binary file's bytes: per record the label byte(s), then 3,072 CHW pixel bytes.
  /// `first` numbers the images globally (for the pixel pattern); `coarse` adds CIFAR-100's coarse byte.
  static func cifarRecords(labels: [Int], first: Int = 0, coarse: ((Int) -> Int)? = nil) -> [UInt8] {
    var bytes: [UInt8] = []
    for (k, label) in labels.enumerated() {
      if let coarse { bytes.append(UInt8(coarse(label))) }
      bytes.append(UInt8(label))
      for c in 0..<3 {
        for y in 0..<32 { for x in 0..<32 { bytes.append(pixel(first + k, y, x, c)) } }
      }
    }
    return bytes
  }

  /// gzip-compresses `path` to `path.gz` with the system's `gzip -n` and removes `path`.
  static func gzip(_ path: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["gzip", "-n", "-f", path]
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
  }

  /// Writes a Fashion-MNIST-layout directory: `train` and `test` label lists, 4×3 images, optionally gzipped.
  static func writeIDXDataset(in dir: String, train: [Int], test: [Int], gzipped: Bool) throws {
    let files: [(String, [UInt8])] = [
      ("train-images-idx3-ubyte", idxImages(count: train.count, rows: 4, columns: 3)),
      ("train-labels-idx1-ubyte", idxLabels(train)),
      ("t10k-images-idx3-ubyte", idxImages(count: test.count, rows: 4, columns: 3)),
      ("t10k-labels-idx1-ubyte", idxLabels(test)),
    ]
    for (name, bytes) in files {
      try write(bytes, to: dir + "/" + name)
      if gzipped { try gzip(dir + "/" + name) }
    }
  }

  /// Writes a CIFAR-10 binary directory: `perBatch` records in each of the five training batches with
  /// labels `label(i)` for global index i, and `testCount` test records.
  static func writeCIFAR10(in dir: String, perBatch: Int, testCount: Int, label: (Int) -> Int) throws {
    for b in 0..<5 {
      let first = b * perBatch
      try write(
        cifarRecords(labels: (first..<(first + perBatch)).map(label), first: first),
        to: dir + "/data_batch_\(b + 1).bin")
    }
    try write(cifarRecords(labels: (0..<testCount).map(label)), to: dir + "/test_batch.bin")
  }

  /// SHA-256 (hex) of `bytes`, computed by coreutils' `sha256sum` (Foundation on Linux has no SHA).
  static func sha256Hex(_ bytes: [UInt8]) throws -> String {
    let dir = try TemporaryDirectory()
    let path = dir.file("bytes")
    try write(bytes, to: path)
    let process = Process()
    let pipe = Pipe()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["sha256sum", path]
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
  }
}
