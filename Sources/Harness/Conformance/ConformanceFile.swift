import Foundation

/// A JSON value of a conformance file, as read by `JSONSerialization`.
///
/// Numbers keep whether the text was an integer or a real; reals are the exact float64 the text
/// denotes (shortest round-trip values are parsed from their decimal text, not through `Decimal`).
indirect enum JSONValue: Hashable, Sendable {
  case integer(Int)
  case real(Double)
  case bool(Bool)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])
  case null

  /// Converts a `JSONSerialization` object.
  init(foundation value: Any) {
    switch value {
    case let dict as [String: Any]:
      self = .object(dict.mapValues(JSONValue.init(foundation:)))
    case let list as [Any]:
      self = .array(list.map(JSONValue.init(foundation:)))
    case let string as String:
      self = .string(string)
    case let decimal as NSDecimalNumber:
      // corelibs Foundation reads long mantissas as Decimal; its doubleValue can be off by an ulp.
      self = Double(decimal.description).map(JSONValue.real) ?? .real(decimal.doubleValue)
    case let number as NSNumber:
      switch String(cString: number.objCType) {
      case "c", "B": self = .bool(number.boolValue)
      case "d", "f": self = .real(number.doubleValue)
      default: self = .integer(number.intValue)
      }
    default:
      self = .null
    }
  }

  /// The number, integer or real.
  var number: Double? {
    switch self {
    case .integer(let i): return Double(i)
    case .real(let d): return d
    default: return nil
    }
  }

  /// A short name of the value's type, for error messages.
  var typeName: String {
    switch self {
    case .integer: return "integer"
    case .real: return "number"
    case .bool: return "boolean"
    case .string: return "string"
    case .array: return "array"
    case .object: return "object"
    case .null: return "null"
    }
  }
}

/// An error in a conformance file: it cannot be read, is not `replicate-conformance/1`, or a case
/// lacks a key or has a value of the wrong type. The description names the file, the key path and,
/// where known, the line.
public struct ConformanceError: Error, CustomStringConvertible, Sendable {
  /// What went wrong.
  public enum Code: String, Sendable {
    /// The file cannot be read.
    case unreadable
    /// The file is not JSON.
    case notJSON
    /// `format` is missing or not `replicate-conformance/1`.
    case wrongFormat
    /// A required key is missing.
    case missingKey
    /// A value has the wrong type or shape.
    case wrongType
    /// Two cases share an id.
    case duplicateID
  }

  /// The kind of error.
  public var code: Code
  /// The file.
  public var file: String
  /// The key path, e.g. `cases[3].inputs.logits`.
  public var keyPath: String
  /// The 1-based line of the case, when known.
  public var line: Int?
  /// What was expected.
  public var message: String

  public var description: String {
    let at = line.map { "\(file):\($0)" } ?? file
    return "\(at): \(keyPath.isEmpty ? "" : "\(keyPath): ")\(message) [\(code.rawValue)]"
  }
}

/// One case of a conformance file.
struct ConformanceCase {
  var id: String
  var method: String
  var kind: String
  var params: [String: JSONValue]
  var inputs: [String: JSONValue]
  var expected: [String: JSONValue]
  var absoluteTolerance: Double
  var relativeTolerance: Double
  /// For error messages.
  var file: String
  var index: Int
  var line: Int?

  func error(_ code: ConformanceError.Code, _ key: String, _ message: String) -> ConformanceError {
    ConformanceError(
      code: code, file: file, keyPath: "cases[\(index)]\(key.isEmpty ? "" : ".")\(key)", line: line, message: message)
  }
}

/// Reads `replicate-conformance/1` files.
enum ConformanceFileReader {
  /// The format tag.
  static let format = "replicate-conformance/1"

