import Foundation
import Yams

/// Seeds that `replicate all --resolve` added to the two methods of inconclusive claim settings, kept in
/// `experiments/<name>/resolve.yaml` beside the manifest and committed with it. They are part of the plan:
/// ``Manifest/jobs(profile:)`` expands them like the manifest's own seeds, so their results are never
/// orphans, and a fresh clone plans, caches and judges them the same way.
///
/// The file maps a profile to entries; each entry gives the methods, the full grid setting (the result
/// files' `setting` object) and the added seeds:
/// ```yaml
/// default:
///   - {methods: [erm, ldam], setting: {"dataset.imbalance.profile": "step", "dataset.imbalance.ratio": 100}, seeds: [3, 4]}
/// ```
public struct ResolveSeeds: Sendable, Equatable {
  /// Added seeds of some methods in one grid setting.
  public struct Entry: Sendable, Equatable {
    /// The profile.
    public var profile: String
    /// The method ids.
    public var methods: [String]
    /// The grid setting (key path → value), as in the result files.
    public var setting: JSON
    /// The added seeds, ascending.
    public var seeds: [Int]

    /// Creates an entry.
    public init(profile: String, methods: [String], setting: JSON, seeds: [Int]) {
      self.profile = profile
      self.methods = methods
      self.setting = setting
      self.seeds = seeds
    }

    public static func == (a: Entry, b: Entry) -> Bool {
      a.profile == b.profile && a.methods == b.methods && a.setting.canonical == b.setting.canonical
        && a.seeds == b.seeds
    }
  }

  /// The entries in file order.
  public var entries: [Entry] = []

  /// The file name beside the manifest.
  public static let fileName = "resolve.yaml"

  /// No added seeds.
  public init() {}

  /// The path of the file for a manifest path.
  public static func path(besideManifest manifest: String) -> String {
    ((manifest as NSString).deletingLastPathComponent as NSString).appendingPathComponent(fileName)
  }

  /// Whether a job's grid setting is `setting` (every key path of `setting` has the same value).
  static func matches(_ jobSetting: JSON, _ setting: JSON) -> Bool {
    let members = setting.objectValue ?? []
    let job = jobSetting.objectValue ?? []
    return members.count == job.count
      && members.allSatisfy { key, value in job.contains { $0.key == key && Diff.sameValue($0.value, value) } }
  }

  /// `jobs` followed by a copy of the lowest-seed job of each listed method and setting for every added seed
  /// it does not have yet, in entry order.
  func extend(_ jobs: [ExpandedJob], profile: String) -> [ExpandedJob] {
    var out = jobs
    var present = Set(jobs.map { "\($0.spec.method.id)\u{0}\($0.setting.json.canonical)\u{0}\($0.spec.seed)" })
    for entry in entries where entry.profile == profile {
      for method in entry.methods {
        guard
          let template = jobs.filter({ $0.spec.method.id == method && Self.matches($0.setting.json, entry.setting) })
            .min(by: { $0.spec.seed < $1.spec.seed })
        else { continue }
        for seed in entry.seeds {
          let key = "\(method)\u{0}\(template.setting.json.canonical)\u{0}\(seed)"
          guard present.insert(key).inserted else { continue }
          var job = template
          job.spec.seed = seed
          out.append(job)
        }
      }
    }
    return out
  }

  /// Adds seeds for methods in a setting, merging with an entry of the same profile, methods and setting.
  public mutating func add(profile: String, methods: [String], setting: JSON, seeds: [Int]) {
    let methods = methods.sorted()
    if let i = entries.firstIndex(where: {
      $0.profile == profile && $0.methods == methods && $0.setting.canonical == setting.canonical
    }) {
      entries[i].seeds = Array(Set(entries[i].seeds).union(seeds)).sorted()
    } else {
      entries.append(Entry(profile: profile, methods: methods, setting: setting, seeds: Array(Set(seeds)).sorted()))
    }
  }

