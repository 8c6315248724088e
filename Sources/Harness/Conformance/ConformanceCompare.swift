import Engine

/// A value an implementation computed for a conformance case.
enum Computed {
  /// A real number, compared within the case's tolerance.
  case real(Double)
  /// An integer, compared exactly.
  case integer(Int)
  /// A boolean, compared exactly.
  case boolean(Bool)
  /// An array, compared element-wise (same length).
  case list([Computed])

  /// A vector of reals.
  static func reals<S: Sequence>(_ values: S) -> Computed where S.Element: BinaryFloatingPoint {
    .list(values.map { .real(Double($0)) })
  }

  /// A row-major matrix of reals with `columns` columns.
  static func matrix<C: Collection>(_ values: C, columns: Int) -> Computed
  where C.Element: BinaryFloatingPoint, C.Index == Int {
    precondition(columns > 0 && values.count % columns == 0, "matrix shape")
    let array = Array(values)
    return .list(
      stride(from: 0, to: array.count, by: columns).map { start in
        .reals(array[start..<start + columns])
      })
  }

  /// A tensor [N, C] as a matrix.
  static func matrix(_ t: Tensor) -> Computed { .matrix(t.toArray(), columns: Swift.max(t.rowSize, 1)) }
}

/// The outcome of comparing one key.
struct Comparison {
  /// The largest |got − expected| / (abs + rel·|expected|) seen (∞ on a type or shape mismatch).
  var worst: Double = 0
  /// Where the first failure is, e.g. `grad_logits[2][3]`, with got and expected.
  var firstFailure: String? = nil

  mutating func record(_ ratio: Double, at path: String, _ detail: @autoclosure () -> String) {
    let r = ratio.isNaN ? Double.infinity : ratio
    worst = Swift.max(worst, r)
    if r > 1 && firstFailure == nil { firstFailure = "\(path) (\(detail()))" }
  }
}

/// Compares got with expected under the pass rule |got − expected| ≤ abs + rel·|expected|
/// (exact for integers and booleans), accumulating into `result`.
func compare(
  _ got: Computed, _ expected: JSONValue, path: String, abs: Double, rel: Double, into result: inout Comparison
) {
  switch (got, expected) {
  case (.real(let g), _):
    guard let e = expected.number else {
      result.record(.infinity, at: path, "got a number, expected \(expected.typeName)")
      return
    }
    let allowed = abs + rel * Swift.abs(e)
    let error = Swift.abs(g - e)
    let ratio = error == 0 ? 0 : (allowed > 0 ? error / allowed : .infinity)
    result.record(ratio, at: path, "got \(g), expected \(e)")
  case (.integer(let g), _):
    guard let e = expected.number else {
      result.record(.infinity, at: path, "got an integer, expected \(expected.typeName)")
      return
    }
    result.record(Double(g) == e ? 0 : .infinity, at: path, "got \(g), expected \(e)")
  case (.boolean(let g), .bool(let e)):
    result.record(g == e ? 0 : .infinity, at: path, "got \(g), expected \(e)")
  case (.boolean(let g), _):
    result.record(.infinity, at: path, "got \(g), expected \(expected.typeName)")
  case (.list(let g), .array(let e)):
    guard g.count == e.count else {
      result.record(.infinity, at: path, "got \(g.count) elements, expected \(e.count)")
      return
    }
    for (i, (gi, ei)) in zip(g, e).enumerated() {
      compare(gi, ei, path: "\(path)[\(i)]", abs: abs, rel: rel, into: &result)
    }
  case (.list, _):
    result.record(.infinity, at: path, "got an array, expected \(expected.typeName)")
  }
}
