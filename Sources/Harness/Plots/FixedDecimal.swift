/// Locale-free, deterministic decimal formatting for reports, plots and diffs.
///
/// `fixed(x, digits: d)` prints x rounded to d decimals, half away from zero, computed as
/// round(x · 10^d) in binary floating point and then printed from the integer: no `printf`, no locale,
/// no float noise (`0.1 + 0.2` prints `0.30`). Negative zero and values that round to zero print
/// without a sign; NaN prints `nan`, infinities `inf` / `-inf`.
public enum FixedDecimal {
  /// `x` with exactly `digits` decimals (0...12), e.g. `fixed(23.104, digits: 2) == "23.10"`.
  public static func fixed(_ x: Double, digits: Int) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x < 0 ? "-inf" : "inf" }
    let d = max(0, min(12, digits))
    let scale = power10(d)
    let scaled = (abs(x) * scale).rounded(.toNearestOrAwayFromZero)
    // Beyond 2^53 the integer part is not exact in a Double; fall back to Swift's shortest form.
    guard scaled < 9.0e15 else { return x.description }
    let n = UInt64(scaled)
    let negative = x < 0 && n != 0
    let digitsText = String(n)
    var text: String
    if d == 0 {
      text = digitsText
    } else {
      let padded = String(repeating: "0", count: max(0, d + 1 - digitsText.count)) + digitsText
      let cut = padded.index(padded.endIndex, offsetBy: -d)
      text = String(padded[..<cut]) + "." + String(padded[cut...])
    }
    return negative ? "-" + text : text
  }

  /// `x` with an explicit sign (`+0.13`, `-1.20`, `0.00`), for deltas.
  public static func signed(_ x: Double, digits: Int) -> String {
    let text = fixed(x, digits: digits)
    if text.hasPrefix("-") || text == "nan" { return text }
    let isZero = text.allSatisfy { $0 == "0" || $0 == "." }
    return isZero ? text : "+" + text
  }

  /// The shortest of `fixed(x, digits: 0...maxDigits)` that drops no nonzero decimal at `maxDigits`:
  /// `compact(2.5) == "2.5"`, `compact(100) == "100"`, `compact(0.125, maxDigits: 2) == "0.13"`.
  public static func compact(_ x: Double, maxDigits: Int = 6) -> String {
    var text = fixed(x, digits: maxDigits)
    guard text.contains("."), !text.contains("e"), !text.contains("n") else { return text }
    while text.hasSuffix("0") { text.removeLast() }
    if text.hasSuffix(".") { text.removeLast() }
    return text == "-0" ? "0" : text
  }

  /// 10^d for small non-negative d, exact in a Double.
  static func power10(_ d: Int) -> Double {
    var p = 1.0
    for _ in 0..<d { p *= 10 }
    return p
  }
}