  static func read(data: Data, file: String) throws -> [ConformanceCase] {
    let root: Any
    do {
      root = try JSONSerialization.jsonObject(with: data)
    } catch {
      throw ConformanceError(
        code: .notJSON, file: file, keyPath: "", line: nil, message: "not valid JSON (\(error.localizedDescription))")
    }
    guard case .object(let top) = JSONValue(foundation: root) else {
      throw ConformanceError(
        code: .wrongType, file: file, keyPath: "", line: nil, message: "expected a JSON object at the top level")
    }
    guard case .string(let tag)? = top["format"], tag == format else {
      throw ConformanceError(
        code: .wrongFormat, file: file, keyPath: "format", line: nil,
        message: "expected \"\(format)\", got \(top["format"].map { "\($0)" } ?? "nothing")")
    }
    guard case .array(let list)? = top["cases"] else {
      throw ConformanceError(
        code: .missingKey, file: file, keyPath: "cases", line: nil, message: "expected an array of cases")
    }
    let lines = CaseLines(data: data)
    var seen: Set<String> = []
    var cases: [ConformanceCase] = []
    for (index, item) in list.enumerated() {
      let path = "cases[\(index)]"
      guard case .object(let c) = item else {
        throw ConformanceError(
          code: .wrongType, file: file, keyPath: path, line: nil, message: "expected an object, got \(item.typeName)")
      }
      guard case .string(let id)? = c["id"] else {
        throw ConformanceError(
          code: .missingKey, file: file, keyPath: "\(path).id", line: nil, message: "expected a string id")
      }
      let line = lines.line(ofID: id)
      func fail(_ code: ConformanceError.Code, _ key: String, _ message: String) -> ConformanceError {
        ConformanceError(code: code, file: file, keyPath: "\(path).\(key)", line: line, message: message)
      }
      guard seen.insert(id).inserted else { throw fail(.duplicateID, "id", "duplicate id '\(id)'") }
      guard case .string(let method)? = c["method"] else { throw fail(.missingKey, "method", "expected a string") }
      let kind: String
      if case .string(let k)? = c["kind"] { kind = k } else { kind = "" }
      func object(_ key: String) throws -> [String: JSONValue] {
        guard let v = c[key] else { throw fail(.missingKey, key, "missing") }
        guard case .object(let o) = v else { throw fail(.wrongType, key, "expected an object, got \(v.typeName)") }
        return o
      }
      let params = try object("params")
      let inputs = try object("inputs")
      let expected = try object("expected")
      let tolerance = try object("tolerance")
      guard let abs = tolerance["abs"]?.number, let rel = tolerance["rel"]?.number, abs >= 0, rel >= 0 else {
        throw fail(.wrongType, "tolerance", "expected non-negative numbers 'abs' and 'rel'")
      }
      cases.append(
        ConformanceCase(
          id: id, method: method, kind: kind, params: params, inputs: inputs, expected: expected,
          absoluteTolerance: abs, relativeTolerance: rel, file: file, index: index, line: line))
    }
    return cases
  }
}

/// Finds the line on which a case's `"id": "…"` appears, for error messages.
struct CaseLines {
  private var lineByID: [String: Int] = [:]

  init(data: Data) {
    guard let text = String(data: data, encoding: .utf8) else { return }
    var line = 1
    var searchFrom = text.startIndex
    var lineCursor = text.startIndex
    while let r = text.range(of: "\"id\"", range: searchFrom..<text.endIndex) {
      line += text[lineCursor..<r.lowerBound].reduce(0) { $0 + ($1 == "\n" ? 1 : 0) }
      lineCursor = r.lowerBound
      searchFrom = r.upperBound
      // The value: skip whitespace and the colon, then read a string.
      var i = r.upperBound
      while i < text.endIndex, text[i] == " " || text[i] == ":" || text[i] == "\n" || text[i] == "\t" {
        i = text.index(after: i)
      }
      guard i < text.endIndex, text[i] == "\"" else { continue }
      let start = text.index(after: i)
      guard let end = text[start...].firstIndex(of: "\"") else { break }
      let id = String(text[start..<end])
      if lineByID[id] == nil { lineByID[id] = line }
    }
  }

  func line(ofID id: String) -> Int? { lineByID[id] }
}
