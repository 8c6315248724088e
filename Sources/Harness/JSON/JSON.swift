import Foundation

/// A JSON value whose objects keep their key order, so the harness controls exactly how result files,
/// settings and job identities are printed.
///
/// Numbers are `int` when they have an exact integer value (decoding prefers `Int`), else `double`.
/// ``canonical`` prints them so that equal values print equal text (see ``JSON/canonicalNumber(_:)``).
public enum JSON: Hashable, Sendable {
  case null
  case bool(Bool)
  case int(Int)
  case double(Double)
  case string(String)
  case array([JSON])
  /// An object with its keys in insertion order (``canonical`` sorts them; ``pretty(indent:)`` keeps them).
  case object([(key: String, value: JSON)])

  public static func == (a: JSON, b: JSON) -> Bool { a.canonical == b.canonical }
  public func hash(into hasher: inout Hasher) { hasher.combine(canonical) }

  /// The value at `key` of an object (nil for other values or a missing key).
  public subscript(key: String) -> JSON? {
    guard case .object(let pairs) = self else { return nil }
    return pairs.first { $0.key == key }?.value
  }

  /// The string payload, if this is a string.
  public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
  /// The boolean payload, if this is a boolean.
  public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
  /// The numeric payload as a `Double`, if this is a number.
  public var doubleValue: Double? {
    switch self {
    case .int(let i): Double(i)
    case .double(let d): d
    default: nil
    }
  }
  /// The integer payload, if this is an integral number.
  public var intValue: Int? {
    switch self {
    case .int(let i): i
    case .double(let d) where d.rounded() == d && abs(d) < 9.0e15: Int(d)
    default: nil
    }
  }
  /// The elements, if this is an array.
  public var arrayValue: [JSON]? { if case .array(let a) = self { a } else { nil } }
  /// The key–value pairs, if this is an object.
  public var objectValue: [(key: String, value: JSON)]? { if case .object(let o) = self { o } else { nil } }

  /// The value at a dotted key path (`dataset.imbalance.ratio`), descending through objects one
  /// component at a time with ``subscript(_:)``; nil when a component is missing or a non-object is
  /// reached. Components are not trimmed: an empty one (`a..b`) looks up the key `""`.
  public func value(atPath path: String) -> JSON? {
    var node: JSON? = self
    for part in path.split(separator: ".", omittingEmptySubsequences: false) {
      node = node?[String(part)]
    }
    return node
  }

  /// A short human-readable form for table headers, setting labels and report cells: a string bare
  /// (no quotes, no escapes), a number as ``canonicalNumber(_:)`` prints it (`100`, `0.1`) except that
  /// a non-finite double, which a YAML value such as `.nan` can give, prints as Swift does (`nan`,
  /// `inf`), `true`/`false`, `null`, arrays and objects as ``compact``.
  public var label: String {
    switch self {
    case .string(let s): s
    case .double(let d) where !d.isFinite: d.description
    default: compact
    }
  }

  /// The value with every object's keys sorted (recursively).
  public var sortedKeys: JSON {
    switch self {
    case .array(let a): .array(a.map(\.sortedKeys))
    case .object(let o): .object(o.map { ($0.key, $0.value.sortedKeys) }.sorted { $0.key < $1.key })
    default: self
    }
  }
}

// MARK: - Codable bridge

extension JSON: Codable {
  private struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }

  /// Decodes any JSON value; objects come out with sorted keys (JSON objects are unordered).
  public init(from decoder: Decoder) throws {
    if let c = try? decoder.container(keyedBy: Key.self) {
      let pairs = try c.allKeys.map { ($0.stringValue, try c.decode(JSON.self, forKey: $0)) }
      self = .object(pairs.sorted { $0.0 < $1.0 })
      return
    }
    if var c = try? decoder.unkeyedContainer() {
      var items: [JSON] = []
      while !c.isAtEnd { items.append(try c.decode(JSON.self)) }
      self = .array(items)
      return
    }
    let c = try decoder.singleValueContainer()
    if c.decodeNil() {
      self = .null
    } else if let b = try? c.decode(Bool.self) {
      self = .bool(b)
    } else if let i = try? c.decode(Int.self) {
      self = .int(i)
    } else if let d = try? c.decode(Double.self) {
      self = .double(d)
    } else {
      self = .string(try c.decode(String.self))
    }
  }

  public func encode(to encoder: Encoder) throws {
    switch self {
    case .null:
      var c = encoder.singleValueContainer()
      try c.encodeNil()
    case .bool(let b):
      var c = encoder.singleValueContainer()
      try c.encode(b)
    case .int(let i):
      var c = encoder.singleValueContainer()
      try c.encode(i)
    case .double(let d):
      var c = encoder.singleValueContainer()
      try c.encode(d)
    case .string(let s):
      var c = encoder.singleValueContainer()
      try c.encode(s)
    case .array(let a):
      var c = encoder.unkeyedContainer()
      for v in a { try c.encode(v) }
    case .object(let o):
      var c = encoder.container(keyedBy: Key.self)
      for (k, v) in o { try c.encode(v, forKey: Key(stringValue: k)) }
    }
  }

  /// The JSON value of any `Encodable` (through `JSONEncoder` with sorted keys).
  public init<T: Encodable>(encoding value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    self = try JSONParser.parse(try encoder.encode(value))
  }

  /// Parses JSON text (objects keep the file's key order; see ``JSONParser``).
  public init(parsing data: Data) throws {
    self = try JSONParser.parse(data)
  }

  /// Decodes the value into a `Decodable` type (through `JSONDecoder`).
  public func decode<T: Decodable>(_ type: T.Type) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(canonical.utf8))
  }
}

