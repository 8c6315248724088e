/// Reliability diagrams (Guo, Pleiss, Sun, Weinberger 2017, "On Calibration of Modern Neural
/// Networks", Fig. 1): for B equal-width confidence bins over [0, 1], a bar of the accuracy in each bin
/// against the diagonal of perfect calibration, the gap to the bin's mean confidence marked (shaded
/// above the bar when over-confident, outlined inside it when under-confident), and below
/// it a histogram of the number of test examples per bin. One panel per method, side by side.
///
/// Each panel's expected calibration error is recomputed from its bins,
/// ECE = Σ_b (n_b / N)·|acc_b − conf_b|, and printed in percent in the panel heading.
public struct ReliabilityDiagram: Sendable, Equatable {
  /// One diagram: bins as fractions in [0, 1] and counts.
  public struct Panel: Sendable, Equatable {
    /// The heading (a method).
    public var name: String
    /// Mean confidence per bin, in [0, 1].
    public var confidence: [Double]
    /// Accuracy per bin, in [0, 1].
    public var accuracy: [Double]
    /// Examples per bin.
    public var count: [Double]

    /// Creates a panel; bins are the common prefix of the three arrays.
    public init(name: String, confidence: [Double], accuracy: [Double], count: [Double]) {
      self.name = name
      self.confidence = confidence
      self.accuracy = accuracy
      self.count = count
    }

    /// Σ_b (n_b/N)·|acc_b − conf_b| over bins with examples; nil when there are none.
    public var expectedCalibrationError: Double? {
      let bins = min(confidence.count, accuracy.count, count.count)
      var total = 0.0
      var weighted = 0.0
      for b in 0..<bins where count[b] > 0 && accuracy[b].isFinite && confidence[b].isFinite {
        total += count[b]
        weighted += count[b] * abs(accuracy[b] - confidence[b])
      }
      return total > 0 ? weighted / total : nil
    }
  }

  /// The heading above all panels.
  public var title: String
  /// The panels, left to right, three per row.
  public var panels: [Panel]

  /// Creates a diagram.
  public init(title: String, panels: [Panel]) {
    self.title = title
    self.panels = panels
  }

  static let panelWidth = 290.0
  static let panelHeight = 380.0
  static let columns = 3

  /// The SVG document.
  public func svg() -> String {
    let columns = max(1, min(Self.columns, panels.count))
    let rows = max(1, (panels.count + Self.columns - 1) / Self.columns)
    let height = Double(rows) * Self.panelHeight + 70
    var svg = SVGWriter(width: Double(columns) * Self.panelWidth + 10, height: height, title: title)
    svg.text(12, 20, title, size: 14, weight: "bold")
    // Legend, two rows at the bottom.
    let ly = height - 30
    svg.rect(62, ly - 9, 12, 10, fill: PlotPalette.color(0), opacity: 0.85)
    svg.text(80, ly, "accuracy", size: 11)
    svg.rect(150, ly - 9, 12, 10, fill: "#D55E00", stroke: "#D55E00", opacity: 0.35)
    svg.text(168, ly, "gap to confidence", size: 11)
    svg.line(62, ly + 12, 74, ly + 12, stroke: "#555555", dash: "4 3")
    svg.text(80, ly + 16, "perfect calibration", size: 11)
    if panels.isEmpty {
      svg.text(Self.panelWidth / 2, 120, "no data", anchor: "middle")
    }
    for (i, panel) in panels.enumerated() {
      let ox = Double(i % Self.columns) * Self.panelWidth
      let oy = 30 + Double(i / Self.columns) * Self.panelHeight
      draw(panel, into: &svg, ox: ox, oy: oy)
    }
    return svg.render()
  }

  private func draw(_ panel: Panel, into svg: inout SVGWriter, ox: Double, oy: Double) {
    let frame = PlotFrame(left: ox + 62, top: oy + 28, right: ox + Self.panelWidth - 12, bottom: oy + 248)
    let ticks = NiceTicks.linear(0, 1, target: 6, fixed: true).ticks
    let mx = AxisMapping(scale: .linear, domain: 0...1, from: frame.left, to: frame.right)
    let my = AxisMapping(scale: .linear, domain: 0...1, from: frame.bottom, to: frame.top)
    var heading = panel.name
    if let ece = panel.expectedCalibrationError {
      heading += " (ECE " + FixedDecimal.fixed(ece * 100, digits: 2) + "%)"
    }
    svg.text(frame.left, oy + 18, heading, size: 12, weight: "bold")
    frame.drawAxes(&svg, xTicks: [], yTicks: ticks, mx: mx, my: my, xTitle: "", yTitle: "accuracy", tickSize: 10)

    let bins = min(panel.confidence.count, panel.accuracy.count, panel.count.count)
    let binWidth = bins > 0 ? (frame.right - frame.left) / Double(bins) : 0
    let color = PlotPalette.color(0)
    for b in 0..<bins where panel.count[b] > 0 {
      let x0 = frame.left + Double(b) * binWidth
      guard let top = my.position(min(1, max(0, panel.accuracy[b]))) else { continue }
      svg.rect(x0 + 0.5, top, binWidth - 1, frame.bottom - top, fill: color, opacity: 0.85)
      if let conf = my.position(min(1, max(0, panel.confidence[b]))) {
        // Over-confident bins: the gap is shaded above the bar; under-confident ones: outlined inside it,
        // so the bar's height stays readable.
        if conf <= top {
          svg.rect(x0 + 0.5, conf, binWidth - 1, top - conf, fill: "#D55E00", stroke: "#D55E00", opacity: 0.35)
        } else {
          svg.rect(x0 + 1.25, top, binWidth - 2.5, conf - top, fill: "none", stroke: "#D55E00")
        }
      }
    }
    svg.line(frame.left, frame.bottom, frame.right, frame.top, stroke: "#555555", dash: "4 3")

    // Count histogram below, sharing the confidence axis.
    let histogram = PlotFrame(left: frame.left, top: frame.bottom + 14, right: frame.right, bottom: frame.bottom + 84)
    let maxCount = panel.count.prefix(bins).filter(\.isFinite).max() ?? 0
    for b in 0..<bins where panel.count[b] > 0 && maxCount > 0 {
      let x0 = histogram.left + Double(b) * binWidth
      let h = panel.count[b] / maxCount * (histogram.bottom - histogram.top)
      svg.rect(x0 + 0.5, histogram.bottom - h, binWidth - 1, h, fill: "#777777")
    }
    svg.rect(
      histogram.left, histogram.top, histogram.right - histogram.left, histogram.bottom - histogram.top,
      fill: "none", stroke: "#555555")
    svg.text(
      histogram.left - 6, histogram.top + 8, FixedDecimal.compact(maxCount, maxDigits: 0), size: 10, anchor: "end")
    svg.text(histogram.left - 6, histogram.bottom, "0", size: 10, anchor: "end")
    svg.text(
      histogram.left - 40, (histogram.top + histogram.bottom) / 2, "count", size: 11, anchor: "middle", rotate: -90)
    for t in ticks {
      guard let px = mx.position(t.value) else { continue }
      svg.text(px, histogram.bottom + 14, t.label, size: 10, anchor: "middle")
    }
    svg.text((frame.left + frame.right) / 2, histogram.bottom + 30, "confidence", size: 12, anchor: "middle")
  }
}
