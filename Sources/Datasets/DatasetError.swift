/// An error from reading, checking or preparing a dataset.
///
/// Every error names the file (or the setting) it is about, what is wrong and what was expected, so a
/// user can act on it without reading code. Readers never return a partial dataset: they either return
/// every example of every file or throw one of these.
public struct DatasetError: Error, Equatable, Sendable, CustomStringConvertible {
  /// What kind of problem it is; a struct-nested enum so new cases can be added.
  public enum Code: String, Sendable, Equatable, CaseIterable {
    /// The dataset name is not in ``DatasetCatalog/names``.
    case unknownDataset
    /// No directory was given and the dataset has no default one.
    case missingDataDirectory
    /// A file the dataset needs does not exist.
    case missingFile
    /// A file exists but could not be opened or read.
    case unreadable
    /// A gzip stream is corrupt or ends early.
    case badGzip
    /// A file ends before its header says it should.
    case truncated
    /// A file holds more bytes than its header accounts for.
    case trailingBytes
    /// An IDX file's magic number is not the expected one.
    case badMagic
    /// A header's dimensions or counts disagree with the other file or with the official release.
    case countMismatch
    /// A label is not in 0..<classes.
    case labelOutOfRange
    /// A preparation setting (ratio, rate, counts, seed) is invalid for this data.
    case invalidSetting
  }

  /// The kind of problem.
  public var code: Code
  /// The file (or, for settings, the key) the problem is about.
  public var file: String
  /// What is wrong.
  public var message: String
  /// What was expected instead.
  public var expected: String

  /// Creates an error about `file`.
  public init(_ code: Code, file: String, _ message: String, expected: String) {
    self.code = code
    self.file = file
    self.message = message
    self.expected = expected
  }

  public var description: String {
    "\(file): \(message) (\(code.rawValue); expected \(expected))"
  }
}
