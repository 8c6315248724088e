/// One problem in a manifest, located by file, line and key path.
///
/// Its description is `file:line: key.path: what is wrong (expected …)`, the form editors and CI logs
/// link to.
public struct ManifestError: Error, CustomStringConvertible, Hashable, Sendable {
  /// The kind of problem.
  public enum Code: String, Sendable, Hashable {
    /// The file cannot be read.
    case unreadable = "unreadable"
    /// The file is not valid YAML.
    case syntax = "syntax"
    /// A mapping repeats a key.
    case duplicateKey = "duplicate-key"
    /// A key the schema does not have.
    case unknownKey = "unknown-key"
    /// A required key is absent.
    case missingKey = "missing-key"
    /// A value of the wrong type (a string where a number goes, a list where an object goes, …).
    case wrongType = "wrong-type"
    /// A dataset, model, loss, hook or profile name that is not registered.
    case unknownName = "unknown-name"
    /// A number out of its range or a string in the wrong format.
    case invalidValue = "invalid-value"
    /// A grid axis with no values, or an empty `methods`/`seeds`/`metrics` list.
    case emptyList = "empty-list"
    /// A list where the schema allows no grid (inside a method, or a list of lists).
    case gridNotAllowed = "grid-not-allowed"
    /// Two methods with one id, or a seed listed twice.
    case duplicate = "duplicate"
    /// A profile overlay names a key or method id that the base manifest (and its schema) does not have.
    case overlayUnknownKey = "overlay-unknown-key"
    /// The manifest's `name` is not its folder's name.
    case nameMismatch = "name-mismatch"
  }

  /// The kind of problem.
  public var code: Code
  /// The manifest's path.
  public var file: String
  /// 1-based line of the offending node (of its parent mapping for a missing key).
  public var line: Int
  /// Dotted key path, with list indices in brackets: `methods[1].loss.max_m`; `(root)` for the document.
  public var keyPath: String
  /// What is wrong.
  public var message: String
  /// What would be right.
  public var expected: String

  /// Creates an error.
  public init(_ code: Code, file: String, line: Int, keyPath: String, _ message: String, expected: String) {
    self.code = code
    self.file = file
    self.line = line
    self.keyPath = keyPath
    self.message = message
    self.expected = expected
  }

  public var description: String {
    "\(file):\(line): \(keyPath.isEmpty ? "(root)" : keyPath): \(message) (expected \(expected))"
  }
}

/// Every problem found in one or more manifests; nothing runs while any exists.
public struct ManifestErrors: Error, CustomStringConvertible, Sendable {
  /// The problems, ordered by file, then line, then key path.
  public var errors: [ManifestError]

  /// Creates the collection, sorting and de-duplicating the problems.
  public init(_ errors: [ManifestError]) {
    var seen = Set<ManifestError>()
    self.errors = errors.filter { seen.insert($0).inserted }.sorted {
      ($0.file, $0.line, $0.keyPath, $0.message) < ($1.file, $1.line, $1.keyPath, $1.message)
    }
  }

  public var description: String { errors.map(\.description).joined(separator: "\n") }
}