// MARK: - Printing

extension JSON {
  /// Canonical JSON: object keys sorted by their UTF-8 bytes, no whitespace, strings escaped minimally
  /// (`\"`, `\\`, `\b \f \n \r \t`, other control characters as `\u00XX`, everything else as UTF-8),
  /// numbers as ``canonicalNumber(_:)`` prints them. Equal values give equal text; it is what job ids hash.
  public var canonical: String {
    var out = ""
    writeCompact(into: &out, sortKeys: true)
    return out
  }

  /// Compact JSON with object keys in insertion order: ``canonical`` without the key sorting (no
  /// whitespace, the same numbers and escapes). Two values print equal text exactly when they are equal
  /// with their keys in the same order; reports use it as the key of a setting and to print a nested
  /// value on one line.
  public var compact: String {
    var out = ""
    writeCompact(into: &out, sortKeys: false)
    return out
  }

  private func writeCompact(into out: inout String, sortKeys: Bool) {
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .int(let i): out += String(i)
    case .double(let d): out += JSON.canonicalNumber(d)
    case .string(let s): JSON.writeString(s, into: &out)
    case .array(let a):
      out += "["
      for (i, v) in a.enumerated() {
        if i > 0 { out += "," }
        v.writeCompact(into: &out, sortKeys: sortKeys)
      }
      out += "]"
    case .object(let o):
      out += "{"
      let pairs = sortKeys ? o.sorted { Array($0.key.utf8).lexicographicallyPrecedes($1.key.utf8) } : o
      for (i, pair) in pairs.enumerated() {
        if i > 0 { out += "," }
        JSON.writeString(pair.key, into: &out)
        out += ":"
        pair.value.writeCompact(into: &out, sortKeys: sortKeys)
      }
      out += "}"
    }
  }

  /// A number as canonical JSON text: an integral value below 2⁵³ in magnitude prints as an integer
  /// (`100`, not `100.0`; −0 prints `0`), any other finite value as Swift's shortest representation
  /// that round-trips (`0.1`, `1e-05`); NaN and ±∞, which JSON cannot hold, print `null`.
  public static func canonicalNumber(_ d: Double) -> String {
    guard d.isFinite else { return "null" }
    if d.rounded() == d && abs(d) < 9_007_199_254_740_992 { return String(Int64(d)) }
    return d.description
  }

  static func writeString(_ s: String, into out: inout String) {
    out += "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case "\u{08}": out += "\\b"
      case "\u{0C}": out += "\\f"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    out += "\""
  }

  /// Human-readable JSON with keys in insertion order: objects one key per line, arrays of scalars on
  /// one line, numbers as in ``canonical``. Deterministic for a given value; ends without a newline.
  public func pretty(indent: Int = 2) -> String {
    var out = ""
    writePretty(into: &out, level: 0, indent: indent)
    return out
  }

  private var isScalar: Bool {
    switch self {
    case .array, .object: false
    default: true
    }
  }

  private func writePretty(into out: inout String, level: Int, indent: Int) {
    let pad = String(repeating: " ", count: (level + 1) * indent)
    let closePad = String(repeating: " ", count: level * indent)
    switch self {
    case .array(let a) where a.isEmpty: out += "[]"
    case .array(let a) where a.allSatisfy(\.isScalar):
      out += "[" + a.map(\.canonical).joined(separator: ", ") + "]"
    case .array(let a):
      out += "[\n"
      for (i, v) in a.enumerated() {
        out += pad
        v.writePretty(into: &out, level: level + 1, indent: indent)
        out += i + 1 < a.count ? ",\n" : "\n"
      }
      out += closePad + "]"
    case .object(let o) where o.isEmpty: out += "{}"
    case .object(let o):
      out += "{\n"
      for (i, pair) in o.enumerated() {
        out += pad
        JSON.writeString(pair.key, into: &out)
        out += ": "
        pair.value.writePretty(into: &out, level: level + 1, indent: indent)
        out += i + 1 < o.count ? ",\n" : "\n"
      }
      out += closePad + "}"
    default: writeCompact(into: &out, sortKeys: true)
    }
  }
}
