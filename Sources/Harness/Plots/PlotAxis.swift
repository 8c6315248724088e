import Foundation

/// One axis of a chart: its label, unit, scale, and optionally a fixed domain.
public struct PlotAxis: Sendable, Equatable {
  /// Linear or base-10 logarithmic.
  public enum Scale: Sendable, Equatable {
    /// Linear.
    case linear
    /// log10; non-positive values cannot be placed and are left out of the plot.
    case log
  }

  /// The quantity, e.g. `training examples`.
  public var label: String
  /// The unit shown in brackets after the label, e.g. `%`; nil for none.
  public var unit: String?
  /// The scale.
  public var scale: Scale
  /// A fixed domain (e.g. 0...100 for accuracies); nil chooses it from the data with nice ticks.
  public var domain: ClosedRange<Double>?
  /// Ticks only at whole numbers (epochs, counts) on a linear axis.
  public var integerTicks: Bool

  /// Creates an axis.
  public init(
    label: String, unit: String? = nil, scale: Scale = .linear, domain: ClosedRange<Double>? = nil,
    integerTicks: Bool = false
  ) {
    self.label = label
    self.unit = unit
    self.scale = scale
    self.domain = domain
    self.integerTicks = integerTicks
  }

  /// `label [unit]`, or the label alone.
  public var title: String {
    guard let unit, !unit.isEmpty else { return label }
    return "\(label) [\(unit)]"
  }
}

/// A tick: position in data units and its printed label.
public struct PlotTick: Sendable, Equatable {
  /// The value.
  public var value: Double
  /// The label printed at the tick.
  public var label: String
}

/// Tick choice with "nice numbers" (1, 2, 5 × 10^k), after Heckbert, "Nice numbers for graph labels",
/// Graphics Gems (1990): the step is the nice number closest to range/(target−1); the domain is widened
/// to whole steps ("loose labelling"), so first and last ticks are the domain's ends.
public enum NiceTicks {
  /// The nice number near `x` > 0: rounded to 1, 2, 5 or 10 × 10^k when `round`, else the ceiling.
  public static func niceNumber(_ x: Double, round: Bool) -> Double {
    let exponent = floor(log10(x))
    let fraction = x / pow(10, exponent)
    let nice: Double
    if round {
      nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
    } else {
      nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
    }
    return nice * pow(10, exponent)
  }

  /// Linear ticks covering [lo, hi] with about `target` ticks. When `fixed`, the domain stays [lo, hi]
  /// and only ticks inside it are returned; otherwise the domain becomes [first tick, last tick].
  /// Ticks are k·step for integer k (no accumulated float noise); labels have just enough decimals.
  /// With `integer`, the step is at least 1 (ticks at whole numbers only).
  public static func linear(_ lo: Double, _ hi: Double, target: Int = 6, fixed: Bool = false, integer: Bool = false)
    -> (domain: ClosedRange<Double>, ticks: [PlotTick])
  {
    var lo = lo
    var hi = hi
    if !(lo.isFinite && hi.isFinite) { (lo, hi) = (0, 1) }
    if hi < lo { swap(&lo, &hi) }
    if hi == lo {
      let pad = lo == 0 ? 1 : abs(lo) * 0.1
      lo -= pad
      hi += pad
    }
    let span = niceNumber(hi - lo, round: false)
    var step = niceNumber(span / Double(max(1, target - 1)), round: true)
    if integer { step = max(1, step) }
    let decimals = max(0, -Int(floor(log10(step) + 1e-9)))
    var kLo = Int((lo / step).rounded(.down))
    var kHi = Int((hi / step).rounded(.up))
    if fixed {
      kLo = Int((lo / step - 1e-9).rounded(.up))
      kHi = Int((hi / step + 1e-9).rounded(.down))
    } else {
      // Guard against float noise: lo = 0.3 with step 0.1 must give k = 3, not 2.
      if Double(kLo + 1) * step <= lo + step * 1e-9 { kLo += 1 }
      if Double(kHi - 1) * step >= hi - step * 1e-9 { kHi -= 1 }
    }
    let ticks = (kLo...max(kLo, kHi)).map { k -> PlotTick in
      let v = Double(k) * step
      return PlotTick(value: v, label: FixedDecimal.fixed(v, digits: decimals))
    }
    let domain = fixed ? lo...hi : (Double(kLo) * step)...(Double(max(kLo, kHi)) * step)
    return (domain, ticks)
  }

