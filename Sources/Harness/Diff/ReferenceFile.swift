import Foundation
import Yams

/// Reference numbers and claims of papers against measured results (`replicate diff`); see
/// ``Diff/evaluate(profile:resultsDir:experimentsDir:)``.
public enum Diff {}

extension Diff {
  /// One number from a paper's table: measured mean over seeds must lie within `tolerance` of `value`.
  public struct Reference: Sendable {
    /// The profile whose results it is compared with (`paper` for the paper's own protocol).
    public var profile: String
    /// The method id (`spec.method.id`).
    public var method: String
    /// Key paths into the job spec and the values they must have, in file order.
    public var setting: [(key: String, value: JSON)]
    /// The metric in `metrics.overall`.
    public var metric: String
    /// The paper's value.
    public var value: Double
    /// The unit (`percent`), for display.
    public var unit: String?
    /// The largest |measured mean − value| that passes.
    public var tolerance: Double
    /// Where the number comes from (`Cao et al. 2019, Table 2`).
    public var source: String?
    /// Whether someone read the number in the paper: true, false, or nil where unknown.
    public var verified: Bool?
    /// The line of the entry in the file.
    public var line: Int
  }

  /// A structured claim of a paper.
  public struct Claim: Sendable {
    /// The rule.
    public enum Kind: String, Sendable {
      /// `better` beats `than` on `metric`, in every combination of the `per` axes.
      case better
      /// The gain of `better` over `than` grows along `along`, in every combination of the other axes.
      case gainGrows = "gain-grows"
      /// `better` and `than` are equivalent within ±`margin` (two one-sided tests).
      case equal
    }
    /// Who states the claim.
    public enum Source: String, Sendable {
      /// The paper states it; ``Claim/quote`` says where.
      case paper
      /// A check the project added.
      case project
    }
    /// Which way is better.
    public enum Direction: String, Sendable {
      /// Lower is better (errors).
      case lower
      /// Higher is better (accuracies).
      case higher
    }
    /// A unique id within the file.
    public var id: String
    /// The claim in words.
    public var text: String
    /// The rule.
    public var kind: Kind
    /// Method A.
    public var better: String
    /// Method B.
    public var than: String
    /// The metric in `metrics.overall`.
    public var metric: String
    /// Which way is better.
    public var direction: Direction
    /// Setting key paths whose combinations are judged separately.
    public var per: [String]
    /// For `gain-grows`: the key path along which the gain must grow.
    public var along: String?
    /// Profiles the claim applies to; nil = all.
    public var profiles: [String]?
    /// Only jobs whose spec has these values take part (like a reference's setting); empty = all.
    public var setting: [(key: String, value: JSON)]
    /// Who states the claim (headlines count paper claims only).
    public var source: Source
    /// For `source: paper`: the section or table it restates, in the paper's words where they were read.
    public var quote: String?
    /// For `better` and `gain-grows`: the smallest effect (metric units) the lower bound must reach.
    public var minEffect: Double?
    /// For `equal`: the equivalence margin in the metric's units, declared before results exist.
    public var margin: Double?
    /// The line of the entry in the file.
    public var line: Int
  }

