/// A labelled set of images stored as bytes, NHWC.
///
/// Pixel `(n, y, x, c)` is `pixels[((n · height + y) · width + x) · channels + c]`, the byte as stored
/// in the dataset file (0…255). Labels are in `0..<classes`. An `ImageSet` is a value: copies share
/// storage until written, so splits and subsets can hold one without copying the pixels.
public struct ImageSet: Sendable, Equatable {
  /// Rows per image.
  public let height: Int
  /// Columns per image.
  public let width: Int
  /// Channels per pixel (1 for (Fashion-)MNIST, 3 for CIFAR).
  public let channels: Int
  /// The number of classes; every label is in `0..<classes`.
  public let classes: Int
  /// `count · height · width · channels` bytes, NHWC.
  public let pixels: [UInt8]
  /// One label per image.
  public let labels: [Int]

  /// The number of images.
  public var count: Int { labels.count }
  /// Bytes per image: `height · width · channels`.
  public var imageSize: Int { height * width * channels }

  /// Creates a set after checking that the shapes agree and every label is in range.
  ///
  /// - Throws: ``DatasetError`` (`countMismatch`, `labelOutOfRange`); `source` names the data in it.
  public init(
    height: Int, width: Int, channels: Int, classes: Int, pixels: [UInt8], labels: [Int],
    source: String = "image set"
  ) throws {
    guard height > 0, width > 0, channels > 0, classes > 0 else {
      throw DatasetError(
        .countMismatch, file: source,
        "image shape \(height)×\(width)×\(channels) with \(classes) classes",
        expected: "positive height, width, channels and classes")
    }
    guard pixels.count == labels.count * height * width * channels else {
      throw DatasetError(
        .countMismatch, file: source, "\(pixels.count) pixel bytes for \(labels.count) labels",
        expected: "\(labels.count * height * width * channels) bytes (\(height)×\(width)×\(channels) per label)")
    }
    if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
      throw DatasetError(
        .labelOutOfRange, file: source, "label \(labels[bad]) at example \(bad)",
        expected: "labels in 0..<\(classes)")
    }
    self.init(unchecked: height, width, channels, classes, pixels, labels)
  }

  init(unchecked height: Int, _ width: Int, _ channels: Int, _ classes: Int, _ pixels: [UInt8], _ labels: [Int]) {
    self.height = height
    self.width = width
    self.channels = channels
    self.classes = classes
    self.pixels = pixels
    self.labels = labels
  }
}

/// The official train and test sets of one dataset, as read from its files.
public struct DatasetSplits: Sendable, Equatable {
  /// The catalog name (`fashion-mnist`, `mnist`, `cifar10`, `cifar100`).
  public let name: String
  /// The official training set, in file order.
  public let train: ImageSet
  /// The official test set, in file order.
  public let test: ImageSet

  /// Creates splits; `train` and `test` must have the same image shape and classes.
  public init(name: String, train: ImageSet, test: ImageSet) {
    self.name = name
    self.train = train
    self.test = test
  }
}
