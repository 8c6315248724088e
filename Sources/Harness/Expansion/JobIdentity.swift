import Crypto
import Datasets
import Engine
import Foundation
import Methods
import NN
import Synchronization

/// A job ready to run: its identity, its experiment and profile, its resolved spec and its setting.
public struct PlannedJob: Hashable, Sendable {
  /// Lowercase hex SHA-256 of the job's identity JSON (see ``JobIdentity``).
  public var id: String
  /// The experiment's name.
  public var experiment: String
  /// The profile the job was expanded under.
  public var profile: String
  /// The resolved spec.
  public var spec: JobSpec
  /// Its grid setting.
  public var setting: Setting
  /// What the id hashes besides the spec: `data`, `engine`, `versions` (``JobIdentity/identityRecord(for:)``).
  public var identity: JSON

  /// The method's id.
  public var methodId: String { spec.method.id }
  /// The job seed.
  public var seed: Int { spec.seed }
  /// The setting's short label.
  public var settingLabel: String { setting.label }

  /// Creates a planned job.
  public init(
    id: String, experiment: String, profile: String, spec: JobSpec, setting: Setting, identity: JSON = .object([])
  ) {
    self.id = id
    self.identity = identity
    self.experiment = experiment
    self.profile = profile
    self.spec = spec
    self.setting = setting
  }
}

/// Job identity: id = lowercase hex SHA-256 of the canonical JSON of
/// `{"data": <dataset fingerprint>, "engine": <engine version>, "spec": <JobSpec JSON>, "versions": {…}}`:
/// - `engine` is ``BLAS/numericVersion``, followed by `/` and the model family's kernel version when it
///   has one (``ModelZoo/kernelVersion(model:)``: `engine-1/lp-dist-2`);
/// - `versions` are the versions of the code the spec uses (``MethodVersions/of(_:)``: `loss/ldam`,
///   `component/cdb-w`, `model/cnn-small`, `data`, `trainer`, …), so a change to one loss gives new ids
///   to the jobs that use it and to no others.
///
/// Same spec, same data, same code → same id (cached); any change → a new id. The profile and the
/// setting are not part of it: they are consequences of the spec. Results record everything but the
/// spec under `identity` (``identityRecord(for:)``), so `plan --explain` can say what moved.
public struct JobIdentity: Sendable {
  /// The dataset content fingerprint for a dataset name.
  public var fingerprint: @Sendable (String) -> String
  /// The engine's numeric version.
  public var engine: String
  /// The versions of the code a spec uses (``MethodVersions/of(_:)``; tests bump one).
  public var versions: @Sendable (JobSpec) -> [String: Int]

  /// An identity with an explicit fingerprint function (tests use a constant).
  public init(
    engine: String = BLAS.numericVersion, versions: @escaping @Sendable (JobSpec) -> [String: Int] = MethodVersions.of,
    fingerprint: @escaping @Sendable (String) -> String
  ) {
    self.engine = engine
    self.versions = versions
    self.fingerprint = fingerprint
  }

  /// The identity that fingerprints the data files found under `dataDir` (see ``DataFingerprint``).
  public static func files(dataDir: String?) -> JobIdentity {
    JobIdentity { DataFingerprint.fingerprint(dataset: $0, dataDir: dataDir) }
  }

  /// The canonical JSON the id hashes.
  public func identityJSON(for spec: JobSpec) throws -> String {
    var members = identityRecord(for: spec).objectValue ?? []
    members.append(("spec", try JSON(encoding: spec)))
    return JSON.object(members).canonical
  }

  /// Everything the id hashes but the spec: `data` (the dataset fingerprint), `engine` and `versions`,
  /// keys sorted. Results record it under `identity`.
  public func identityRecord(for spec: JobSpec) -> JSON {
    let versions = self.versions(spec).sorted { $0.key < $1.key }.map { ($0.key, JSON.int($0.value)) }
    return .object([
      ("data", .string(fingerprint(spec.dataset.name))),
      ("engine", .string(engineVersion(for: spec))),
      ("versions", .object(versions)),
    ])
  }

  /// The engine version a job's results depend on: ``engine``, plus the model family's kernel version.
  public func engineVersion(for spec: JobSpec) -> String {
    ModelZoo.kernelVersion(model: spec.model.name).map { "\(engine)/\($0)" } ?? engine
  }

  /// The job id of `spec`.
  public func id(for spec: JobSpec) throws -> String {
    sha256Hex(Data(try identityJSON(for: spec).utf8))
  }

  /// Plans the expanded jobs of `manifests` under `profile`, in manifest order (manifests in the given order).
  public func plan(_ manifests: [Manifest], profile: String) throws -> [PlannedJob] {
    try manifests.flatMap { manifest in
      try manifest.jobs(profile: profile).map { job in
        PlannedJob(
          id: try id(for: job.spec), experiment: manifest.name, profile: profile, spec: job.spec, setting: job.setting,
          identity: identityRecord(for: job.spec))
      }
    }
  }
}

/// Lowercase hex SHA-256 of `data` (swift-crypto).
func sha256Hex(_ data: Data) -> String {
  SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
}

/// The content fingerprint of a dataset's files: SHA-256 over the bytes of the files
/// `Datasets.DatasetCatalog.files(name, dataDir:)` lists (exactly those `load` reads, in its order),
/// cached per process (hashing Fashion-MNIST's 30 MB takes a fraction of a second, once).
///
/// A dataset whose files are missing has the fingerprint `absent`: its jobs fail with bad data when
/// run, and get a new id once the data exists.
public enum DataFingerprint {
  private static let cache = Mutex<[String: String]>([:])

  /// The data files of `dataset`, in hashing order, or nil if some are missing.
  public static func files(dataset: String, dataDir: String?) -> [String]? {
    try? DatasetCatalog.files(dataset, dataDir: dataDir)
  }

  /// The fingerprint of `dataset`'s files (cached per process by dataset and data folder).
  public static func fingerprint(dataset: String, dataDir: String?) -> String {
    let key = "\(dataset)\u{0}\(dataDir ?? "")"
    if let cached = cache.withLock({ $0[key] }) { return cached }
    var value = "absent"
    if let paths = files(dataset: dataset, dataDir: dataDir) {
      var hasher = SHA256()
      var ok = true
      for path in paths {
        guard let handle = FileHandle(forReadingAtPath: path) else {
          ok = false
          break
        }
        // A read error midway must not give a fingerprint of part of the file: the data counts as absent.
        do {
          while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        } catch {
          ok = false
        }
        try? handle.close()
        if !ok { break }
      }
      if ok { value = hasher.finalize().map { String(format: "%02x", $0) }.joined() }
    }
    cache.withLock { $0[key] = value }
    return value
  }
}
