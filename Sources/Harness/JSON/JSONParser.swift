import Foundation

/// A strict JSON parser (RFC 8259) into ``JSON`` that keeps objects' key order and reads numbers
/// exactly: integers without a fraction or exponent as `Int`, others with Swift's correctly rounded
/// `Double(String)`, so a number printed by ``JSON/canonicalNumber(_:)`` reads back bit for bit.
struct JSONParser {
  /// A syntax error with its byte offset.
  struct Error: Swift.Error, CustomStringConvertible {
    var offset: Int
    var message: String
    var description: String { "invalid JSON at byte \(offset): \(message)" }
  }

  private let bytes: [UInt8]
  private var i = 0

  /// Parses a whole document.
  static func parse(_ data: Data) throws -> JSON {
    var parser = JSONParser(bytes: [UInt8](data))
    let value = try parser.value(depth: 0)
    parser.skipSpace()
    guard parser.i == parser.bytes.count else { throw Error(offset: parser.i, message: "trailing characters") }
    return value
  }

  private init(bytes: [UInt8]) { self.bytes = bytes }

  private mutating func skipSpace() {
    while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
  }

  private func fail(_ message: String) -> Error { Error(offset: i, message: message) }

  private mutating func value(depth: Int) throws -> JSON {
    guard depth < 512 else { throw fail("nesting too deep") }
    skipSpace()
    guard i < bytes.count else { throw fail("unexpected end") }
    switch bytes[i] {
    case UInt8(ascii: "{"):
      i += 1
      var pairs: [(key: String, value: JSON)] = []
      skipSpace()
      if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
        i += 1
        return .object(pairs)
      }
      while true {
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
        let key = try string()
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
        i += 1
        pairs.append((key, try value(depth: depth + 1)))
        skipSpace()
        guard i < bytes.count else { throw fail("unexpected end") }
        if bytes[i] == UInt8(ascii: ",") {
          i += 1
          continue
        }
        if bytes[i] == UInt8(ascii: "}") {
          i += 1
          return .object(pairs)
        }
        throw fail("expected ',' or '}'")
      }
    case UInt8(ascii: "["):
      i += 1
      var items: [JSON] = []
      skipSpace()
      if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
        i += 1
        return .array(items)
      }
      while true {
        items.append(try value(depth: depth + 1))
        skipSpace()
        guard i < bytes.count else { throw fail("unexpected end") }
        if bytes[i] == UInt8(ascii: ",") {
          i += 1
          continue
        }
        if bytes[i] == UInt8(ascii: "]") {
          i += 1
          return .array(items)
        }
        throw fail("expected ',' or ']'")
      }
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"):
      try literal("true")
      return .bool(true)
    case UInt8(ascii: "f"):
      try literal("false")
      return .bool(false)
    case UInt8(ascii: "n"):
      try literal("null")
      return .null
    default: return try number()
    }
  }

  private mutating func literal(_ word: String) throws {
    let w = Array(word.utf8)
    guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { throw fail("expected \(word)") }
    i += w.count
  }

  private mutating func number() throws -> JSON {
    let start = i
    var integral = true
    while i < bytes.count {
      let b = bytes[i]
      if (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+") {
        i += 1
      } else if b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
        integral = false
        i += 1
      } else {
        break
      }
    }
    let text = String(decoding: bytes[start..<i], as: UTF8.self)
    guard !text.isEmpty, text.first != "+", !text.hasPrefix("-+") else { throw fail("expected a value") }
    if integral, let n = Int(text) { return .int(n) }
    guard let d = Double(text), d.isFinite else { throw fail("invalid number '\(text)'") }
    return .double(d)
  }

  private mutating func string() throws -> String {
    i += 1  // opening quote
    var out: [UInt8] = []
    while i < bytes.count {
      let b = bytes[i]
      i += 1
      switch b {
      case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
      case UInt8(ascii: "\\"):
        guard i < bytes.count else { throw fail("unterminated escape") }
        let e = bytes[i]
        i += 1
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
          var scalar = try hex4()
          if (0xD800..<0xDC00).contains(scalar), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"),
            bytes[i + 1] == UInt8(ascii: "u")
          {
            i += 2
            let low = try hex4()
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          }
          out.append(contentsOf: Array(String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8))
        default: throw fail("invalid escape")
        }
      default:
        guard b >= 0x20 else { throw fail("control character in a string") }
        out.append(b)
      }
    }
    throw fail("unterminated string")
  }

  private mutating func hex4() throws -> UInt32 {
    guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
      throw fail("invalid \\u escape")
    }
    i += 4
    return v
  }
}
