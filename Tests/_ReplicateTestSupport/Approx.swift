import Testing

/// Whether `a` and `b` agree within an absolute plus relative tolerance:
/// |a − b| ≤ abs + rel·|b|. NaN never agrees; equal infinities agree.
public func isApprox(_ a: Double, _ b: Double, abs: Double = 1e-6, rel: Double = 1e-5) -> Bool {
  if a.isNaN || b.isNaN { return false }
  if a == b { return true }
  return Swift.abs(a - b) <= abs + rel * Swift.abs(b)
}

/// Records an issue unless `actual` ≈ `expected` (see ``isApprox(_:_:abs:rel:)``).
public func expectApprox(
  _ actual: Double, _ expected: Double, abs: Double = 1e-6, rel: Double = 1e-5,
  _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(
    isApprox(actual, expected, abs: abs, rel: rel),
    "\(comment) got \(actual), expected \(expected) (abs \(abs), rel \(rel))",
    sourceLocation: sourceLocation)
}

/// Records an issue unless the arrays have equal length and agree element-wise; reports the worst index.
public func expectApprox<A: Collection, B: Collection>(
  _ actual: A, _ expected: B, abs: Double = 1e-6, rel: Double = 1e-5, _ comment: String = "",
  sourceLocation: SourceLocation = #_sourceLocation
) where A.Element: BinaryFloatingPoint, B.Element: BinaryFloatingPoint {
  let a = actual.map { Double($0) }
  let b = expected.map { Double($0) }
  guard a.count == b.count else {
    Issue.record("\(comment) length \(a.count) ≠ \(b.count)", sourceLocation: sourceLocation)
    return
  }
  var worst: (index: Int, excess: Double)? = nil
  for i in a.indices where !isApprox(a[i], b[i], abs: abs, rel: rel) {
    let excess = Swift.abs(a[i] - b[i]) - (abs + rel * Swift.abs(b[i]))
    if worst == nil || excess > worst!.excess || excess.isNaN { worst = (i, excess) }
  }
  if let w = worst {
    Issue.record(
      "\(comment) element \(w.index): got \(a[w.index]), expected \(b[w.index]) (abs \(abs), rel \(rel))",
      sourceLocation: sourceLocation)
  }
}
