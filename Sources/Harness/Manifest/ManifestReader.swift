/// Reads typed values out of manifest nodes, recording every problem instead of stopping at the first.
///
/// Getters return nil when a value is absent or wrong (the problem is recorded); callers then fill a
/// placeholder, since nothing is built from a manifest with problems.
final class ManifestReader {
  let file: String
  private(set) var errors: [ManifestError] = []

  init(file: String) { self.file = file }

  /// Records a problem located at `node` (its line; its profile, if an overlay supplied it, prefixes the path).
  func report(
    _ code: ManifestError.Code, at node: ManifestNode?, path: String, _ message: String, expected: String,
    line: Int? = nil
  ) {
    var keyPath = path
    if let profile = node?.profile, !path.hasPrefix("profiles.") {
      keyPath = "profiles.\(profile).\(path)"
    }
    errors.append(
      ManifestError(code, file: file, line: line ?? node?.line ?? 1, keyPath: keyPath, message, expected: expected))
  }

  /// `node` as a mapping checked against the schema's keys at `schema` (nil: any keys), or nil (recorded).
  func object(_ node: ManifestNode, path: String, schema: String?, keyLine: Int? = nil) -> ObjectReader? {
    guard let entries = node.entries else {
      report(.wrongType, at: node, path: path, "\(node.typeName) is not a mapping", expected: "a mapping of keys")
      return nil
    }
    if let schema, let keys = Schema.objects[schema] {
      for entry in entries where !keys.contains(entry.key) {
        report(
          .unknownKey, at: entry.value, path: join(path, entry.key), "unknown key '\(entry.key)'",
          expected: "one of: \(keys.joined(separator: ", "))", line: entry.keyLine)
      }
    }
    return ObjectReader(node: node, path: path, reader: self, keyLine: keyLine ?? node.line)
  }

  // MARK: scalars

  func string(_ node: ManifestNode, path: String, oneOf names: [String]? = nil, what: String = "name") -> String? {
    guard let s = scalar(node, path: path, expected: names.map(oneOfText) ?? "a string") else { return nil }
    guard s.kind == .string || s.kind == .other else {
      report(
        .wrongType, at: node, path: path, "\(node.typeName) is not a string",
        expected: names.map(oneOfText) ?? "a string")
      return nil
    }
    if let names, !names.contains(s.text) {
      report(.unknownName, at: node, path: path, "unknown \(what) '\(s.text)'", expected: oneOfText(names))
      return nil
    }
    return s.text
  }

  func int(_ node: ManifestNode, path: String, min: Int? = nil) -> Int? {
    let expected = min.map { "an integer ≥ \($0)" } ?? "an integer"
    guard let s = scalar(node, path: path, expected: expected) else { return nil }
    guard s.kind == .int, let value = s.int else {
      report(.wrongType, at: node, path: path, "\(node.typeName) is not an integer", expected: expected)
      return nil
    }
    if let min, value < min {
      report(.invalidValue, at: node, path: path, "\(value) is out of range", expected: expected)
      return nil
    }
    return value
  }

  /// A number (integer or float) with `range` checked; `rangeText` says it in the error.
  func double(_ node: ManifestNode, path: String, valid: (Double) -> Bool = { _ in true }, rangeText: String? = nil)
    -> Double?
  {
    let expected = rangeText.map { "a number \($0)" } ?? "a number"
    guard let s = scalar(node, path: path, expected: expected) else { return nil }
    guard s.kind == .int || s.kind == .float, let value = s.double ?? s.int.map(Double.init) else {
      report(.wrongType, at: node, path: path, "\(node.typeName) is not a number", expected: expected)
      return nil
    }
    guard value.isFinite, valid(value) else {
      report(.invalidValue, at: node, path: path, "\(s.text) is out of range", expected: expected)
      return nil
    }
    return value
  }

  func bool(_ node: ManifestNode, path: String) -> Bool? {
    guard let s = scalar(node, path: path, expected: "true or false") else { return nil }
    guard s.kind == .bool, let value = s.bool else {
      report(.wrongType, at: node, path: path, "\(node.typeName) is not a boolean", expected: "true or false")
      return nil
    }
    return value
  }

