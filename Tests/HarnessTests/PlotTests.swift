import Foundation
import Testing
import _ReplicateTestSupport

@testable import Harness

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// Parses the document as XML; nil when it is well-formed, else the parser's error.
func xmlError(_ text: String) -> String? {
  let parser = XMLParser(data: Data(text.utf8))
  return parser.parse() ? nil : String(describing: parser.parserError)
}

func occurrences(of needle: String, in text: String) -> Int {
  text.components(separatedBy: needle).count - 1
}

@Suite struct PlotNumberFormatTests {
  @Test(arguments: [
    (23.104, 2, "23.10"), (0.1 + 0.2, 2, "0.30"), (-0.001, 2, "0.00"), (-0.0, 2, "0.00"), (2.5, 0, "3"),
    (-2.5, 0, "-3"), (0.42, 2, "0.42"), (1234567.891, 1, "1234567.9"), (0.05, 3, "0.050"), (-12.345678, 4, "-12.3457"),
  ])
  func fixedRoundsHalfAwayFromZero(x: Double, digits: Int, expected: String) {
    #expect(FixedDecimal.fixed(x, digits: digits) == expected)
  }

  @Test func nonFiniteAndSigned() {
    #expect(FixedDecimal.fixed(.nan, digits: 2) == "nan")
    #expect(FixedDecimal.fixed(-.infinity, digits: 2) == "-inf")
    #expect(FixedDecimal.signed(0.13, digits: 2) == "+0.13")
    #expect(FixedDecimal.signed(-1.2, digits: 2) == "-1.20")
    #expect(FixedDecimal.signed(0.0001, digits: 2) == "0.00")
  }

  @Test func compactDropsTrailingZeros() {
    #expect(FixedDecimal.compact(2.5) == "2.5")
    #expect(FixedDecimal.compact(100) == "100")
    #expect(FixedDecimal.compact(0.125, maxDigits: 2) == "0.13")
    #expect(FixedDecimal.compact(-0.001, maxDigits: 2) == "0")
  }
}

@Suite struct PlotTickTests {
  @Test func linearTicksAreNiceAndCoverTheData() {
    let (domain, ticks) = NiceTicks.linear(0, 97.3)
    #expect(ticks.map(\.label) == ["0", "20", "40", "60", "80", "100"])
    #expect(domain == 0...100)
  }

  @Test func smallLinearTicksHaveEnoughDecimalsAndNoNoise() {
    let (domain, ticks) = NiceTicks.linear(0.013, 0.087)
    #expect(ticks.map(\.label) == ["0.00", "0.02", "0.04", "0.06", "0.08", "0.10"])
    expectApprox(domain.upperBound, 0.1)
    // A lower bound on a tick is kept (no float-noise extra tick below 0.3).
    #expect(NiceTicks.linear(0.3, 0.7).ticks.first?.label == "0.3")
  }

  @Test func fixedDomainKeepsItsEnds() {
    let (domain, ticks) = NiceTicks.linear(0, 100, fixed: true)
    #expect(domain == 0...100)
    #expect(ticks.map(\.value) == [0, 20, 40, 60, 80, 100])
  }

  @Test func constantDataStillGetsAnAxis() {
    let (domain, ticks) = NiceTicks.linear(5, 5)
    #expect(domain.lowerBound < 5 && domain.upperBound > 5)
    #expect(ticks.count >= 2)
  }

  @Test func logTicksArePowersOfTenOverManyDecades() {
    let (domain, ticks) = NiceTicks.log(50, 5000)
    #expect(domain == 10...10000)
    #expect(ticks.map(\.label) == ["10", "100", "1000", "10000"])
  }

  @Test func logTicksAdd2And5OverFewDecades() {
    #expect(NiceTicks.log(50, 500).ticks.map(\.label) == ["10", "20", "50", "100", "200", "500", "1000"])
    #expect(NiceTicks.log(0.05, 0.8).ticks.map(\.label) == ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1"])
  }

  @Test func logMappingIsLinearInTheExponent() {
    let m = AxisMapping(scale: .log, domain: 10...1000, from: 0, to: 200)
    expectApprox(m.position(10)!, 0)
    expectApprox(m.position(100)!, 100)
    expectApprox(m.position(1000)!, 200)
    #expect(m.position(0) == nil)
    #expect(m.position(-5) == nil)
  }
}

