import Foundation
import Yams

extension Report {
  /// What a report takes from `experiments/<name>/manifest.yaml`: a light, lenient read (the manifest
  /// module validates strictly). Profile overlays are honoured for `seeds`, `metrics` and for the
  /// order of grid values; methods keep the base's order.
  public struct ManifestSummary {
    /// `name` (the folder name when absent).
    public var name: String
    /// `paper`.
    public var paper: String?
    /// `description`.
    public var description: String?
    /// `metrics`, primary first; empty when absent.
    public var metrics: [String]
    /// Method ids in manifest order.
    public var methods: [String]
    /// The seeds a profile runs (its count is the expected n of each table cell).
    public var seeds: [Int]
    /// The YAML root, kept to look up grid value order.
    let root: Node?
    /// The profile overlay, if the manifest has one for the profile.
    let overlay: Node?

    /// Reads `<experimentsDir>/<experiment>/manifest.yaml` for `profile`; a missing or unreadable file
    /// gives an empty summary named after the folder.
    public static func load(experiment: String, profile: String, experimentsDir: String) -> ManifestSummary {
      let path = (experimentsDir as NSString).appendingPathComponent("\(experiment)/manifest.yaml")
      guard let data = FileManager.default.contents(atPath: path),
        let root = try? Yams.compose(yaml: String(decoding: data, as: UTF8.self))
      else {
        return ManifestSummary(
          name: experiment, paper: nil, description: nil, metrics: [], methods: [], seeds: [], root: nil,
          overlay: nil)
      }
      let overlay = root["profiles"]?[profile]
      func pick(_ key: String) -> Node? { overlay?[key] ?? root[key] }
      // Methods in the base's order, then those a profile (or one of its variants) adds: an overlay refines
      // methods by id and may add complete new ones, never drops or reorders.
      func ids(_ node: Node?) -> [String] {
        if let list = node?.sequence { return list.compactMap { $0.string ?? $0["id"]?.string } }
        return node?.mapping?.keys.compactMap(\.string) ?? []
      }
      var methods = ids(root["methods"])
      let variants = overlay?["variants"]?.sequence.map(Array.init) ?? []
      for id in ids(overlay?["methods"]) + variants.flatMap({ ids($0["methods"]) }) where !methods.contains(id) {
        methods.append(id)
      }
      return ManifestSummary(
        name: root["name"]?.string ?? experiment, paper: root["paper"]?.string,
        description: root["description"]?.string,
        metrics: (pick("metrics")?.sequence.map(Array.init) ?? []).compactMap(\.string),
        methods: methods, seeds: (pick("seeds")?.sequence.map(Array.init) ?? []).compactMap(\.int),
        root: root, overlay: overlay)
    }

    /// The values listed at `keyPath` in the overlay (else the base), in manifest order, when that key
    /// holds a list (a grid axis); nil otherwise. For `variant`: the profile's variant names in order.
    public func gridValues(at keyPath: String) -> [JSON]? {
      if keyPath == "variant", let variants = overlay?["variants"]?.sequence {
        return variants.compactMap { $0["name"]?.string }.map(JSON.string)
      }
      func lookup(_ node: Node?) -> Node? {
        var n = node
        for part in keyPath.split(separator: ".") { n = n?[String(part)] }
        return n
      }
      guard let list = (lookup(overlay) ?? lookup(root))?.sequence else { return nil }
      return list.map(Self.scalarJSON)
    }

    /// A YAML scalar as JSON: ints and floats as numbers, booleans, else the string.
    static func scalarJSON(_ node: Node) -> JSON {
      guard case .scalar(let s) = node else { return .string(node.string ?? "") }
      switch yamlTag(node) {
      case .int: return node.int.map { .int($0) } ?? .string(s.string)
      case .float: return node.float.map { .double($0) } ?? .string(s.string)
      case .bool: return node.bool.map { .bool($0) } ?? .string(s.string)
      case .null: return .null
      default: return .string(s.string)
      }
    }
  }
}

/// The resolved tag of a YAML node (`.int`, `.float`, `.bool`, `.null`, `.str`, …).
func yamlTag(_ node: Node) -> Tag.Name { Tag.Name(rawValue: node.tag.rawValue) }
