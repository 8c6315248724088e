import Foundation

/// The outcome of one conformance case.
public struct ConformanceResult: Hashable, Sendable {
  /// Pass, fail, or unsupported (no implementation of the method; counts as a failure).
  public enum Status: String, Hashable, Sendable {
    case pass, fail, unsupported
  }

  /// The case's id.
  public var id: String
  /// The case's method.
  public var method: String
  /// The outcome.
  public var status: Status
  /// The largest error relative to its tolerance, max |got − expected| / (abs + rel·|expected|) over
  /// every compared number (≤ 1 passes; ∞ for a missing key, a wrong shape or an unequal integer).
  public var worstError: Double
  /// The first failing key with its index path and values, e.g. `grad_logits[2][3] (got …, expected …)`.
  public var firstFailure: String?

  /// Whether the case passed.
  public var passed: Bool { status == .pass }
}

/// Evaluation of `replicate-conformance/1` vector files (../shared/conformance/FORMAT.md) against the
/// project's own implementations.
///
/// Each case is dispatched on its `method` to the implementation in `Methods` (inputs converted to
/// Float32 where the method is Float32; they are exactly representable), and every key of `expected`
/// is compared under the pass rule |got − expected| ≤ abs + rel·|expected| (arrays element-wise with
/// the same shape, booleans and integers exactly). Unknown methods are `unsupported`.
public enum Conformance {
  /// The methods this project implements (all 19 of the format).
  public static var supportedMethods: [String] { ConformanceEvaluators.table.keys.sorted() }

  /// Evaluates every case of a file. Throws ``ConformanceError`` when the file cannot be read, is not
  /// `replicate-conformance/1`, or a case is malformed (missing or mistyped keys).
  public static func evaluate(file: String) throws -> [ConformanceResult] {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: file))
    } catch {
      throw ConformanceError(
        code: .unreadable, file: file, keyPath: "", line: nil, message: "cannot read (\(error.localizedDescription))")
    }
    return try evaluate(data: data, file: file)
  }

  /// Evaluates every case of a file's contents; `file` names it in errors.
  public static func evaluate(data: Data, file: String) throws -> [ConformanceResult] {
    let cases = try ConformanceFileReader.read(data: data, file: file)
    return try cases.map(evaluate)
  }

  static func evaluate(_ c: ConformanceCase) throws -> ConformanceResult {
    guard let evaluator = ConformanceEvaluators.table[c.method] else {
      return ConformanceResult(
        id: c.id, method: c.method, status: .unsupported, worstError: .infinity,
        firstFailure: "no implementation of method '\(c.method)'")
    }
    let got = try evaluator(c)
    var comparison = Comparison()
    for key in c.expected.keys.sorted() {
      guard let value = got[key] else {
        comparison.record(.infinity, at: key, "not computed")
        continue
      }
      compare(
        value, c.expected[key]!, path: key, abs: c.absoluteTolerance, rel: c.relativeTolerance,
        into: &comparison)
    }
    let pass = comparison.worst <= 1
    return ConformanceResult(
      id: c.id, method: c.method, status: pass ? .pass : .fail, worstError: comparison.worst,
      firstFailure: comparison.firstFailure)
  }

  /// A text table: one line per case (id, method, status, worst error / tolerance, first failing
  /// key), then the summary line `N passed, M failed` (unsupported cases count as failed).
  public static func render(_ results: [ConformanceResult]) -> String {
    let idWidth = Swift.max(2, results.map(\.id.count).max() ?? 0)
    let methodWidth = Swift.max(6, results.map(\.method.count).max() ?? 0)
    func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: Swift.max(0, w - s.count)) }
    var lines = [
      "\(pad("id", idWidth))  \(pad("method", methodWidth))  \(pad("status", 11))  error/tol  first failure"
    ]
    for r in results {
      let worst = r.worstError.isFinite ? String(format: "%9.3g", r.worstError) : "      inf"
      lines.append(
        "\(pad(r.id, idWidth))  \(pad(r.method, methodWidth))  \(pad(r.status.rawValue, 11))  \(worst)  \(r.firstFailure ?? "")"
          .trimmingCharacters(in: .whitespaces))
    }
    let passed = results.filter(\.passed).count
    let unsupported = results.filter { $0.status == .unsupported }.count
    var summary = "\(passed) passed, \(results.count - passed) failed"
    if unsupported > 0 { summary += " (\(unsupported) unsupported)" }
    lines.append(summary)
    return lines.joined(separator: "\n") + "\n"
  }
}
