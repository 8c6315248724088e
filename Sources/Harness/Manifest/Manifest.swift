import Foundation
import Methods
import Yams

/// A validated experiment manifest (`experiments/<name>/manifest.yaml`) with its jobs expanded for every
/// profile.
///
/// Loading validates the base and every profile overlay completely; a manifest that loads expands
/// without further errors.
public struct Manifest: Sendable {
  /// The experiment's name (its folder's name).
  public let name: String
  /// The paper it replicates.
  public let paper: String
  /// A free-text description, if given.
  public let description: String?
  /// The manifest's path as given to the loader.
  public let file: String
  /// Metric names shown in tables; the first is primary.
  public let metrics: [String]
  /// The profiles the manifest overlays (a subset of ``Registry/profiles``), in file order.
  public let overlaidProfiles: [String]
  /// Expanded jobs per profile (every name in ``Registry/profiles``).
  let expansions: [String: [ExpandedJob]]
  /// Slurm resources per profile.
  let slurmByProfile: [String: SlurmOptions]
  /// The group-sequential design of each profile that declares `resolve`.
  var designs: [String: SequentialDesign] = [:]
  /// The seeds `replicate all --resolve` added (``ResolveSeeds``, `resolve.yaml` beside the manifest).
  public internal(set) var addedSeeds = ResolveSeeds()

  /// The group-sequential design under which `--resolve` adds seeds to `profile`'s inconclusive settings;
  /// nil when the profile declares none (its claims are judged at a fixed number of seeds).
  public func design(profile: String) -> SequentialDesign? { designs[profile] }

  /// The jobs of `profile` in manifest order: grid settings (first axis outermost) × methods × seeds.
  /// A profile name outside ``Registry/profiles`` yields no jobs.
  public func jobs(profile: String) -> [ExpandedJob] {
    addedSeeds.extend(expansions[profile] ?? [], profile: profile)
  }

  /// Slurm resources of `profile` (the base's `slurm`, overlaid by the profile's, over the defaults).
  public func slurm(profile: String) -> SlurmOptions { slurmByProfile[profile] ?? Registry.defaultSlurm }
}

/// One job of a manifest before identity: its resolved spec and its grid setting.
public struct ExpandedJob: Hashable, Sendable {
  /// The complete resolved spec.
  public var spec: JobSpec
  /// The grid setting the job belongs to.
  public var setting: Setting
}

/// Loads and validates manifests.
public enum ManifestLoader {
  /// The manifest files under `experimentsDir` (`*/manifest.yaml`), sorted by experiment name; folders
  /// whose names start with `.` or `_` (examples, scratch) are skipped.
  public static func manifestFiles(in experimentsDir: String) -> [String] {
    let fm = FileManager.default
    guard let names = try? fm.contentsOfDirectory(atPath: experimentsDir) else { return [] }
    return names.sorted().compactMap { name in
      let path = (experimentsDir as NSString).appendingPathComponent("\(name)/manifest.yaml")
      return name.hasPrefix(".") || name.hasPrefix("_") || !fm.fileExists(atPath: path) ? nil : path
    }
  }

  /// Loads every manifest under `experimentsDir`; throws ``ManifestErrors`` with all problems of all files.
  public static func loadAll(experimentsDir: String) throws -> [Manifest] {
    try loadFiles(manifestFiles(in: experimentsDir))
  }

  /// Loads the given manifest files; throws ``ManifestErrors`` with all problems of all files.
  public static func loadFiles(_ files: [String]) throws -> [Manifest] {
    var manifests: [Manifest] = []
    var errors: [ManifestError] = []
    for file in files {
      do { manifests.append(try load(file: file)) } catch let e as ManifestErrors { errors += e.errors }
    }
    if !errors.isEmpty { throw ManifestErrors(errors) }
    return manifests
  }