  /// The file's text: a header comment, then per profile (in first-use order) one flow mapping per entry.
  public func yaml() -> String {
    var out = """
      # Seeds added by `replicate all --resolve` to the two methods of inconclusive claim settings, under the
      # group-sequential design declared in manifest.yaml (`resolve:`). Part of the plan: planned, run, cached
      # and judged like the manifest's own seeds. Written by replicate; do not edit by hand.

      """
    var profiles: [String] = []
    for e in entries where !profiles.contains(e.profile) { profiles.append(e.profile) }
    for profile in profiles {
      out += "\(profile):\n"
      for e in entries where e.profile == profile {
        out +=
          "  - {methods: [\(e.methods.joined(separator: ", "))], setting: \(e.setting.compact), "
          + "seeds: [\(e.seeds.map(String.init).joined(separator: ", "))]}\n"
      }
    }
    return out
  }

  /// Reads a `resolve.yaml`; problems are ``ManifestError``s naming the file, line and key path. Methods
  /// must be the manifest's and every entry's setting must be one of the profile's grid settings.
  static func load(path: String, manifest: Manifest) throws -> ResolveSeeds {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ManifestErrors([
        ManifestError(.unreadable, file: path, line: 1, keyPath: "", "cannot read the file", expected: "a YAML file")
      ])
    }
    let node: Node?
    do { node = try Yams.compose(yaml: String(decoding: data, as: UTF8.self)) } catch {
      throw ManifestErrors([
        ManifestError(.syntax, file: path, line: 1, keyPath: "", "\(error)", expected: "valid YAML")
      ])
    }
    var errors: [ManifestError] = []
    func fail(_ code: ManifestError.Code, _ n: Node?, _ keyPath: String, _ message: String, _ expected: String) {
      errors.append(
        ManifestError(code, file: path, line: n?.mark?.line ?? 1, keyPath: keyPath, message, expected: expected))
    }
    var seeds = ResolveSeeds()
    guard let root = node else { return seeds }
    guard case .mapping(let profiles) = root else {
      throw ManifestErrors([
        ManifestError(
          .wrongType, file: path, line: 1, keyPath: "", "the document is not a mapping",
          expected: "a mapping from profile to a list of entries")
      ])
    }
    for (key, value) in profiles {
      let profile = key.string ?? ""
      guard Registry.profiles.contains(profile) else {
        fail(.unknownName, key, profile, "unknown profile '\(profile)'", Registry.profiles.joined(separator: ", "))
        continue
      }
      guard case .sequence(let list) = value else {
        fail(.wrongType, value, profile, "not a list", "a list of {methods, setting, seeds}")
        continue
      }
      let jobs = manifest.expansions[profile] ?? []
      for (i, item) in list.enumerated() {
        let p = "\(profile)[\(i)]"
        guard case .mapping(let m) = item else {
          fail(.wrongType, item, p, "not a mapping", "{methods, setting, seeds}")
          continue
        }
        for (k, _) in m where !["methods", "setting", "seeds"].contains(k.string ?? "") {
          fail(.unknownKey, k, "\(p).\(k.string ?? "")", "unknown key", "methods, setting, seeds")
        }
        let methods = m["methods"]?.sequence?.compactMap(\.string) ?? []
        let seedList = m["seeds"]?.sequence?.compactMap(\.int) ?? []
        guard let settingNode = m["setting"], case .mapping(let sm) = settingNode, !methods.isEmpty,
          !seedList.isEmpty, seedList.allSatisfy({ $0 >= 0 })
        else {
          fail(.wrongType, item, p, "an incomplete entry", "methods (ids), setting (a mapping), seeds (integers ≥ 0)")
          continue
        }
        let setting = JSON.object(sm.map { ($0.key.string ?? "", Report.ManifestSummary.scalarJSON($0.value)) })
        for method in methods where !jobs.contains(where: { $0.spec.method.id == method }) {
          fail(.unknownName, m["methods"], "\(p).methods", "method '\(method)' is not in the manifest", "a method id")
        }
        if !jobs.contains(where: { matches($0.setting.json, setting) }) {
          fail(
            .invalidValue, settingNode, "\(p).setting", "no grid setting of '\(profile)' is \(setting.compact)",
            "one of the profile's grid settings")
        }
        seeds.add(profile: profile, methods: methods, setting: setting, seeds: seedList)
      }
    }
    if !errors.isEmpty { throw ManifestErrors(errors) }
    return seeds
  }
}
