import Foundation

/// The jobs the manifests plan now under one profile: the only results reports, `diff`, `verify`,
/// `export` and `--resolve` read (DESIGN.md, Reports and diff). Seeds that `--resolve` added are part of
/// it (`resolve.yaml`).
///
/// A result or failure file whose id the plan does not hold is an *orphan*: left by a changed
/// hyper-parameter, a bumped method or engine version, new data, or an experiment that no longer has a
/// manifest. Nothing aggregates orphans; `status` and `plan` count them and `gc` removes them.
public struct CurrentPlan: Sendable {
  /// The profile.
  public var profile: String
  /// The planned jobs, in manifest order (an id may repeat within an experiment when two of its methods
  /// resolve to the same spec; `spec.experiment` keeps ids of different experiments apart).
  public var jobs: [PlannedJob]
  private var idsByExperiment: [String: Set<String>]

  /// The plan of `jobs` under `profile`.
  public init(profile: String, jobs: [PlannedJob]) {
    self.profile = profile
    self.jobs = jobs
    idsByExperiment = Dictionary(grouping: jobs, by: \.experiment).mapValues { Set($0.map(\.id)) }
  }

  /// The experiments with planned jobs, sorted.
  public var experiments: [String] { idsByExperiment.keys.sorted() }

  /// The planned ids of `experiment` (empty when it has no manifest or no job under the profile).
  public func ids(of experiment: String) -> Set<String> { idsByExperiment[experiment] ?? [] }

  /// Whether `experiment` plans job `id`.
  public func plans(_ id: String, in experiment: String) -> Bool { ids(of: experiment).contains(id) }

  /// The datasets the plan needs whose files are absent here (their jobs' ids hash the fingerprint
  /// `absent`), sorted.
  public var absentDatasets: [String] {
    Set(jobs.filter { $0.identity["data"]?.stringValue == "absent" }.map(\.spec.dataset.name)).sorted()
  }

  /// Throws when a dataset is absent here while its experiments have result files: the ids of their jobs
  /// depend on the data's fingerprint, so every result would look orphaned, and a report or `gc` would
  /// drop them. Commands that read or remove results call this first.
  public func requireData(in store: ResultStore, dataDir: String?) throws {
    let absent = absentDatasets
    guard !absent.isEmpty else { return }
    let needing = Set(jobs.filter { absent.contains($0.spec.dataset.name) }.map(\.experiment))
    let stranded = Set(orphans(in: store).map(\.experiment)).intersection(needing)
    guard !stranded.isEmpty else { return }
    throw HarnessError(
      .dataAbsent,
      "the files of \(absent.joined(separator: ", ")) are absent \(dataDir.map { "under \($0)" } ?? "in the default folders"), "
        + "so the ids of \(stranded.sorted().joined(separator: ", "))'s jobs cannot be computed and their results would "
        + "all look orphaned; pass --data-dir DIR with the dataset files")
  }

  /// A file under `results/<profile>/<experiment>/` that belongs to no planned job.
  public struct Orphan: Sendable, Hashable {
    /// The experiment folder.
    public var experiment: String
    /// The job id in the file name.
    public var id: String
    /// The file.
    public var path: String
    /// Whether it is a failure file (`<id>.failed.json`).
    public var isFailure: Bool
  }

  /// The orphaned result and failure files of this profile in `store`, by experiment and file name.
  public func orphans(in store: ResultStore) -> [Orphan] {
    let fm = FileManager.default
    let base = "\(store.root)/\(profile)"
    var out: [Orphan] = []
    for experiment in ((try? fm.contentsOfDirectory(atPath: base)) ?? []).sorted()
    where experiment != "logs" && experiment != "reports" {
      let planned = ids(of: experiment)
      let folder = "\(base)/\(experiment)"
      for name in ((try? fm.contentsOfDirectory(atPath: folder)) ?? []).sorted() where !name.hasPrefix(".") {
        let isFailure = name.hasSuffix(".failed.json")
        guard name.hasSuffix(".json") else { continue }
        let id = String(name.dropLast(isFailure ? ".failed.json".count : ".json".count))
        if !planned.contains(id) {
          out.append(Orphan(experiment: experiment, id: id, path: "\(folder)/\(name)", isFailure: isFailure))
        }
      }
    }
    return out
  }
}

extension Workspace {
  /// The current plan of `profile`: every manifest that loads (a broken one plans nothing here; `validate`
  /// and `run` report it), with this workspace's identity (data fingerprints under its data folder).
  public func currentPlan(profile: String) throws -> CurrentPlan {
    try Workspace.checkProfile(profile)
    let manifests = Diff.loadableManifests(experimentsDir: experimentsDir).values.sorted { $0.name < $1.name }
    return CurrentPlan(profile: profile, jobs: try identity.plan(manifests, profile: profile))
  }

  /// The current plan for commands that read or remove results: every manifest must load (a broken one is
  /// an error, exit 2, never "no jobs", which would orphan its results), the experiments folder must hold
  /// one (run from the project root or pass `--experiments`), and the data the plan needs must be here
  /// (``CurrentPlan/requireData(in:dataDir:)``).
  public func checkedPlan(profile: String) throws -> CurrentPlan {
    try Workspace.checkProfile(profile)
    let manifests = try self.manifests()
    guard !manifests.isEmpty else {
      throw HarnessError(
        .unknownExperiment,
        "no manifest under \(experimentsDir): run from the project root or pass --experiments DIR "
          + "(without manifests every result would look orphaned)")
    }
    let plan = CurrentPlan(profile: profile, jobs: try identity.plan(manifests, profile: profile))
    try plan.requireData(in: store, dataDir: dataDir)
    return plan
  }
}
