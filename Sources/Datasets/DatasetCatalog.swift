/// The datasets `replicate` reads, where it looks for their files, and how it loads them.
///
/// | name | files | default directory |
/// |---|---|---|
/// | `fashion-mnist` | `train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, `t10k-…` | `/usr/share/datasets/fashion-mnist` (Debian `dataset-fashion-mnist`) |
/// | `mnist` | the same names | `/usr/share/datasets/mnist` |
/// | `cifar10` | `data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin` | none: pass `dataDir` |
/// | `cifar100` | `train.bin`, `test.bin` | none: pass `dataDir` |
///
/// With `dataDir`, the files are looked for in `dataDir` itself, then in the dataset's usual subfolders
/// (``subfolders(_:)``: e.g. `cifar-10-batches-bin`, the folder the official archive unpacks to), so
/// `dataDir` may be the dataset's own folder or a root holding several. For IDX files the raw name is
/// preferred when both it and the `.gz` exist. Nothing is cached: every call reads the files again.
public enum DatasetCatalog {
  /// The dataset names, sorted.
  public static let names = ["cifar10", "cifar100", "fashion-mnist", "mnist"]

  /// The number of classes of a dataset.
  public static func classes(_ name: String) throws -> Int {
    try layout(name).classes
  }

  /// The directory searched when no `dataDir` is given, if the dataset has one.
  public static func defaultDirectory(_ name: String) throws -> String? {
    try layout(name).defaultDirectory
  }

  /// The subfolders of `dataDir` searched after `dataDir` itself, in order.
  public static func subfolders(_ name: String) throws -> [String] {
    try layout(name).subfolders
  }

  /// The exact files ``load(_:dataDir:checkOfficialCounts:)`` reads, in the order it reads them (the
  /// training files, then the test files); their content is the dataset's fingerprint.
  ///
  /// - Throws: ``DatasetError`` `unknownDataset`, `missingDataDirectory`, or `missingFile` naming the
  ///   first file that is in none of the searched directories.
  public static func files(_ name: String, dataDir: String?) throws -> [String] {
    let entry = try layout(name)
    let (train, test) = try resolve(name, entry, dataDir: dataDir)
    return train + test
  }

  /// Loads the official train and test sets.
  ///
  /// - Parameters:
  ///   - name: one of ``names``.
  ///   - dataDir: where the files are; `nil` uses ``defaultDirectory(_:)``.
  ///   - checkOfficialCounts: when true (the default), also require the official number of images
  ///     (60,000/10,000 for (Fashion-)MNIST, 50,000/10,000 for CIFAR) and image size, so a file cut at a
  ///     record boundary or a swapped file is an error, not a smaller dataset. Tests on small fixture
  ///     files pass false.
  /// - Throws: ``DatasetError`` for a missing, truncated or malformed file.
  public static func load(_ name: String, dataDir: String?, checkOfficialCounts: Bool = true) throws -> DatasetSplits {
    let entry = try layout(name)
    let (trainFiles, testFiles) = try resolve(name, entry, dataDir: dataDir)
    let train = try entry.read(trainFiles)
    let test = try entry.read(testFiles)
    if checkOfficialCounts {
      try check(train, files: trainFiles, count: entry.officialTrain, entry: entry)
      try check(test, files: testFiles, count: entry.officialTest, entry: entry)
    }
    guard train.height == test.height, train.width == test.width, train.channels == test.channels else {
      throw DatasetError(
        .countMismatch, file: testFiles[0],
        "test images are \(test.height)×\(test.width)×\(test.channels)",
        expected: "the training images' size \(train.height)×\(train.width)×\(train.channels)")
    }
    return DatasetSplits(name: name, train: train, test: test)
  }

  // MARK: - Layouts

  private struct Layout {
    var classes: Int
    var defaultDirectory: String?
    var subfolders: [String]
    /// Per file: the accepted names, the first existing one is used.
    var trainFiles: [[String]]
    var testFiles: [[String]]
    var officialTrain: Int
    var officialTest: Int
    var side: Int
    var channels: Int
    var read: ([String]) throws -> ImageSet
  }