  /// A problem in a reference file: the file, the key path and line, and what was expected there.
  public struct ReferenceFileError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of problem.
    public enum Code: String, Sendable {
      /// The file could not be read.
      case unreadable
      /// The YAML does not parse.
      case syntax
      /// A key that the format does not have.
      case unknownKey = "unknown-key"
      /// A required key is absent.
      case missingKey = "missing-key"
      /// A value of the wrong type (a list where a number was expected, …).
      case wrongType = "wrong-type"
      /// A value of the right type that is not allowed (a negative tolerance, an unknown kind, …).
      case badValue = "bad-value"
      /// A key given twice in one mapping, or a claim id used twice.
      case duplicate
    }
    /// The kind of problem.
    public var code: Code
    /// The file.
    public var file: String
    /// The key path (`references[3].tolerance`).
    public var keyPath: String
    /// The 1-based line (0 when unknown).
    public var line: Int
    /// What was expected.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, file: String, keyPath: String, line: Int, _ message: String) {
      self.code = code
      self.file = file
      self.keyPath = keyPath
      self.line = line
      self.message = message
    }

    public var description: String {
      "\(file):\(line): \(keyPath.isEmpty ? "<root>" : keyPath): \(message) [\(code.rawValue)]"
    }
  }

  /// Every problem found in the reference files (one entry per problem); `replicate diff` exits 2.
  public struct ReferenceFileErrors: Error, CustomStringConvertible, Sendable {
    /// The problems, in file and line order.
    public var errors: [ReferenceFileError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
  }

  /// A parsed `experiments/<name>/reference.yaml`.
  public struct ReferenceFile: Sendable {
    /// The file's path (as given).
    public var path: String
    /// The reference numbers, in file order.
    public var references: [Reference]
    /// The claims, in file order.
    public var claims: [Claim]

    /// Reads and parses a file; throws ``ReferenceFileErrors``.
    public static func load(path: String) throws -> ReferenceFile {
      guard let data = FileManager.default.contents(atPath: path) else {
        throw ReferenceFileErrors(errors: [
          ReferenceFileError(.unreadable, file: path, keyPath: "", line: 0, "a readable file")
        ])
      }
      return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    /// Parses the YAML text strictly: unknown keys, missing keys, wrong types and bad values are each
    /// reported with the key path and line; throws ``ReferenceFileErrors`` listing all of them.
    public static func parse(_ yaml: String, path: String) throws -> ReferenceFile {
      var checker = ReferenceChecker(file: path)
      let root: Node?
      do {
        root = try Yams.compose(yaml: yaml)
      } catch YamlError.duplicatedKeysInMapping(let duplicates, let context) {
        let key = duplicates.first ?? ""
        throw ReferenceFileErrors(errors: [
          ReferenceFileError(
            .duplicate, file: path, keyPath: key, line: secondOccurrence(of: key, in: yaml, from: context.mark.line),
            "each key once in a mapping (\(duplicates.joined(separator: ", ")) repeated)")
        ])
      } catch {
        throw ReferenceFileErrors(errors: [
          ReferenceFileError(.syntax, file: path, keyPath: "", line: yamlErrorLine(error), "valid YAML (\(error))")
        ])
      }
      var file = ReferenceFile(path: path, references: [], claims: [])
      if let root {
        if let top = checker.mapping(root, "", allowed: ["references", "claims"], required: []) {
          if let list = top["references"].flatMap({ checker.sequence($0, "references") }) {
            for (i, node) in list.enumerated() {
              if let r = checker.reference(node, "references[\(i)]") { file.references.append(r) }
            }
          }
          if let list = top["claims"].flatMap({ checker.sequence($0, "claims") }) {
            var seen: Set<String> = []
            for (i, node) in list.enumerated() {
              guard let c = checker.claim(node, "claims[\(i)]") else { continue }
              if !seen.insert(c.id).inserted {
                checker.report(.duplicate, "claims[\(i)].id", node, "a claim id not used before ('\(c.id)' is)")
              }
              file.claims.append(c)
            }
          }
        }
      }
      if !checker.errors.isEmpty { throw ReferenceFileErrors(errors: checker.errors) }
      return file
    }

    /// The line of the second `key:` at or after line `from` (Yams reports a repeated key at the start
    /// of its mapping; the repeat is the line a person needs).
    static func secondOccurrence(of key: String, in yaml: String, from: Int) -> Int {
      var seen = 0
      for (i, line) in yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where i + 1 >= from {
        var rest = Substring(line)
        while let r = rest.range(of: key) {
          let before = rest[..<r.lowerBound].last
          let after = rest[r.upperBound...].drop { $0 == " " }.first
          if (before == nil || before == " " || before == "{" || before == "," || before == "-") && after == ":" {
            seen += 1
            if seen == 2 { return i + 1 }
          }
          rest = rest[r.upperBound...]
        }
      }
      return from
    }

    static func yamlErrorLine(_ error: Error) -> Int {
      guard let e = error as? YamlError else { return 0 }
      switch e {
      case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
      default: return 0
      }
    }
  }
}

/// Strict, error-collecting reads of YAML nodes for ``Diff/ReferenceFile``.
struct ReferenceChecker {
  let file: String
  var errors: [Diff.ReferenceFileError] = []

  mutating func report(_ code: Diff.ReferenceFileError.Code, _ keyPath: String, _ node: Node?, _ message: String) {
    errors.append(Diff.ReferenceFileError(code, file: file, keyPath: keyPath, line: node?.mark?.line ?? 0, message))
  }

  /// The mapping's entries by key, after checking that every key is allowed, unique, and that the
  /// required keys are present.
  mutating func mapping(_ node: Node, _ path: String, allowed: [String], required: [String]) -> [String: Node]? {
    guard case .mapping(let m) = node else {
      report(.wrongType, path, node, "a mapping with keys \(allowed.joined(separator: ", "))")
      return nil
    }
    var out: [String: Node] = [:]
    for (k, v) in m {
      let key = k.string ?? ""
      let keyPath = path.isEmpty ? key : "\(path).\(key)"
      if !allowed.contains(key) {
        report(.unknownKey, keyPath, k, "one of the keys \(allowed.joined(separator: ", "))")
      } else if out[key] != nil {
        report(.duplicate, keyPath, k, "each key once")
      } else {
        out[key] = v
      }
    }
    for key in required where out[key] == nil {
      report(.missingKey, path.isEmpty ? key : "\(path).\(key)", node, "the key '\(key)'")
    }
    return out
  }

  mutating func sequence(_ node: Node, _ path: String) -> [Node]? {
    guard case .sequence(let s) = node else {
      report(.wrongType, path, node, "a list")
      return nil
    }
    return Array(s)
  }

  mutating func string(_ node: Node?, _ path: String) -> String? {
    guard let node else { return nil }
    guard case .scalar(let s) = node, yamlTag(node) != .null, !s.string.isEmpty else {
      report(.wrongType, path, node, "a non-empty string")
      return nil
    }
    return s.string
  }

  mutating func number(_ node: Node?, _ path: String) -> Double? {
    guard let node else { return nil }
    guard case .scalar = node, yamlTag(node) == .int || yamlTag(node) == .float, let x = node.float, x.isFinite else {
      report(.wrongType, path, node, "a finite number")
      return nil
    }
    return x
  }

  /// `true`, `false` or `null` (nil: absent; .some(nil): null).
  mutating func optionalBool(_ node: Node?, _ path: String) -> Bool?? {
    guard let node else { return nil }
    if yamlTag(node) == .null { return .some(nil) }
    guard case .scalar = node, yamlTag(node) == .bool, let b = node.bool else {
      report(.wrongType, path, node, "true, false or null")
      return nil
    }
    return .some(b)
  }

  mutating func strings(_ node: Node?, _ path: String) -> [String]? {
    guard let node else { return nil }
    guard let list = sequence(node, path) else { return nil }
    var out: [String] = []
    for (i, item) in list.enumerated() {
      if let s = string(item, "\(path)[\(i)]") { out.append(s) }
    }
    return out
  }

  /// A setting: a mapping from dotted key paths (or nested mappings, flattened) to scalar values.
  mutating func setting(_ node: Node?, _ path: String, prefix: String = "") -> [(key: String, value: JSON)]? {
    guard let node else { return nil }
    guard case .mapping(let m) = node else {
      report(.wrongType, path, node, "a mapping from spec key paths to values")
      return nil
    }
    var out: [(key: String, value: JSON)] = []
    for (k, v) in m {
      let key = k.string ?? ""
      let keyPath = "\(path).\(key)"
      let full = prefix.isEmpty ? key : "\(prefix).\(key)"
      guard !key.isEmpty, !key.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty)
      else {
        report(.badValue, keyPath, k, "a dotted key path such as dataset.imbalance.ratio")
        continue
      }
      var entries: [(key: String, value: JSON)] = []
      switch v {
      case .scalar: entries = [(full, Report.ManifestSummary.scalarJSON(v))]
      case .mapping: entries = setting(v, keyPath, prefix: full) ?? []
      default: report(.wrongType, keyPath, v, "a single value (string, number or boolean)")
      }
      for entry in entries {
        if out.contains(where: { $0.0 == entry.0 }) {
          report(.duplicate, keyPath, k, "each key path once (\(entry.0) is repeated)")
        } else {
          out.append(entry)
        }
      }
    }
    return out
  }

  mutating func reference(_ node: Node, _ path: String) -> Diff.Reference? {
    let allowed = [
      "profile", "method", "setting", "metric", "value", "unit", "tolerance", "source", "verified", "note",
    ]
    let required = ["profile", "method", "setting", "metric", "value", "tolerance", "verified"]
    guard let m = mapping(node, path, allowed: allowed, required: required) else { return nil }
    let before = errors.count
    let profile = string(m["profile"], "\(path).profile")
    let method = string(m["method"], "\(path).method")
    let setting = self.setting(m["setting"], "\(path).setting")
    let metric = string(m["metric"], "\(path).metric")
    let value = number(m["value"], "\(path).value")
    let unit = string(m["unit"], "\(path).unit")
    let tolerance = number(m["tolerance"], "\(path).tolerance")
    let source = string(m["source"], "\(path).source")
    let verified = optionalBool(m["verified"], "\(path).verified")
    _ = string(m["note"], "\(path).note")
    if let t = tolerance, t < 0 { report(.badValue, "\(path).tolerance", m["tolerance"], "a tolerance ≥ 0") }
    guard errors.count == before, let profile, let method, let setting, let metric, let value, let tolerance else {
      return nil
    }
    return Diff.Reference(
      profile: profile, method: method, setting: setting, metric: metric, value: value, unit: unit,
      tolerance: tolerance, source: source, verified: verified ?? nil, line: node.mark?.line ?? 0)
  }

  mutating func claim(_ node: Node, _ path: String) -> Diff.Claim? {
    let allowed = [
      "id", "text", "kind", "better", "than", "metric", "direction", "per", "along", "profiles", "setting", "note",
      "source", "quote", "min_effect", "margin",
    ]
    let required = ["id", "text", "better", "than", "metric", "direction", "source"]
    guard let m = mapping(node, path, allowed: allowed, required: required) else { return nil }
    let before = errors.count
    let id = string(m["id"], "\(path).id")
    let text = string(m["text"], "\(path).text")
    var kind = Diff.Claim.Kind.better
    if let k = string(m["kind"], "\(path).kind") {
      if let parsed = Diff.Claim.Kind(rawValue: k) {
        kind = parsed
      } else {
        report(.badValue, "\(path).kind", m["kind"], "better, gain-grows or equal")
      }
    }
    let better = string(m["better"], "\(path).better")
    let than = string(m["than"], "\(path).than")
    let metric = string(m["metric"], "\(path).metric")
    var direction: Diff.Claim.Direction?
    if let d = string(m["direction"], "\(path).direction") {
      direction = Diff.Claim.Direction(rawValue: d)
      if direction == nil { report(.badValue, "\(path).direction", m["direction"], "lower or higher") }
    }
    let per = strings(m["per"], "\(path).per") ?? []
    let along = string(m["along"], "\(path).along")
    let profiles = strings(m["profiles"], "\(path).profiles")
    let setting = self.setting(m["setting"], "\(path).setting") ?? []
    _ = string(m["note"], "\(path).note")
    var source: Diff.Claim.Source?
    if let s = string(m["source"], "\(path).source") {
      source = Diff.Claim.Source(rawValue: s)
      if source == nil { report(.badValue, "\(path).source", m["source"], "paper or project") }
    }
    let quote = string(m["quote"], "\(path).quote")
    if source == .paper && m["quote"] == nil {
      report(
        .missingKey, "\(path).quote", node, "the key 'quote' (the section or table the claim restates) for source paper"
      )
    }
    let minEffect = number(m["min_effect"], "\(path).min_effect")
    if let e = minEffect, e < 0 { report(.badValue, "\(path).min_effect", m["min_effect"], "a min_effect ≥ 0") }
    if kind == .equal && m["min_effect"] != nil {
      report(
        .unknownKey, "\(path).min_effect", m["min_effect"], "no 'min_effect' for kind equal (its margin is 'margin')")
    }
    let margin = number(m["margin"], "\(path).margin")
    if kind == .equal {
      if m["margin"] == nil {
        report(
          .missingKey, "\(path).margin", node, "the key 'margin' (the equivalence margin, metric units) for kind equal")
      } else if let g = margin, g <= 0 {
        report(.badValue, "\(path).margin", m["margin"], "a margin > 0")
      }
    } else if m["margin"] != nil {
      report(.unknownKey, "\(path).margin", m["margin"], "no 'margin' for kind \(kind.rawValue) (it needs kind: equal)")
    }
    if kind == .gainGrows && m["along"] == nil {
      report(.missingKey, "\(path).along", node, "the key 'along' (the axis the gain grows along) for kind gain-grows")
    }
    if kind != .gainGrows && m["along"] != nil {
      report(
        .unknownKey, "\(path).along", m["along"], "no 'along' for kind \(kind.rawValue) (it needs kind: gain-grows)")
    }
    if let along, per.contains(along) {
      report(.badValue, "\(path).per", m["per"], "axes other than the 'along' axis \(along)")
    }
    if let better, better == than { report(.badValue, "\(path).than", m["than"], "a method other than \(better)") }
    guard errors.count == before, let id, let text, let better, let than, let metric, let direction, let source else {
      return nil
    }
    return Diff.Claim(
      id: id, text: text, kind: kind, better: better, than: than, metric: metric, direction: direction, per: per,
      along: along, profiles: profiles, setting: setting, source: source, quote: quote, minEffect: minEffect,
      margin: margin, line: node.mark?.line ?? 0)
  }
}
