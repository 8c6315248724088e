/// A minimal SVG 1.1 document builder: elements are appended as text in call order, coordinates are
/// printed with at most two decimals by ``FixedDecimal``, text is XML-escaped. The same calls give the
/// same bytes. No scripts, no external fonts (`font-family="sans-serif"`), a white background so the
/// image reads on GitHub's light and dark themes.
struct SVGWriter {
  let width: Double
  let height: Double
  private(set) var elements: [String] = []

  init(width: Double, height: Double, title: String) {
    self.width = width
    self.height = height
    elements.append("<title>\(Self.escape(title))</title>")
    elements.append(
      "<rect x=\"0\" y=\"0\" width=\"\(Self.num(width))\" height=\"\(Self.num(height))\" fill=\"#ffffff\"/>")
  }

  /// A coordinate or length: at most two decimals, no trailing zeros.
  static func num(_ x: Double) -> String { FixedDecimal.compact(x, maxDigits: 2) }

  /// XML-escapes text content and attribute values.
  static func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.count)
    for c in s {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&apos;"
      default: out.append(c)
      }
    }
    return out
  }

  mutating func raw(_ element: String) { elements.append(element) }

  mutating func line(
    _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1,
    dash: String? = nil
  ) {
    var e = "<line x1=\"\(Self.num(x1))\" y1=\"\(Self.num(y1))\" x2=\"\(Self.num(x2))\" y2=\"\(Self.num(y2))\""
    e += " stroke=\"\(stroke)\" stroke-width=\"\(Self.num(width))\""
    if let dash { e += " stroke-dasharray=\"\(dash)\"" }
    elements.append(e + "/>")
  }

  mutating func rect(
    _ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String? = nil,
    opacity: Double? = nil
  ) {
    var e = "<rect x=\"\(Self.num(x))\" y=\"\(Self.num(y))\" width=\"\(Self.num(max(0, w)))\""
    e += " height=\"\(Self.num(max(0, h)))\" fill=\"\(fill)\""
    if let stroke { e += " stroke=\"\(stroke)\" stroke-width=\"1\"" }
    if let opacity { e += " fill-opacity=\"\(Self.num(opacity))\"" }
    elements.append(e + "/>")
  }

  mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 1.5, clip: String? = nil) {
    guard points.count > 1 else { return }
    let coordinates = points.map { "\(Self.num($0.0)),\(Self.num($0.1))" }.joined(separator: " ")
    var e = "<polyline points=\"\(coordinates)\" fill=\"none\" stroke=\"\(stroke)\""
    e += " stroke-width=\"\(Self.num(width))\" stroke-linejoin=\"round\""
    if let clip { e += " clip-path=\"url(#\(clip))\"" }
    elements.append(e + "/>")
  }

  /// Text; `anchor` is `start`, `middle` or `end`; `rotate` degrees about (x, y).
  mutating func text(
    _ x: Double, _ y: Double, _ s: String, size: Double = 12, anchor: String = "start",
    weight: String? = nil, rotate: Double? = nil, fill: String = "#222222"
  ) {
    var e = "<text x=\"\(Self.num(x))\" y=\"\(Self.num(y))\" font-size=\"\(Self.num(size))\""
    e += " text-anchor=\"\(anchor)\" fill=\"\(fill)\""
    if let weight { e += " font-weight=\"\(weight)\"" }
    if let rotate { e += " transform=\"rotate(\(Self.num(rotate)) \(Self.num(x)) \(Self.num(y)))\"" }
    elements.append(e + ">\(Self.escape(s))</text>")
  }

  /// A marker of the given shape centred on (x, y) with half-size r.
  mutating func marker(_ shape: MarkerShape, _ x: Double, _ y: Double, r: Double, color: String) {
    let fill = "fill=\"\(color)\" stroke=\"#ffffff\" stroke-width=\"0.75\""
    switch shape {
    case .circle:
      elements.append("<circle cx=\"\(Self.num(x))\" cy=\"\(Self.num(y))\" r=\"\(Self.num(r))\" \(fill)/>")
    case .square:
      elements.append(
        "<rect x=\"\(Self.num(x - r))\" y=\"\(Self.num(y - r))\" width=\"\(Self.num(2 * r))\" "
          + "height=\"\(Self.num(2 * r))\" \(fill)/>")
    case .triangleUp:
      polygon([(x, y - 1.2 * r), (x + 1.1 * r, y + 0.9 * r), (x - 1.1 * r, y + 0.9 * r)], attributes: fill)
    case .diamond:
      polygon([(x, y - 1.3 * r), (x + 1.3 * r, y), (x, y + 1.3 * r), (x - 1.3 * r, y)], attributes: fill)
    case .triangleDown:
      polygon([(x, y + 1.2 * r), (x + 1.1 * r, y - 0.9 * r), (x - 1.1 * r, y - 0.9 * r)], attributes: fill)
    }
  }

  private mutating func polygon(_ points: [(Double, Double)], attributes: String) {
    let coordinates = points.map { "\(Self.num($0.0)),\(Self.num($0.1))" }.joined(separator: " ")
    elements.append("<polygon points=\"\(coordinates)\" \(attributes)/>")
  }

  /// A rectangular clip path with the given id (ids are local to the document).
  mutating func clipRect(id: String, _ x: Double, _ y: Double, _ w: Double, _ h: Double) {
    elements.append(
      "<defs><clipPath id=\"\(id)\"><rect x=\"\(Self.num(x))\" y=\"\(Self.num(y))\" "
        + "width=\"\(Self.num(w))\" height=\"\(Self.num(h))\"/></clipPath></defs>")
  }

  /// The complete document, ending in a newline.
  func render() -> String {
    let w = Self.num(width)
    let h = Self.num(height)
    var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(w)\" height=\"\(h)\" viewBox=\"0 0 \(w) \(h)\""
    out += " font-family=\"sans-serif\" role=\"img\">\n"
    for e in elements { out += e + "\n" }
    out += "</svg>\n"
    return out
  }
}

/// Marker shapes, cycled per series so series stay distinguishable without colour.
public enum MarkerShape: Int, CaseIterable, Sendable {
  case circle, square, triangleUp, diamond, triangleDown
}

/// The fixed plot palette: Okabe & Ito's colour-blind-safe colours (Okabe, Ito 2008, "Color Universal
/// Design"), yellow dropped for contrast on white, black appended; series i gets `colors[i % count]`.
public enum PlotPalette {
  /// Hex colours in series order.
  public static let colors = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
  /// The colour of series `i`.
  public static func color(_ i: Int) -> String { colors[i % colors.count] }
  /// The marker of series `i`.
  public static func marker(_ i: Int) -> MarkerShape {
    MarkerShape.allCases[i % MarkerShape.allCases.count]
  }
}