  private static func idxLayout(classes: Int, defaultDirectory: String, subfolders: [String]) -> Layout {
    func names(_ base: String) -> [String] { [base, base + ".gz"] }
    return Layout(
      classes: classes, defaultDirectory: defaultDirectory, subfolders: subfolders,
      trainFiles: [names("train-images-idx3-ubyte"), names("train-labels-idx1-ubyte")],
      testFiles: [names("t10k-images-idx3-ubyte"), names("t10k-labels-idx1-ubyte")],
      officialTrain: 60_000, officialTest: 10_000, side: 28, channels: 1,
      read: { try IDXReader.read(images: $0[0], labels: $0[1], classes: classes) })
  }

  private static func layout(_ name: String) throws -> Layout {
    switch name {
    case "fashion-mnist":
      return idxLayout(
        classes: 10, defaultDirectory: "/usr/share/datasets/fashion-mnist",
        subfolders: ["fashion-mnist", "FashionMNIST/raw"])
    case "mnist":
      return idxLayout(classes: 10, defaultDirectory: "/usr/share/datasets/mnist", subfolders: ["mnist", "MNIST/raw"])
    case "cifar10":
      return Layout(
        classes: 10, defaultDirectory: nil,
        subfolders: ["cifar-10-batches-bin", "cifar10", "cifar10/cifar-10-batches-bin"],
        trainFiles: (1...5).map { ["data_batch_\($0).bin"] }, testFiles: [["test_batch.bin"]],
        officialTrain: 50_000, officialTest: 10_000, side: 32, channels: 3,
        read: { try CIFARReader.read(files: $0, variant: .cifar10) })
    case "cifar100":
      return Layout(
        classes: 100, defaultDirectory: nil,
        subfolders: ["cifar-100-binary", "cifar100", "cifar100/cifar-100-binary"],
        trainFiles: [["train.bin"]], testFiles: [["test.bin"]],
        officialTrain: 50_000, officialTest: 10_000, side: 32, channels: 3,
        read: { try CIFARReader.read(files: $0, variant: .cifar100) })
    default:
      throw DatasetError(
        .unknownDataset, file: "dataset.name", "unknown dataset '\(name)'",
        expected: "one of \(names.joined(separator: ", "))")
    }
  }

  /// The directories to search: `dataDir` and its subfolders, or the default directory.
  private static func directories(_ entry: Layout, dataDir: String?, name: String) throws -> [String] {
    if let dir = dataDir {
      let root = dir.hasSuffix("/") && dir.count > 1 ? String(dir.dropLast()) : dir
      return [root] + entry.subfolders.map { root + "/" + $0 }
    }
    guard let dir = entry.defaultDirectory else {
      throw DatasetError(
        .missingDataDirectory, file: "--data-dir", "dataset '\(name)' has no default directory",
        expected: "a data directory holding \(entry.trainFiles.map { $0[0] }.joined(separator: ", "))")
    }
    return [dir]
  }

  private static func resolve(_ name: String, _ entry: Layout, dataDir: String?) throws -> (
    train: [String], test: [String]
  ) {
    let dirs = try directories(entry, dataDir: dataDir, name: name)
    func find(_ accepted: [String], in dir: String) -> String? {
      accepted.lazy.map { dir + "/" + $0 }.first(where: FileBytes.exists)
    }
    for dir in dirs {
      let train = entry.trainFiles.compactMap { find($0, in: dir) }
      let test = entry.testFiles.compactMap { find($0, in: dir) }
      if train.count == entry.trainFiles.count && test.count == entry.testFiles.count { return (train, test) }
    }
    // Name the first missing file in the first directory that holds any of them (or the first one).
    let all = entry.trainFiles + entry.testFiles
    let dir = dirs.first { dir in all.contains { find($0, in: dir) != nil } } ?? dirs[0]
    let missing = all.first { find($0, in: dir) == nil } ?? all[0]
    throw DatasetError(
      .missingFile, file: dir + "/" + missing[0],
      "no such file" + (missing.count > 1 ? " (nor \(missing.dropFirst().joined(separator: ", ")))" : "")
        + "; searched \(dirs.joined(separator: ", "))",
      expected: "the files \(all.map { $0[0] }.joined(separator: ", ")) in one of those directories")
  }

  private static func check(_ set: ImageSet, files: [String], count: Int, entry: Layout) throws {
    guard set.count == count, set.height == entry.side, set.width == entry.side, set.channels == entry.channels else {
      throw DatasetError(
        .countMismatch, file: files.joined(separator: ", "),
        "\(set.count) images of \(set.height)×\(set.width)×\(set.channels)",
        expected: "the official \(count) images of \(entry.side)×\(entry.side)×\(entry.channels)")
    }
  }
}
