/// Reader for the binary versions of CIFAR-10 and CIFAR-100 (Krizhevsky 2009).
///
/// CIFAR-10 (`data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`): records of 1 label byte and
/// 3,072 image bytes. CIFAR-100 (`train.bin`, `test.bin`): records of a coarse label byte, a fine label
/// byte and 3,072 image bytes; the fine label (100 classes) is used. Image bytes are stored channel-major
/// (1,024 red, 1,024 green, 1,024 blue, each row-major 32×32); the reader converts them to NHWC.
public enum CIFARReader {
  /// Which of the two record layouts a file has.
  public enum Variant: Sendable {
    /// 1 label byte + 3,072 pixel bytes; 10 classes.
    case cifar10
    /// coarse label byte (20 classes) + fine label byte (100 classes) + 3,072 pixel bytes.
    case cifar100

    /// Label bytes before the pixels.
    var labelBytes: Int { self == .cifar10 ? 1 : 2 }
    /// The number of (fine) classes.
    public var classes: Int { self == .cifar10 ? 10 : 100 }
  }

  /// Image side (32) and channels (3) of every CIFAR image.
  public static let side = 32, channels = 3
  static let imageBytes = 32 * 32 * 3

  /// Reads and concatenates the records of `files`, in order.
  ///
  /// - Throws: ``DatasetError``: `missingFile`, `badGzip`, `truncated` (the size is not a whole number
  ///   of records, or a file is empty), `labelOutOfRange`.
  public static func read(files: [String], variant: Variant) throws -> ImageSet {
    let recordSize = variant.labelBytes + imageBytes
    var contents: [[UInt8]] = []
    var total = 0
    for path in files {
      let bytes = try FileBytes.read(path)
      guard !bytes.isEmpty, bytes.count % recordSize == 0 else {
        throw DatasetError(
          .truncated, file: path,
          "\(bytes.count) bytes is not a whole, positive number of \(recordSize)-byte records"
            + " (\(bytes.count / recordSize) records and \(bytes.count % recordSize) bytes)",
          expected: "a multiple of \(recordSize) bytes (CIFAR \(variant == .cifar10 ? "10" : "100") binary records)")
      }
      try checkLabels(bytes, path: path, variant: variant, recordSize: recordSize)
      contents.append(bytes)
      total += bytes.count / recordSize
    }
    var pixels = [UInt8](repeating: 0, count: total * imageBytes)
    var labels = [Int](repeating: 0, count: total)
    var n = 0
    pixels.withUnsafeMutableBufferPointer { out in
      for bytes in contents {
        bytes.withUnsafeBufferPointer { src in
          let records = src.count / recordSize
          for r in 0..<records {
            let base = r * recordSize
            labels[n] = Int(src[base + variant.labelBytes - 1])
            let image = base + variant.labelBytes
            let dst = n * imageBytes
            for p in 0..<1024 {
              out[dst + 3 * p] = src[image + p]
              out[dst + 3 * p + 1] = src[image + 1024 + p]
              out[dst + 3 * p + 2] = src[image + 2048 + p]
            }
            n += 1
          }
        }
      }
    }
    return ImageSet(unchecked: side, side, channels, variant.classes, pixels, labels)
  }

  private static func checkLabels(_ bytes: [UInt8], path: String, variant: Variant, recordSize: Int) throws {
    for r in 0..<(bytes.count / recordSize) {
      let base = r * recordSize
      if variant == .cifar100, bytes[base] >= 20 {
        throw DatasetError(
          .labelOutOfRange, file: path, "coarse label \(bytes[base]) in record \(r)",
          expected: "coarse labels in 0..<20")
      }
      let label = Int(bytes[base + variant.labelBytes - 1])
      if label >= variant.classes {
        throw DatasetError(
          .labelOutOfRange, file: path, "label \(label) in record \(r)",
          expected: "labels in 0..<\(variant.classes)")
      }
    }
  }
}
