/// Reader for the IDX format of MNIST and Fashion-MNIST (LeCun et al.; gzip-compressed or raw).
///
/// An IDX file is a big-endian header — the magic number `0x00000803` for a 3-D unsigned-byte array
/// (images: count, rows, columns) or `0x00000801` for a 1-D one (labels: count) — followed by the
/// bytes. Images become a 1-channel NHWC ``ImageSet``.
public enum IDXReader {
  /// The magic number of an unsigned-byte 3-D IDX file (images).
  public static let imageMagic: UInt32 = 0x0000_0803
  /// The magic number of an unsigned-byte 1-D IDX file (labels).
  public static let labelMagic: UInt32 = 0x0000_0801

  /// Reads an image file and its label file into one set.
  ///
  /// - Parameters:
  ///   - images: path of the `…-images-idx3-ubyte[.gz]` file.
  ///   - labels: path of the `…-labels-idx1-ubyte[.gz]` file.
  ///   - classes: the number of classes; every label must be below it.
  /// - Throws: ``DatasetError``: `missingFile`, `badGzip`, `badMagic`, `truncated`, `trailingBytes`,
  ///   `countMismatch` (the two files disagree on the count), `labelOutOfRange`.
  public static func read(images: String, labels: String, classes: Int = 10) throws -> ImageSet {
    let image = try readImages(images)
    let label = try readLabels(labels, classes: classes)
    guard image.count == label.count else {
      throw DatasetError(
        .countMismatch, file: labels, "\(label.count) labels for \(image.count) images in \(images)",
        expected: "as many labels as images")
    }
    return ImageSet(unchecked: image.rows, image.columns, 1, classes, image.pixels, label)
  }

  /// Reads an IDX image file: the count, the image size and the pixel bytes.
  public static func readImages(_ path: String) throws -> (count: Int, rows: Int, columns: Int, pixels: [UInt8]) {
    let bytes = try FileBytes.read(path)
    try checkHeader(bytes, path: path, magic: imageMagic, dimensions: 3)
    let count = Int(bigEndianWord(bytes, at: 4))
    let rows = Int(bigEndianWord(bytes, at: 8))
    let columns = Int(bigEndianWord(bytes, at: 12))
    guard rows > 0, columns > 0 else {
      throw DatasetError(
        .countMismatch, file: path, "image size \(rows)×\(columns) in the header", expected: "positive rows and columns"
      )
    }
    let (perImage, o1) = rows.multipliedReportingOverflow(by: columns)
    let (total, o2) = count.multipliedReportingOverflow(by: perImage)
    guard !o1, !o2 else {
      throw DatasetError(
        .truncated, file: path, "header claims \(count) images of \(rows)×\(columns), more than can exist",
        expected: "a header matching the file's size")
    }
    try checkPayload(bytes, path: path, header: 16, expected: total, what: "\(count) images of \(rows)×\(columns)")
    return (count, rows, columns, Array(bytes[16...]))
  }

  /// Reads an IDX label file; every label must be in `0..<classes`.
  public static func readLabels(_ path: String, classes: Int) throws -> [Int] {
    let bytes = try FileBytes.read(path)
    try checkHeader(bytes, path: path, magic: labelMagic, dimensions: 1)
    let count = Int(bigEndianWord(bytes, at: 4))
    try checkPayload(bytes, path: path, header: 8, expected: count, what: "\(count) labels")
    var labels = [Int](repeating: 0, count: count)
    for i in 0..<count {
      let value = Int(bytes[8 + i])
      guard value < classes else {
        throw DatasetError(
          .labelOutOfRange, file: path, "label \(value) at example \(i)", expected: "labels in 0..<\(classes)")
      }
      labels[i] = value
    }
    return labels
  }

  private static func checkHeader(_ bytes: [UInt8], path: String, magic: UInt32, dimensions: Int) throws {
    let headerSize = 4 + 4 * dimensions
    let kind = dimensions == 3 ? "image" : "label"
    guard bytes.count >= 4 else {
      throw DatasetError(
        .truncated, file: path, "\(bytes.count) bytes, too short for an IDX header",
        expected: "an IDX \(kind) file with a \(headerSize)-byte header")
    }
    let found = bigEndianWord(bytes, at: 0)
    guard found == magic else {
      throw DatasetError(
        .badMagic, file: path, "magic number 0x\(hex(found))",
        expected: "0x\(hex(magic)) (IDX unsigned-byte \(kind) file)")
    }
    guard bytes.count >= headerSize else {
      throw DatasetError(
        .truncated, file: path, "\(bytes.count) bytes, the header needs \(headerSize)",
        expected: "an IDX \(kind) file with a \(headerSize)-byte header")
    }
  }

  private static func checkPayload(_ bytes: [UInt8], path: String, header: Int, expected: Int, what: String) throws {
    let have = bytes.count - header
    if have < expected {
      throw DatasetError(
        .truncated, file: path, "\(have) data bytes after the header",
        expected: "\(expected) bytes for \(what)")
    }
    if have > expected {
      throw DatasetError(
        .trailingBytes, file: path, "\(have) data bytes after the header",
        expected: "\(expected) bytes for \(what)")
    }
  }

  private static func bigEndianWord(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
      | UInt32(bytes[offset + 3])
  }

  private static func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
  }
}
