/// A JSON value that keeps the order of object keys as written (result files store `setting` as an
/// ordered map) and prints deterministically: numbers in Swift's shortest round-trip form, integral
/// values below 2^53 without `.0`, non-finite numbers as `null`, strings escaped per RFC 8259.
public indirect enum OrderedJSON: Sendable, Equatable {
  /// `null`.
  case null
  /// `true` / `false`.
  case bool(Bool)
  /// A number.
  case number(Double)
  /// A string.
  case string(String)
  /// An array.
  case array([OrderedJSON])
  /// An object, keys in document order.
  case object([(String, OrderedJSON)])

  public static func == (a: OrderedJSON, b: OrderedJSON) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.number(let x), .number(let y)): return x == y
    case (.string(let x), .string(let y)): return x == y
    case (.array(let x), .array(let y)): return x == y
    case (.object(let x), .object(let y)):
      return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    default: return false
    }
  }

  /// The member `key` of an object (the first one if repeated).
  public subscript(key: String) -> OrderedJSON? {
    guard case .object(let members) = self else { return nil }
    return members.first { $0.0 == key }?.1
  }

  /// The value at a dotted key path (`dataset.imbalance.ratio`), descending through objects.
  public func value(atPath path: String) -> OrderedJSON? {
    var node: OrderedJSON? = self
    for part in path.split(separator: ".", omittingEmptySubsequences: false) {
      node = node?[String(part)]
    }
    return node
  }

  /// The number, if this is one.
  public var double: Double? { if case .number(let x) = self { return x } else { return nil } }
  /// The string, if this is one.
  public var string: String? { if case .string(let x) = self { return x } else { return nil } }
  /// The elements, if this is an array.
  public var array: [OrderedJSON]? { if case .array(let x) = self { return x } else { return nil } }
  /// The members in order, if this is an object.
  public var members: [(String, OrderedJSON)]? { if case .object(let x) = self { return x } else { return nil } }
  /// The numbers of an array (`null` → NaN), if this is an array.
  public var doubles: [Double]? {
    array?.map { $0.double ?? .nan }
  }

  /// A short human-readable form for labels: strings bare, numbers compact, others as JSON.
  public var label: String {
    switch self {
    case .string(let s): return s
    case .number(let x): return OrderedJSON.formatNumber(x)
    case .bool(let b): return b ? "true" : "false"
    default: return serialized()
    }
  }

  // MARK: Serialisation

  /// Compact JSON (no whitespace), or indented by `indent` spaces per level (one member per line).
  public func serialized(indent: Int? = nil) -> String {
    var out = ""
    write(into: &out, indent: indent, level: 0)
    return out
  }

  private func write(into out: inout String, indent: Int?, level: Int) {
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .number(let x): out += x.isFinite ? OrderedJSON.formatNumber(x) : "null"
    case .string(let s): OrderedJSON.writeString(s, into: &out)
    case .array(let items):
      if items.isEmpty {
        out += "[]"
        return
      }
      out += "["
      for (i, item) in items.enumerated() {
        if i > 0 { out += "," }
        newline(&out, indent, level + 1)
        item.write(into: &out, indent: indent, level: level + 1)
      }
      newline(&out, indent, level)
      out += "]"
    case .object(let members):
      if members.isEmpty {
        out += "{}"
        return
      }
      out += "{"
      for (i, (k, v)) in members.enumerated() {
        if i > 0 { out += "," }
        newline(&out, indent, level + 1)
        OrderedJSON.writeString(k, into: &out)
        out += indent == nil ? ":" : ": "
        v.write(into: &out, indent: indent, level: level + 1)
      }
      newline(&out, indent, level)
      out += "}"
    }
  }

  private func newline(_ out: inout String, _ indent: Int?, _ level: Int) {
    guard let indent else { return }
    out += "\n" + String(repeating: " ", count: indent * level)
  }

  /// Integral values with |x| < 2^53 as integers, others in Swift's shortest round-trip form.
  static func formatNumber(_ x: Double) -> String {
    if x == x.rounded(), abs(x) < 9.007_199_254_740_992e15 { return String(Int64(x)) }
    return x.description
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
      default:
        if scalar.value < 0x20 {
          let hex = String(scalar.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    out += "\""
  }

  // MARK: Parsing

  /// Why a document is not JSON: the byte offset and what was expected there.
  public struct ParseError: Error, CustomStringConvertible, Sendable {
    /// UTF-8 byte offset of the problem.
    public var offset: Int
    /// What was expected.
    public var message: String
    public var description: String { "invalid JSON at byte \(offset): \(message)" }
  }

  /// Parses a complete JSON document (RFC 8259), keeping object key order.
  public static func parse(_ text: String) throws -> OrderedJSON {
    var parser = Parser(bytes: Array(text.utf8))
    parser.skipSpace()
    let value = try parser.parseValue(depth: 0)
    parser.skipSpace()
    guard parser.index == parser.bytes.count else { throw ParseError(offset: parser.index, message: "end of document") }
    return value
  }

  private struct Parser {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func skipSpace() {
      while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
    }

    func fail(_ message: String) -> ParseError { ParseError(offset: index, message: message) }

    mutating func expect(_ literal: String, _ value: OrderedJSON) throws -> OrderedJSON {
      let l = Array(literal.utf8)
      guard index + l.count <= bytes.count, Array(bytes[index..<index + l.count]) == l else {
        throw fail("'\(literal)'")
      }
      index += l.count
      return value
    }

    mutating func parseValue(depth: Int) throws -> OrderedJSON {
      guard depth < 512 else { throw fail("nesting depth below 512") }
      guard index < bytes.count else { throw fail("a value") }
      switch bytes[index] {
      case UInt8(ascii: "{"): return try parseObject(depth: depth)
      case UInt8(ascii: "["): return try parseArray(depth: depth)
      case UInt8(ascii: "\""): return .string(try parseString())
      case UInt8(ascii: "t"): return try expect("true", .bool(true))
      case UInt8(ascii: "f"): return try expect("false", .bool(false))
      case UInt8(ascii: "n"): return try expect("null", .null)
      default: return try parseNumber()
      }
    }

    mutating func parseObject(depth: Int) throws -> OrderedJSON {
      index += 1
      var members: [(String, OrderedJSON)] = []
      skipSpace()
      if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
        index += 1
        return .object(members)
      }
      while true {
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("a string key") }
        let key = try parseString()
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("':'") }
        index += 1
        skipSpace()
        members.append((key, try parseValue(depth: depth + 1)))
        skipSpace()
        guard index < bytes.count else { throw fail("',' or '}'") }
        if bytes[index] == UInt8(ascii: ",") {
          index += 1
          continue
        }
        guard bytes[index] == UInt8(ascii: "}") else { throw fail("',' or '}'") }
        index += 1
        return .object(members)
      }
    }

    mutating func parseArray(depth: Int) throws -> OrderedJSON {
      index += 1
      var items: [OrderedJSON] = []
      skipSpace()
      if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
        index += 1
        return .array(items)
      }
      while true {
        skipSpace()
        items.append(try parseValue(depth: depth + 1))
        skipSpace()
        guard index < bytes.count else { throw fail("',' or ']'") }
        if bytes[index] == UInt8(ascii: ",") {
          index += 1
          continue
        }
        guard bytes[index] == UInt8(ascii: "]") else { throw fail("',' or ']'") }
        index += 1
        return .array(items)
      }
    }

    mutating func parseHex4() throws -> UInt32 {
      guard index + 4 <= bytes.count,
        let v = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
      else { throw fail("four hex digits") }
      index += 4
      return v
    }

    mutating func parseString() throws -> String {
      index += 1
      var utf8: [UInt8] = []
      while true {
        guard index < bytes.count else { throw fail("closing '\"'") }
        let b = bytes[index]
        index += 1
        if b == UInt8(ascii: "\"") { break }
        if b < 0x20 { throw fail("no control character in a string") }
        guard b == UInt8(ascii: "\\") else {
          utf8.append(b)
          continue
        }
        guard index < bytes.count else { throw fail("an escape") }
        let e = bytes[index]
        index += 1
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(e)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
          var code = try parseHex4()
          if (0xD800..<0xDC00).contains(code), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
            bytes[index + 1] == UInt8(ascii: "u")
          {
            index += 2
            let low = try parseHex4()
            code = 0x10000 + ((code - 0xD800) << 10) + (low &- 0xDC00 & 0x3FF)
          }
          let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
          utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
        default: throw fail("a valid escape")
        }
      }
      return String(decoding: utf8, as: UTF8.self)
    }

    mutating func parseNumber() throws -> OrderedJSON {
      let start = index
      while index < bytes.count, "+-0123456789.eE".utf8.contains(bytes[index]) { index += 1 }
      let text = String(decoding: bytes[start..<index], as: UTF8.self)
      guard !text.isEmpty, let x = Double(text), x.isFinite else {
        index = start
        throw fail("a value")
      }
      return .number(x)
    }
  }
}
