import Foundation

extension Plan {
  /// Why a job would run (`replicate plan --explain`).
  public struct Reason: Sendable, Equatable {
    /// A short kind: `new`, `new-seed`, `spec-changed`, `version-bumped`, `engine-changed`, `data-changed`,
    /// `data-absent`, `failed-earlier`, `forced`.
    public var kinds: [String]
    /// What moved, for a person (keys that differ, versions bumped, the nearest result's id).
    public var detail: String
  }

  /// The reason every job that a run would start (and, with `force`, every cached one) would run, by job id.
  ///
  /// A job's nearest earlier result is a result or failure file in the same experiment folder whose spec has
  /// the same method and setting, preferring the same seed, then the fewest differing spec keys. Against it:
  /// the spec keys that differ, the versions (``Methods/MethodVersions``) bumped, the engine version, the
  /// data fingerprint. With no such file the job is `new` (or `new-seed` when other seeds of its method and
  /// setting exist).
  public func explain(store: ResultStore, force: Bool) -> [(job: PlannedJob, reason: Reason)] {
    let records = store.results(profile: profile) + store.failures(profile: profile)
    let byCell = Dictionary(grouping: records) { "\($0.experiment)\u{0}\($0.method)\u{0}\($0.settingLabel)" }
    var out: [(PlannedJob, Reason)] = []
    for entry in entries {
      let job = entry.job
      if entry.cached || entry.diverged {
        if force { out.append((job, Reason(kinds: ["forced"], detail: "--force reruns what is cached"))) }
        continue
      }
      if let failure = store.failure(for: job) {
        let code = failure.reason?.code ?? "failed"
        out.append((job, Reason(kinds: ["failed-earlier"], detail: "its last run failed (\(code)); it runs again")))
        continue
      }
      var kinds: [String] = []
      var details: [String] = []
      if job.identity["data"]?.stringValue == "absent" {
        kinds.append("data-absent")
        details.append("the dataset's files are absent here: it will fail with bad data (--data-dir)")
      }
      let cell = byCell["\(job.experiment)\u{0}\(job.methodId)\u{0}\(job.settingLabel)"] ?? []
      let spec = (try? JSON(encoding: job.spec)) ?? .object([])
      let nearest = cell.map { record in
        (record, Self.differingKeys(spec, record.json["spec"] ?? .object([])))
      }.min { a, b in
        let sameA = a.0.seed == job.seed
        let sameB = b.0.seed == job.seed
        if sameA != sameB { return sameA }
        return (a.1.count, a.0.job) < (b.1.count, b.0.job)
      }
      guard let (record, keys) = nearest else {
        kinds.append("new")
        details.append("no result of \(job.methodId) at this setting")
        out.append((job, Reason(kinds: kinds, detail: details.joined(separator: "; "))))
        continue
      }
      if record.seed != job.seed && keys == ["seed"] {
        kinds.append("new-seed")
        details.append("seed \(job.seed) has no result (nearest: seed \(record.seed.map(String.init) ?? "?"))")
      } else {
        let changed = keys.filter { $0 != "seed" || record.seed == job.seed }
        if !changed.isEmpty {
          kinds.append("spec-changed")
          details.append("spec keys differ from \(record.job.prefix(12)): \(changed.joined(separator: ", "))")
        }
      }
      let old = record.json["identity"]
      if let old {
        let bumped = Self.versionChanges(old["versions"], job.identity["versions"])
        if !bumped.isEmpty {
          kinds.append("version-bumped")
          details.append("versions: \(bumped.joined(separator: ", "))")
        }
        if let a = old["engine"]?.stringValue, let b = job.identity["engine"]?.stringValue, a != b {
          kinds.append("engine-changed")
          details.append("engine \(a) → \(b)")
        }
        if let a = old["data"]?.stringValue, let b = job.identity["data"]?.stringValue, a != b, b != "absent" {
          kinds.append("data-changed")
          details.append("data fingerprint \(a.prefix(12)) → \(b.prefix(12))")
        }
      } else if keys.isEmpty || keys == ["seed"] {
        kinds.append("version-bumped")
        details.append("\(record.job.prefix(12)) predates versioned ids (no identity recorded)")
      }
      if kinds.isEmpty {
        kinds.append("identity-changed")
        details.append("same spec and recorded identity as \(record.job.prefix(12)), another id")
      }
      out.append((job, Reason(kinds: kinds, detail: details.joined(separator: "; "))))
    }
    return out
  }

  /// The `--explain` table: one row per job that would run, then a count per reason.
  public func explainTable(store: ResultStore, force: Bool) -> String {
    let reasons = explain(store: store, force: force)
    guard !reasons.isEmpty else { return "nothing would run under \(profile)\n" }
    let rows = reasons.map { job, reason in
      [
        String(job.id.prefix(12)), job.experiment, job.methodId, job.settingLabel.isEmpty ? "-" : job.settingLabel,
        String(job.seed), reason.kinds.joined(separator: ","), reason.detail,
      ]
    }
    var out = TextTable.render(header: ["job", "experiment", "method", "setting", "seed", "why", "detail"], rows: rows)
    var counts: [String: Int] = [:]
    for (_, reason) in reasons { for kind in reason.kinds { counts[kind, default: 0] += 1 } }
    out += "\n\(reasons.count) job\(reasons.count == 1 ? "" : "s") would run: "
    out += counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + "\n"
    return out
  }

  /// The leaf key paths whose values differ between two specs (sorted).
  static func differingKeys(_ a: JSON, _ b: JSON) -> [String] {
    var leavesA: [String: String] = [:]
    var leavesB: [String: String] = [:]
    flatten(a, prefix: "", into: &leavesA)
    flatten(b, prefix: "", into: &leavesB)
    return Set(leavesA.keys).union(leavesB.keys).filter { leavesA[$0] != leavesB[$0] }.sorted()
  }

  static func flatten(_ json: JSON, prefix: String, into out: inout [String: String]) {
    if let members = json.objectValue, !members.isEmpty {
      for (key, value) in members { flatten(value, prefix: prefix.isEmpty ? key : "\(prefix).\(key)", into: &out) }
    } else {
      out[prefix] = json.canonical
    }
  }

  /// `name a → b` for every version that differs (added and dropped units included), sorted.
  static func versionChanges(_ old: JSON?, _ new: JSON?) -> [String] {
    var a: [String: String] = [:]
    var b: [String: String] = [:]
    for (k, v) in old?.objectValue ?? [] { a[k] = v.canonical }
    for (k, v) in new?.objectValue ?? [] { b[k] = v.canonical }
    return Set(a.keys).union(b.keys).sorted().compactMap { key in
      a[key] == b[key] ? nil : "\(key) \(a[key] ?? "none") → \(b[key] ?? "none")"
    }
  }
}