  /// Loads one manifest file; its `name` must equal its folder's name.
  public static func load(file: String) throws -> Manifest {
    guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
      throw ManifestErrors([
        ManifestError(
          .unreadable, file: file, line: 1, keyPath: "", "cannot read the file", expected: "a UTF-8 YAML file")
      ])
    }
    let folder = ((file as NSString).deletingLastPathComponent as NSString).lastPathComponent
    var manifest = try parse(yaml: text, file: file, folderName: folder.isEmpty ? nil : folder)
    let seedsFile = ResolveSeeds.path(besideManifest: file)
    if FileManager.default.fileExists(atPath: seedsFile) {
      manifest.addedSeeds = try ResolveSeeds.load(path: seedsFile, manifest: manifest)
    }
    return manifest
  }

  /// Parses and validates manifest text; `folderName`, when given, must equal the manifest's `name`.
  public static func parse(yaml: String, file: String, folderName: String? = nil) throws -> Manifest {
    let reader = ManifestReader(file: file)
    let root: ManifestNode
    do {
      guard let node = try Yams.compose(yaml: yaml) else {
        throw ManifestErrors([
          ManifestError(.syntax, file: file, line: 1, keyPath: "", "the file is empty", expected: "a YAML mapping")
        ])
      }
      root = ManifestNode(node)
    } catch let error as YamlError {
      throw ManifestErrors([syntaxError(error, file: file)])
    }
    let manifest = validate(root, reader: reader, folderName: folderName)
    if !reader.errors.isEmpty {
      // Profile variants read the shared base once each: report a problem there once.
      var seen: Set<String> = []
      throw ManifestErrors(reader.errors.filter { seen.insert($0.description).inserted })
    }
    return manifest
  }

  private static func syntaxError(_ error: YamlError, file: String) -> ManifestError {
    switch error {
    case .duplicatedKeysInMapping(let duplicates, let context):
      return ManifestError(
        .duplicateKey, file: file, line: context.mark.line, keyPath: duplicates.joined(separator: ", "),
        "a mapping repeats the key (first at this line)",
        expected: "each key once per mapping")
    case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
      .composer(_, let problem, let mark, _):
      return ManifestError(.syntax, file: file, line: mark.line, keyPath: "", problem, expected: "valid YAML")
    default:
      return ManifestError(.syntax, file: file, line: 1, keyPath: "", "\(error)", expected: "valid YAML")
    }
  }

  private static func validate(_ root: ManifestNode, reader: ManifestReader, folderName: String?) -> Manifest {
    let placeholder = Manifest(
      name: "", paper: "", description: nil, file: reader.file, metrics: [], overlaidProfiles: [], expansions: [:],
      slurmByProfile: [:])
    guard let top = reader.object(root, path: "", schema: nil) else { return placeholder }
    for entry in root.entries ?? [] where !Schema.top.contains(entry.key) {
      reader.report(
        .unknownKey, at: entry.value, path: entry.key, "unknown key '\(entry.key)'",
        expected: "one of: \(Schema.top.joined(separator: ", "))", line: entry.keyLine)
    }
    let name = top.string("name", required: true, what: "name") ?? ""
    if let folderName, !name.isEmpty, name != folderName, let node = top.value("name") {
      reader.report(
        .nameMismatch, at: node, path: "name", "'\(name)' is not the folder's name", expected: "'\(folderName)'")
    }
    let paper = top.string("paper", required: true, what: "paper") ?? ""
    let description = top.string("description", what: "description")
    let metrics = readMetrics(top, reader: reader)

    // Profiles: overlays by name.
    var overlays: [(String, ManifestNode)] = []
    if let node = top.value("profiles"), let profiles = reader.object(node, path: "profiles", schema: nil) {
      for entry in profiles.node.entries ?? [] {
        guard Registry.profiles.contains(entry.key) else {
          reader.report(
            .unknownName, at: entry.value, path: "profiles.\(entry.key)", "unknown profile '\(entry.key)'",
            expected: reader.oneOfText(Registry.profiles), line: entry.keyLine)
          continue
        }
        overlays.append((entry.key, entry.value))
      }
    }

    var expansions: [String: [ExpandedJob]] = [:]
    var slurm: [String: SlurmOptions] = [:]
    var designs: [String: SequentialDesign] = [:]
    for profile in Registry.profiles {
      let document: ManifestNode
      var variants: [Variants.Variant] = []
      if let overlay = overlays.first(where: { $0.0 == profile })?.1 {
        let (rest, listed) = Variants.split(overlay, profile: profile, reader: reader)
        variants = listed
        document = Overlay.apply(rest, to: root, profile: profile, reader: reader)
      } else {
        document = root
      }
      if variants.isEmpty {
        let expanded = Expansion.expand(document, experiment: name, reader: reader)
        expansions[profile] = expanded.jobs
        slurm[profile] = expanded.slurm
      } else {
        expansions[profile] = Variants.expand(
          variants, document: document, profile: profile, experiment: name, reader: reader)
        slurm[profile] = reader.object(document, path: "", schema: nil).map(reader.slurm) ?? Registry.defaultSlurm
      }
      let seedCount = Set((expansions[profile] ?? []).map(\.spec.seed)).count
      if let root = reader.object(document, path: "", schema: nil),
        let design = reader.resolve(root, seedCount: seedCount)
      {
        designs[profile] = design
      }
    }
    var manifest = Manifest(
      name: name, paper: paper, description: description, file: reader.file, metrics: metrics,
      overlaidProfiles: overlays.map(\.0), expansions: expansions, slurmByProfile: slurm)
    manifest.designs = designs
    return manifest
  }

  private static func readMetrics(_ top: ObjectReader, reader: ManifestReader) -> [String] {
    guard let node = top.value("metrics", required: true, expected: "a list of metric names") else { return [] }
    guard let items = node.items else {
      reader.report(
        .wrongType, at: node, path: "metrics", "\(node.typeName) is not a list", expected: "a list of metric names")
      return []
    }
    if items.isEmpty {
      reader.report(.emptyList, at: node, path: "metrics", "no metrics", expected: "at least one metric name")
    }
    var metrics: [String] = []
    for (i, item) in items.enumerated() {
      guard let m = reader.string(item, path: "metrics[\(i)]", what: "metric") else { continue }
      if metrics.contains(m) {
        reader.report(
          .duplicate, at: item, path: "metrics[\(i)]", "metric '\(m)' is listed twice", expected: "distinct metrics")
      } else {
        metrics.append(m)
      }
    }
    return metrics
  }
}