  /// Log ticks for 0 < lo ≤ hi: the domain is widened to whole decades; ticks at each power of ten,
  /// plus 2× and 5× when the domain spans at most two decades. With a fixed domain, only ticks inside.
  public static func log(_ lo: Double, _ hi: Double, fixed: Bool = false)
    -> (domain: ClosedRange<Double>, ticks: [PlotTick])
  {
    var lo = lo
    var hi = hi
    if !(lo > 0 && lo.isFinite) { lo = 1 }
    if !(hi > 0 && hi.isFinite) { hi = lo * 10 }
    if hi < lo { swap(&lo, &hi) }
    var eLo = Int(floor(log10(lo) + 1e-9))
    var eHi = Int(ceil(log10(hi) - 1e-9))
    if eHi <= eLo { eHi = eLo + 1 }
    if fixed {
      eLo = Int(floor(log10(lo) + 1e-9))
      eHi = Int(ceil(log10(hi) - 1e-9))
    }
    let dense = eHi - eLo <= 2
    var ticks: [PlotTick] = []
    for e in eLo...max(eLo, eHi) {
      for m in dense ? [1.0, 2, 5] : [1.0] {
        let v = m * exactPower10(e)
        if e == eHi && m > 1 { continue }
        if fixed && (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9)) { continue }
        ticks.append(PlotTick(value: v, label: logLabel(mantissa: m, exponent: e)))
      }
    }
    let domain = fixed ? lo...hi : exactPower10(eLo)...exactPower10(max(eLo, eHi))
    return (domain, ticks)
  }

  /// 10^e computed by repeated multiplication or division by 10 (exact for the integers).
  static func exactPower10(_ e: Int) -> Double {
    var p = 1.0
    if e >= 0 {
      for _ in 0..<e { p *= 10 }
    } else {
      for _ in 0..<(-e) { p /= 10 }
    }
    return p
  }

  /// `m·10^e` printed plainly (`0.05`, `200`, `10000`), or as `m e+E` beyond six digits.
  static func logLabel(mantissa m: Double, exponent e: Int) -> String {
    if e >= 6 || e <= -5 { return "\(Int(m))e\(e)" }
    return FixedDecimal.compact(m * exactPower10(e), maxDigits: max(0, -e))
  }
}

/// Maps data values on an axis to pixel positions.
struct AxisMapping {
  let scale: PlotAxis.Scale
  let domain: ClosedRange<Double>
  let from: Double
  let to: Double

  /// The pixel position of `v`, or nil when it cannot be placed (non-finite, or ≤ 0 on a log axis).
  func position(_ v: Double) -> Double? {
    guard v.isFinite else { return nil }
    switch scale {
    case .linear:
      let span = domain.upperBound - domain.lowerBound
      return from + (v - domain.lowerBound) / span * (to - from)
    case .log:
      guard v > 0 else { return nil }
      let a = log10(domain.lowerBound)
      let b = log10(domain.upperBound)
      return from + (log10(v) - a) / (b - a) * (to - from)
    }
  }

  /// Domain and ticks for the values on this axis.
  static func ticks(for axis: PlotAxis, values: [Double]) -> (domain: ClosedRange<Double>, ticks: [PlotTick]) {
    let usable = values.filter { $0.isFinite && (axis.scale == .linear || $0 > 0) }
    switch axis.scale {
    case .linear:
      if let d = axis.domain {
        return NiceTicks.linear(d.lowerBound, d.upperBound, fixed: true, integer: axis.integerTicks)
      }
      return NiceTicks.linear(usable.min() ?? 0, usable.max() ?? 1, integer: axis.integerTicks)
    case .log:
      if let d = axis.domain, d.lowerBound > 0 { return NiceTicks.log(d.lowerBound, d.upperBound, fixed: true) }
      return NiceTicks.log(usable.min() ?? 1, usable.max() ?? 10)
    }
  }
}
