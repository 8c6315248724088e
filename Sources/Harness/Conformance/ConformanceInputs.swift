import Engine

/// Typed access to a case's `params` and `inputs`; a missing or mistyped value throws a
/// ``ConformanceError`` naming the key path.
extension ConformanceCase {
  /// Where a value is read from.
  enum Section: String {
    case params, inputs
  }

  private func values(_ section: Section) -> [String: JSONValue] {
    section == .params ? params : inputs
  }

  func has(_ key: String, in section: Section) -> Bool {
    if let v = values(section)[key], v != .null { return true }
    return false
  }

  private func value(_ key: String, in section: Section) throws -> JSONValue {
    guard let v = values(section)[key], v != .null else {
      throw error(.missingKey, "\(section.rawValue).\(key)", "missing (method '\(method)' needs it)")
    }
    return v
  }

  /// A number.
  func double(_ key: String, in section: Section = .params) throws -> Double {
    let v = try value(key, in: section)
    guard let d = v.number else {
      throw error(.wrongType, "\(section.rawValue).\(key)", "expected a number, got \(v.typeName)")
    }
    return d
  }

  /// An integer (a JSON integer, or a real with an integral value).
  func int(_ key: String, in section: Section = .params) throws -> Int {
    let v = try value(key, in: section)
    guard let d = v.number, d == d.rounded(), let i = Int(exactly: d) else {
      throw error(.wrongType, "\(section.rawValue).\(key)", "expected an integer, got \(v)")
    }
    return i
  }

  /// A boolean.
  func bool(_ key: String, in section: Section = .params) throws -> Bool {
    let v = try value(key, in: section)
    guard case .bool(let b) = v else {
      throw error(.wrongType, "\(section.rawValue).\(key)", "expected a boolean, got \(v.typeName)")
    }
    return b
  }

  /// A string.
  func string(_ key: String, in section: Section = .params) throws -> String {
    let v = try value(key, in: section)
    guard case .string(let s) = v else {
      throw error(.wrongType, "\(section.rawValue).\(key)", "expected a string, got \(v.typeName)")
    }
    return s
  }

  /// An array of numbers.
  func doubles(_ key: String, in section: Section = .params) throws -> [Double] {
    let v = try value(key, in: section)
    guard case .array(let list) = v else {
      throw error(.wrongType, "\(section.rawValue).\(key)", "expected an array, got \(v.typeName)")
    }
    return try list.enumerated().map { i, item in
      guard let d = item.number else {
        throw error(.wrongType, "\(section.rawValue).\(key)[\(i)]", "expected a number, got \(item.typeName)")
      }
      return d
    }
  }

  /// An array of integers.
  func ints(_ key: String, in section: Section = .params) throws -> [Int] {
    try doubles(key, in: section).enumerated().map { i, d in
      guard d == d.rounded(), let n = Int(exactly: d) else {
        throw error(.wrongType, "\(section.rawValue).\(key)[\(i)]", "expected an integer, got \(d)")
      }
      return n
    }
  }

  /// An array of arrays of numbers (ragged allowed).
  func doubleRows(_ key: String, in section: Section = .inputs) throws -> [[Double]] {
    let v = try value(key, in: section)
    guard case .array(let rows) = v else {
      throw error(.wrongType, "\(section.rawValue).\(key)", "expected an array of arrays, got \(v.typeName)")
    }
    return try rows.enumerated().map { r, row in
      guard case .array(let items) = row else {
        throw error(.wrongType, "\(section.rawValue).\(key)[\(r)]", "expected an array, got \(row.typeName)")
      }
      return try items.enumerated().map { j, item in
        guard let d = item.number else {
          throw error(.wrongType, "\(section.rawValue).\(key)[\(r)][\(j)]", "expected a number, got \(item.typeName)")
        }
        return d
      }
    }
  }

  /// A rectangular matrix [N][C] as a Float32 tensor [N, C] (values are float32-representable).
  func tensor(_ key: String, in section: Section = .inputs) throws -> Tensor {
    let rows = try doubleRows(key, in: section)
    let cols = rows.first?.count ?? 0
    guard !rows.isEmpty, cols > 0, rows.allSatisfy({ $0.count == cols }) else {
      throw error(.wrongType, "\(section.rawValue).\(key)", "expected a non-empty rectangular matrix")
    }
    return Tensor(shape: [rows.count, cols], values: rows.flatMap { $0 }.map { Float($0) })
  }

  /// Optional per-class weights as Float32 (nil when absent).
  func classWeights(classes: Int) throws -> [Float]? {
    guard has("class_weights", in: .params) else { return nil }
    let w = try doubles("class_weights")
    guard w.count == classes else {
      throw error(.wrongType, "params.class_weights", "expected \(classes) weights, got \(w.count)")
    }
    return w.map { Float($0) }
  }

  /// Class counts (≥ 1), one per class when `classes` is given.
  func classCounts(classes: Int? = nil) throws -> [Int] {
    let n = try ints("class_counts")
    guard !n.isEmpty, n.allSatisfy({ $0 >= 1 }) else {
      throw error(.wrongType, "params.class_counts", "expected counts ≥ 1")
    }
    if let classes, n.count != classes {
      throw error(.wrongType, "params.class_counts", "expected \(classes) counts, got \(n.count)")
    }
    return n
  }

  /// Class indices in 0..<classes.
  func labels(_ key: String, count: Int? = nil, classes: Int) throws -> [Int] {
    let t = try ints(key, in: .inputs)
    if let count, t.count != count {
      throw error(.wrongType, "inputs.\(key)", "expected \(count) entries, got \(t.count)")
    }
    if let bad = t.firstIndex(where: { $0 < 0 || $0 >= classes }) {
      throw error(.wrongType, "inputs.\(key)[\(bad)]", "class index \(t[bad]) outside 0..<\(classes)")
    }
    return t
  }
}
