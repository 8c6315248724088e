import Foundation
import Yams

/// A YAML node as the manifest reader sees it: a scalar with its resolved tag, an ordered mapping, a
/// sequence or null, each with its 1-based line (from Yams' `Node.mark`).
struct ManifestNode: Sendable {
  /// A scalar's text and how YAML resolved it.
  struct Scalar: Sendable {
    enum Kind: Sendable { case string, int, float, bool, other }
    var text: String
    var kind: Kind
    /// `node.int`/`node.float`/`node.bool` as Yams constructs them.
    var int: Int?
    var double: Double?
    var bool: Bool?
  }

  /// One key of a mapping.
  struct Entry: Sendable {
    var key: String
    var value: ManifestNode
    /// The key's own line (a block mapping's value starts on the next line).
    var keyLine: Int

    init(key: String, value: ManifestNode, keyLine: Int? = nil) {
      self.key = key
      self.value = value
      self.keyLine = keyLine ?? value.line
    }
  }

  enum Kind: Sendable {
    case null
    case scalar(Scalar)
    case mapping([Entry])
    case sequence([ManifestNode])
  }

  var kind: Kind
  var line: Int
  /// The profile whose overlay supplied this node (nil: the base manifest); error paths get its prefix.
  var profile: String? = nil

  /// Converts a composed Yams node, keeping line numbers.
  init(_ node: Node) {
    line = node.mark?.line ?? 1
    switch node {
    case .scalar(let s):
      switch Tag.Name(rawValue: node.tag.rawValue) {
      case .null: kind = .null
      case .int: kind = .scalar(Scalar(text: s.string, kind: .int, int: node.int, double: node.float, bool: nil))
      case .float: kind = .scalar(Scalar(text: s.string, kind: .float, int: nil, double: node.float, bool: nil))
      case .bool: kind = .scalar(Scalar(text: s.string, kind: .bool, int: nil, double: nil, bool: node.bool))
      case .str: kind = .scalar(Scalar(text: s.string, kind: .string, int: nil, double: nil, bool: nil))
      default: kind = .scalar(Scalar(text: s.string, kind: .other, int: nil, double: nil, bool: nil))
      }
    case .mapping(let m):
      kind = .mapping(
        m.map { Entry(key: $0.key.string ?? "\($0.key)", value: ManifestNode($0.value), keyLine: $0.key.mark?.line) })
    case .sequence(let s):
      kind = .sequence(s.map { ManifestNode($0) })
    case .alias:
      kind = .null
    }
  }

  init(kind: Kind, line: Int, profile: String? = nil) {
    self.kind = kind
    self.line = line
    self.profile = profile
  }

  /// The node and all its descendants marked as supplied by `profile`'s overlay.
  func tagged(_ profile: String) -> ManifestNode {
    switch kind {
    case .mapping(let e):
      return ManifestNode(
        kind: .mapping(e.map { Entry(key: $0.key, value: $0.value.tagged(profile), keyLine: $0.keyLine) }), line: line,
        profile: profile)
    case .sequence(let s):
      return ManifestNode(kind: .sequence(s.map { $0.tagged(profile) }), line: line, profile: profile)
    default:
      return ManifestNode(kind: kind, line: line, profile: profile)
    }
  }

  var isNull: Bool { if case .null = kind { true } else { false } }
  var entries: [Entry]? { if case .mapping(let e) = kind { e } else { nil } }
  var items: [ManifestNode]? { if case .sequence(let s) = kind { s } else { nil } }
  var scalar: Scalar? { if case .scalar(let s) = kind { s } else { nil } }

  /// The value at `key` of a mapping (nil if absent or not a mapping).
  subscript(key: String) -> ManifestNode? { entries?.first { $0.key == key }?.value }

  /// A short name of the node's type for error messages.
  var typeName: String {
    switch kind {
    case .null: "null"
    case .mapping: "a mapping"
    case .sequence: "a list"
    case .scalar(let s):
      switch s.kind {
      case .string, .other: "the string '\(s.text)'"
      case .int: "the integer \(s.text)"
      case .float: "the number \(s.text)"
      case .bool: "the boolean \(s.text)"
      }
    }
  }

  /// The node with the mapping value at `path` replaced by `value` (the path must exist).
  func replacing(_ path: ArraySlice<String>, with value: ManifestNode) -> ManifestNode {
    guard let first = path.first, case .mapping(var entries) = kind,
      let i = entries.firstIndex(where: { $0.key == first })
    else { return path.isEmpty ? value : self }
    entries[i].value = entries[i].value.replacing(path.dropFirst(), with: value)
    return ManifestNode(kind: .mapping(entries), line: line, profile: profile)
  }

  /// The node as JSON (mappings keep their order; scalars by their resolved type).
  var json: JSON {
    switch kind {
    case .null: return .null
    case .mapping(let e): return .object(e.map { ($0.key, $0.value.json) })
    case .sequence(let s): return .array(s.map(\.json))
    case .scalar(let s):
      switch s.kind {
      case .int: return s.int.map(JSON.int) ?? .string(s.text)
      case .float: return s.double.map(JSON.double) ?? .string(s.text)
      case .bool: return s.bool.map(JSON.bool) ?? .string(s.text)
      case .string, .other: return .string(s.text)
      }
    }
  }
}