  /// A list of integers (each ≥ `min`), reported element by element.
  func intList(_ node: ManifestNode, path: String, min: Int? = nil, nonEmpty: Bool = false) -> [Int]? {
    guard let items = node.items else {
      report(.wrongType, at: node, path: path, "\(node.typeName) is not a list", expected: "a list of integers")
      return nil
    }
    if nonEmpty && items.isEmpty {
      report(.emptyList, at: node, path: path, "the list is empty", expected: "at least one integer")
      return nil
    }
    var values: [Int] = []
    var ok = true
    for (i, item) in items.enumerated() {
      if let v = int(item, path: "\(path)[\(i)]", min: min) { values.append(v) } else { ok = false }
    }
    return ok ? values : nil
  }

  /// The scalar payload of `node`, or nil (a list or mapping is recorded as the wrong type).
  private func scalar(_ node: ManifestNode, path: String, expected: String) -> ManifestNode.Scalar? {
    switch node.kind {
    case .scalar(let s): return s
    case .sequence(let items):
      // An empty grid axis was already reported where axes are found.
      if items.isEmpty && Schema.gridSections.contains(where: { path.hasPrefix($0 + ".") }) { return nil }
      if path.hasPrefix("methods") {
        report(
          .gridNotAllowed, at: node, path: path, "a list inside a method (methods are not gridded)",
          expected: "\(expected); add one method per value instead")
      } else {
        report(.wrongType, at: node, path: path, "a list is not allowed here", expected: expected)
      }
      return nil
    default:
      report(.wrongType, at: node, path: path, "\(node.typeName) is not a scalar", expected: expected)
      return nil
    }
  }

  func oneOfText(_ names: [String]) -> String { "one of: \(names.joined(separator: ", "))" }
}

/// Joins a key path and a key with a dot.
func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

/// A mapping being read: typed getters by key, with required keys reported at the mapping's line.
struct ObjectReader {
  let node: ManifestNode
  let path: String
  let reader: ManifestReader
  /// The line of the key holding this mapping (missing keys are reported there).
  let keyLine: Int

  /// The value at `key`; nil if absent or null (a required one is recorded as missing).
  func value(_ key: String, required: Bool = false, expected: String = "a value") -> ManifestNode? {
    if let v = node[key], !v.isNull { return v }
    if required {
      reader.report(
        .missingKey, at: node, path: join(path, key), "missing required key '\(key)'", expected: expected, line: keyLine
      )
    }
    return nil
  }

  func string(_ key: String, required: Bool = false, oneOf names: [String]? = nil, what: String = "name") -> String? {
    value(key, required: required, expected: names.map(reader.oneOfText) ?? "a string").flatMap {
      reader.string($0, path: join(path, key), oneOf: names, what: what)
    }
  }

  func int(_ key: String, required: Bool = false, min: Int? = nil) -> Int? {
    value(key, required: required, expected: "an integer").flatMap { reader.int($0, path: join(path, key), min: min) }
  }

  func double(
    _ key: String, required: Bool = false, valid: (Double) -> Bool = { _ in true }, rangeText: String? = nil
  ) -> Double? {
    value(key, required: required, expected: "a number").flatMap {
      reader.double($0, path: join(path, key), valid: valid, rangeText: rangeText)
    }
  }

  func bool(_ key: String) -> Bool? {
    value(key).flatMap { reader.bool($0, path: join(path, key)) }
  }

  func intList(_ key: String, required: Bool = false, min: Int? = nil, nonEmpty: Bool = false) -> [Int]? {
    value(key, required: required, expected: "a list of integers").flatMap {
      reader.intList($0, path: join(path, key), min: min, nonEmpty: nonEmpty)
    }
  }

  /// The mapping at `key` checked against `schema`.
  func object(_ key: String, required: Bool = false, schema: String) -> ObjectReader? {
    value(key, required: required, expected: "a mapping").flatMap {
      reader.object($0, path: join(path, key), schema: schema, keyLine: node.entries?.first { $0.key == key }?.keyLine)
    }
  }
}