@Suite struct PlotChartTests {
  static let chart = XYChart(
    title: "Training <loss> & error",
    xAxis: PlotAxis(label: "epoch"), yAxis: PlotAxis(label: "test error", unit: "%"),
    series: [
      .init(name: "erm", x: [1, 2, 3], y: [50, 40, 35]),
      .init(name: "ldam-drw", x: [1, 2, 3], y: [55, .nan, 30], style: .line),
    ])

  @Test func lineChartIsWellFormedAndDeterministic() {
    let a = Self.chart.svg()
    let b = Self.chart.svg()
    #expect(a == b)
    #expect(xmlError(a) == nil)
    #expect(a.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
    #expect(a.contains("viewBox=\"0 0 "))
    #expect(a.hasSuffix("</svg>\n"))
    #expect(a.contains("Training &lt;loss&gt; &amp; error"))
    #expect(a.contains(">test error [%]</text>"))
    #expect(a.contains(">erm</text>") && a.contains(">ldam-drw</text>"))
    #expect(!a.contains("<script") && !a.contains("@import") && !a.contains("href="))
  }

  @Test func aMissingPointBreaksTheLine() {
    let svg = Self.chart.svg()
    // erm: one polyline of three points; ldam-drw: its NaN leaves two single points, no polyline.
    #expect(occurrences(of: "<polyline", in: svg) == 1)
    // Three erm markers plus one legend marker.
    #expect(occurrences(of: "<circle", in: svg) == 4)
  }

  @Test func differentDataGiveDifferentBytes() {
    var other = Self.chart
    other.series[0].y[2] = 36
    #expect(other.svg() != Self.chart.svg())
  }

  @Test func logScatterLeavesOutNonPositiveX() {
    let chart = XYChart(
      title: "per class", xAxis: PlotAxis(label: "training examples", scale: .log),
      yAxis: PlotAxis(label: "accuracy", unit: "%", domain: 0...100),
      series: [.init(name: "erm", x: [0, 50, 500, 5000], y: [10, 20, 60, 90], style: .markers)])
    let svg = chart.svg()
    #expect(xmlError(svg) == nil)
    #expect(occurrences(of: "<circle", in: svg) == 3 + 1)  // three placeable points + legend
    #expect(occurrences(of: "<polyline", in: svg) == 0)
    for label in [">10</text>", ">100</text>", ">1000</text>", ">10000</text>"] { #expect(svg.contains(label)) }
  }

  @Test func emptyChartSaysNoData() {
    let chart = XYChart(title: "t", xAxis: PlotAxis(label: "x"), yAxis: PlotAxis(label: "y"), series: [])
    let svg = chart.svg()
    #expect(xmlError(svg) == nil)
    #expect(svg.contains(">no data</text>"))
  }

  @Test func reliabilityDiagramDrawsBarsCountsAndECE() {
    let panel = ReliabilityDiagram.Panel(
      name: "erm", confidence: [0.25, 0.75, 0.95], accuracy: [0.2, 0.5, 0.95], count: [10, 30, 0])
    // ECE = (10·0.05 + 30·0.25) / 40 = 0.2.
    expectApprox(panel.expectedCalibrationError!, 0.2)
    let diagram = ReliabilityDiagram(title: "reliability", panels: [panel, panel])
    let svg = diagram.svg()
    #expect(xmlError(svg) == nil)
    #expect(svg == diagram.svg())
    #expect(svg.contains("erm (ECE 20.00%)"))
    #expect(svg.contains("stroke-dasharray=\"4 3\""))  // the diagonal
    // Per panel: two accuracy bars, two gap bars, two count bars (the empty bin has none).
    #expect(occurrences(of: "fill=\"#0072B2\" fill-opacity", in: svg) == 4 + 1)  // + the legend swatch
    #expect(occurrences(of: "fill=\"#777777\"", in: svg) == 4)
    #expect(svg.contains(">30</text>"))  // the count axis maximum
    // Over-confident bins shade the gap above the bar; an under-confident bin outlines it inside.
    #expect(!svg.contains("fill=\"none\" stroke=\"#D55E00\""))
    let under = ReliabilityDiagram.Panel(name: "u", confidence: [0.2], accuracy: [0.6], count: [5])
    #expect(ReliabilityDiagram(title: "t", panels: [under]).svg().contains("fill=\"none\" stroke=\"#D55E00\""))
  }
}
