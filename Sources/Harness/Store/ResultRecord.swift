import CBLAS
import Engine
import Foundation
import Methods

/// Where a job ran: recorded in its result, never part of its id, its tables or its diff.
public struct RunEnvironment: Sendable, Hashable {
  /// The machine's host name.
  public var hostname: String
  /// The operating system (`/etc/os-release`'s `PRETTY_NAME` and the kernel release).
  public var os: String
  /// The Swift compiler version the binary was built with.
  public var swift: String
  /// OpenBLAS's build configuration (`openblas_get_config`).
  public var blas: String
  /// BLAS threads in use.
  public var threads: Int
  /// The OpenBLAS kernel that ran (``Engine/BLASKernel/current``: `Haswell`, `Zen`, `SkylakeX`, …).
  public var blasKernel: String
  /// How it was chosen (``Engine/BLASKernel/Choice``): `pinned`, `environment` or `native`.
  public var blasKernelChoice: String

  /// Creates an environment record.
  public init(
    hostname: String, os: String, swift: String, blas: String, threads: Int, blasKernel: String = "unknown",
    blasKernelChoice: String = "native"
  ) {
    self.hostname = hostname
    self.os = os
    self.swift = swift
    self.blas = blas
    self.threads = threads
    self.blasKernel = blasKernel
    self.blasKernelChoice = blasKernelChoice
  }

  /// This process's environment.
  public static func current() -> RunEnvironment {
    var os = "Linux"
    if let release = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8),
      let line = release.split(separator: "\n").first(where: { $0.hasPrefix("PRETTY_NAME=") })
    {
      os = line.dropFirst("PRETTY_NAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }
    var uts = utsname()
    if uname(&uts) == 0 {
      let kernel = withUnsafeBytes(of: &uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
      os += " (kernel \(kernel))"
    }
    let blas = openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS"
    return RunEnvironment(
      hostname: ProcessInfo.processInfo.hostName, os: os, swift: swiftVersion, blas: blas, threads: BLAS.threads,
      blasKernel: BLASKernel.current, blasKernelChoice: BLASKernel.choice.rawValue)
  }

  /// The compiler version, to the minor.
  static var swiftVersion: String {
    #if compiler(>=6.4)
      "6.4+"
    #elseif compiler(>=6.3)
      "6.3"
    #elseif compiler(>=6.2)
      "6.2"
    #elseif compiler(>=6.1)
      "6.1"
    #else
      "6.0"
    #endif
  }

  var json: JSON {
    .object([
      ("hostname", .string(hostname)), ("os", .string(os)), ("swift", .string(swift)), ("blas", .string(blas)),
      ("threads", .int(threads)), ("blas_kernel", .string(blasKernel)),
      ("blas_kernel_choice", .string(blasKernelChoice)),
    ])
  }
}

/// When a job ran and for how long.
public struct RunTiming: Sendable, Hashable {
  /// Wall-clock seconds.
  public var seconds: Double
  /// Start, ISO 8601.
  public var started: Date
  /// End, ISO 8601.
  public var finished: Date

  /// Creates a timing record.
  public init(seconds: Double, started: Date, finished: Date) {
    self.seconds = seconds
    self.started = started
    self.finished = finished
  }

  /// A timing from `started` to now.
  public static func since(_ started: Date) -> RunTiming {
    let now = Date()
    return RunTiming(seconds: now.timeIntervalSince(started), started: started, finished: now)
  }

  var json: JSON {
    let format = ISO8601DateFormatter()
    return .object([
      ("seconds", .double((seconds * 1000).rounded() / 1000)), ("started", .string(format.string(from: started))),
      ("finished", .string(format.string(from: finished))),
    ])
  }
}

/// Why a job failed, as written in its failure file.
public struct FailureReason: Sendable, Hashable {
  /// A short code: `non-finite-loss`, `bad-data`, `bad-spec` (from ``Methods/JobFailure``), `error`
  /// (any other error the job threw), `crash` (the worker died or exited without a result).
  public var code: String
  /// What happened, for a person.
  public var message: String

  /// Creates a reason.
  public init(code: String, message: String) {
    self.code = code
    self.message = message
  }
}

/// A result file as read back: the parsed JSON with typed access to the parts tools use.
public struct ResultRecord: Sendable {
  /// The whole document.
  public var json: JSON
  /// The file it was read from.
  public var path: String

  /// The job id.
  public var job: String { json["job"]?.stringValue ?? "" }
  /// The experiment.
  public var experiment: String { json["experiment"]?.stringValue ?? "" }
  /// The profile.
  public var profile: String { json["profile"]?.stringValue ?? "" }
  /// The method's id.
  public var method: String { json["spec"]?["method"]?["id"]?.stringValue ?? "" }
  /// The job seed.
  public var seed: Int? { json["spec"]?["seed"]?.intValue }
  /// The setting label.
  public var settingLabel: String { json["setting_label"]?.stringValue ?? "" }
  /// `metrics` (for a failure: nil).
  public var metrics: JSON? { json["metrics"] }
  /// `curves`.
  public var curves: JSON? { json["curves"] }
  /// `timing.seconds`.
  public var seconds: Double? { json["timing"]?["seconds"]?.doubleValue }
  /// The failure's reason (failure files only).
  public var reason: FailureReason? {
    guard let r = json["reason"] else { return nil }
    return FailureReason(code: r["code"]?.stringValue ?? "", message: r["message"]?.stringValue ?? "")
  }

  /// Reads a result or failure file; nil if it is absent, not JSON, or not a record of `expectedID`.
  public static func read(path: String, expectedID: String? = nil) -> ResultRecord? {
    guard let data = FileManager.default.contents(atPath: path), let json = try? JSON(parsing: data),
      let job = json["job"]?.stringValue, json["spec"]?.objectValue != nil
    else { return nil }
    if let expectedID, job != expectedID { return nil }
    return ResultRecord(json: json, path: path)
  }

  /// The result document of a finished job, in the contract's key order.
  static func resultDocument(
    job: PlannedJob, output: JobOutput, environment: RunEnvironment, timing: RunTiming,
    provenance: Provenance = .current
  ) throws -> JSON {
    var metrics = try JSON(encoding: output).objectValue ?? []
    let curves = metrics.first { $0.key == "curves" }?.value ?? .object([])
    metrics.removeAll { $0.key == "curves" }
    return .object(
      try header(job) + [
        ("setting", job.setting.json), ("setting_label", .string(job.setting.label)), ("metrics", .object(metrics)),
        ("curves", curves), ("identity", job.identity), ("provenance", provenance.json),
        ("environment", environment.json), ("timing", timing.json),
      ])
  }

  /// The failure document of a failed job.
  static func failureDocument(
    job: PlannedJob, reason: FailureReason, timing: RunTiming, provenance: Provenance = .current
  ) throws -> JSON {
    .object(
      try header(job) + [
        ("setting", job.setting.json), ("setting_label", .string(job.setting.label)),
        ("reason", .object([("code", .string(reason.code)), ("message", .string(reason.message))])),
        ("identity", job.identity), ("provenance", provenance.json), ("environment", RunEnvironment.current().json),
        ("timing", timing.json),
      ])
  }

  private static func header(_ job: PlannedJob) throws -> [(key: String, value: JSON)] {
    [
      ("job", .string(job.id)), ("experiment", .string(job.experiment)), ("profile", .string(job.profile)),
      ("spec", try JSON(encoding: job.spec)),
    ]
  }
}
