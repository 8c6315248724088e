import Foundation

/// A problem with a command's input other than a manifest's (exit status 2).
public struct HarnessError: Error, CustomStringConvertible, Sendable {
  /// The kind of problem.
  public enum Code: String, Sendable {
    /// No experiment has that name.
    case unknownExperiment = "unknown-experiment"
    /// Not a profile name.
    case unknownProfile = "unknown-profile"
    /// No job (or result) has that id or id prefix.
    case unknownJob = "unknown-job"
    /// Several jobs start with that prefix.
    case ambiguousJob = "ambiguous-job"
    /// A file could not be read or written.
    case io = "io"
    /// A dataset's files are absent, and the command needs them to tell which results are current.
    case dataAbsent = "data-absent"
  }

  /// The kind of problem.
  public var code: Code
  /// What is wrong and what was expected.
  public var message: String

  /// Creates an error.
  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { message }
}

/// The folders a command works on: `experiments/` (manifests), `results/` and the data folder.
public struct Workspace: Sendable {
  /// The experiments folder.
  public var experimentsDir: String
  /// The results folder.
  public var resultsDir: String
  /// The data folder (`--data-dir`); nil: Debian's `/usr/share/datasets`.
  public var dataDir: String?
  /// The job identity (data fingerprints under `dataDir` unless a test injects one).
  public var identity: JobIdentity

  /// Creates a workspace.
  public init(
    experimentsDir: String = "experiments", resultsDir: String = "results", dataDir: String? = nil,
    identity: JobIdentity? = nil
  ) {
    self.experimentsDir = experimentsDir
    self.resultsDir = resultsDir
    self.dataDir = dataDir
    self.identity = identity ?? .files(dataDir: dataDir)
  }

  /// The result store.
  public var store: ResultStore { ResultStore(root: resultsDir) }

  /// Every manifest (throws ``ManifestErrors`` listing every problem).
  public func manifests() throws -> [Manifest] {
    try ManifestLoader.loadAll(experimentsDir: experimentsDir)
  }

  /// The manifests named (all when `names` is empty), in the order named.
  public func manifests(named names: [String]) throws -> [Manifest] {
    let all = try manifests()
    guard !names.isEmpty else { return all }
    return try names.map { name in
      guard let m = all.first(where: { $0.name == name }) else {
        throw HarnessError(
          .unknownExperiment,
          "no experiment '\(name)' in \(experimentsDir) (expected one of: \(all.map(\.name).joined(separator: ", ")))")
      }
      return m
    }
  }

  /// Checks a profile name.
  public static func checkProfile(_ profile: String) throws {
    guard Registry.profiles.contains(profile) else {
      throw HarnessError(
        .unknownProfile, "unknown profile '\(profile)' (expected one of: \(Registry.profiles.joined(separator: ", ")))")
    }
  }

  /// The planned jobs of the named experiments (all when empty) under `profile`.
  public func jobs(experiments: [String] = [], profile: String) throws -> [PlannedJob] {
    try Workspace.checkProfile(profile)
    return try identity.plan(manifests(named: experiments), profile: profile)
  }

  /// The job of `profile` whose id is `id` or starts with it.
  public func job(id: String, profile: String) throws -> PlannedJob {
    let jobs = try self.jobs(profile: profile)
    let matches = jobs.filter { $0.id.hasPrefix(id.lowercased()) }
    var unique: [PlannedJob] = []
    for job in matches where !unique.contains(where: { $0.id == job.id }) { unique.append(job) }
    guard !id.isEmpty, let first = unique.first else {
      throw HarnessError(
        .unknownJob, "no job of profile '\(profile)' has id '\(id)' (see `replicate plan --profile \(profile)`)")
    }
    guard unique.count == 1 else {
      throw HarnessError(.ambiguousJob, "id prefix '\(id)' matches \(unique.count) jobs (expected a longer prefix)")
    }
    return first
  }
}
