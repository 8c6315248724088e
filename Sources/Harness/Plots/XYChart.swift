/// A line or scatter chart of several named series, written as a self-contained SVG.
///
/// Training curves, per-class accuracy against training count (log x), error against k and certified
/// accuracy against radius are all `XYChart`s. Series i has colour `PlotPalette.color(i)` and marker
/// `PlotPalette.marker(i)`; the legend sits right of the plot area so it never hides data. Non-finite
/// points (and non-positive ones on a log axis) are left out and break the line. Output is a pure
/// function of the chart's values: the same chart gives the same bytes.
public struct XYChart: Sendable, Equatable {
  /// How a series is drawn.
  public enum Style: Sendable, Equatable {
    /// Lines between consecutive points.
    case line
    /// Markers only (a scatter plot).
    case markers
    /// Lines with a marker at every point.
    case lineAndMarkers
  }

  /// One named series of (x, y) points.
  public struct Series: Sendable, Equatable {
    /// The legend entry.
    public var name: String
    /// The x values.
    public var x: [Double]
    /// The y values, as many as `x`.
    public var y: [Double]
    /// How it is drawn.
    public var style: Style

    /// Creates a series; extra values of the longer of `x`, `y` are ignored.
    public init(name: String, x: [Double], y: [Double], style: Style = .lineAndMarkers) {
      self.name = name
      self.x = x
      self.y = y
      self.style = style
    }
  }

  /// The heading drawn above the plot.
  public var title: String
  /// The horizontal axis.
  public var xAxis: PlotAxis
  /// The vertical axis.
  public var yAxis: PlotAxis
  /// The series, drawn in order (later on top).
  public var series: [Series]
  /// Width of the plot including axes, excluding the legend column, in SVG units.
  public var width: Double
  /// Height in SVG units.
  public var height: Double

  /// Creates a chart.
  public init(
    title: String, xAxis: PlotAxis, yAxis: PlotAxis, series: [Series], width: Double = 560,
    height: Double = 360
  ) {
    self.title = title
    self.xAxis = xAxis
    self.yAxis = yAxis
    self.series = series
    self.width = width
    self.height = height
  }

  /// The SVG document.
  public func svg() -> String {
    let legendWidth = series.isEmpty ? 0 : LegendLayout.width(series.map(\.name))
    var svg = SVGWriter(width: width + legendWidth, height: height, title: title)
    let frame = PlotFrame(left: 68, top: 34, right: width - 16, bottom: height - 50)
    let allX = series.flatMap { Array($0.x.prefix($0.y.count)) }
    let allY = series.flatMap { s in
      zip(s.x, s.y).filter { xAxis.scale == .linear || $0.0 > 0 }.map(\.1)
    }
    let xt = AxisMapping.ticks(for: xAxis, values: allX)
    let yt = AxisMapping.ticks(for: yAxis, values: allY)
    let mx = AxisMapping(scale: xAxis.scale, domain: xt.domain, from: frame.left, to: frame.right)
    let my = AxisMapping(scale: yAxis.scale, domain: yt.domain, from: frame.bottom, to: frame.top)

    svg.text(frame.left, 20, title, size: 14, weight: "bold")
    frame.drawAxes(&svg, xTicks: xt.ticks, yTicks: yt.ticks, mx: mx, my: my, xTitle: xAxis.title, yTitle: yAxis.title)
    svg.clipRect(id: "plot-area", frame.left, frame.top, frame.right - frame.left, frame.bottom - frame.top)

    var anyPoint = false
    for (i, s) in series.enumerated() {
      let color = PlotPalette.color(i)
      var segment: [(Double, Double)] = []
      var placed: [(Double, Double)] = []
      for (x, y) in zip(s.x, s.y) {
        if let px = mx.position(x), let py = my.position(y) {
          segment.append((px, py))
          placed.append((px, py))
        } else {
          if s.style != .markers { svg.polyline(segment, stroke: color, width: 1.75, clip: "plot-area") }
          segment = []
        }
      }
      if s.style != .markers { svg.polyline(segment, stroke: color, width: 1.75, clip: "plot-area") }
      if s.style != .line {
        for (px, py) in placed where frame.contains(px, py) {
          svg.marker(PlotPalette.marker(i), px, py, r: 3.5, color: color)
        }
      }
      anyPoint = anyPoint || !placed.isEmpty
    }
    if !anyPoint {
      svg.text((frame.left + frame.right) / 2, (frame.top + frame.bottom) / 2, "no data", anchor: "middle")
    }
    LegendLayout.draw(&svg, names: series.map(\.name), x: width, top: frame.top, styles: series.map(\.style))
    return svg.render()
  }
}

/// The plot area of a chart and its axes.
struct PlotFrame {
  let left: Double
  let top: Double
  let right: Double
  let bottom: Double

  func contains(_ x: Double, _ y: Double) -> Bool {
    x >= left - 0.01 && x <= right + 0.01 && y >= top - 0.01 && y <= bottom + 0.01
  }

  /// Grid lines, the axis box, tick labels and axis titles.
  func drawAxes(
    _ svg: inout SVGWriter, xTicks: [PlotTick], yTicks: [PlotTick], mx: AxisMapping, my: AxisMapping,
    xTitle: String, yTitle: String, tickSize: Double = 11
  ) {
    for t in yTicks {
      guard let py = my.position(t.value) else { continue }
      svg.line(left, py, right, py, stroke: "#e5e5e5")
      svg.text(left - 6, py + 4, t.label, size: tickSize, anchor: "end")
    }
    for t in xTicks {
      guard let px = mx.position(t.value) else { continue }
      svg.line(px, top, px, bottom, stroke: "#e5e5e5")
      svg.text(px, bottom + 16, t.label, size: tickSize, anchor: "middle")
    }
    svg.rect(left, top, right - left, bottom - top, fill: "none", stroke: "#555555")
    svg.text((left + right) / 2, bottom + 36, xTitle, size: 12, anchor: "middle")
    let cy = (top + bottom) / 2
    svg.text(left - 48, cy, yTitle, size: 12, anchor: "middle", rotate: -90)
  }
}

/// The legend column to the right of a chart.
enum LegendLayout {
  /// Width reserved for the legend: an estimate of the longest name at 12 px sans-serif.
  static func width(_ names: [String]) -> Double {
    let longest = names.map(\.count).max() ?? 0
    return Double(min(longest, 40)) * 7 + 44
  }

  static func draw(_ svg: inout SVGWriter, names: [String], x: Double, top: Double, styles: [XYChart.Style]) {
    for (i, name) in names.enumerated() {
      let y = top + 8 + Double(i) * 18
      let color = PlotPalette.color(i)
      if styles[i] != .markers { svg.line(x, y, x + 22, y, stroke: color, width: 1.75) }
      if styles[i] != .line { svg.marker(PlotPalette.marker(i), x + 11, y, r: 3.5, color: color) }
      let shown = name.count > 40 ? String(name.prefix(39)) + "…" : name
      svg.text(x + 28, y + 4, shown, size: 12)
    }
  }
}
