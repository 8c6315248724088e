/// What a job produces: deterministic metrics and per-epoch curves.
///
/// The harness writes it into the result file next to the spec, the environment and the timings
/// (which are not part of `JobOutput`: everything here is a pure function of the spec and the data).
public struct JobOutput: Codable, Hashable, Sendable {
  /// Scalar metrics by name: `top1_error`, `balanced_error`, `top5_error`, `nll`, `ece`,
  /// `many_shot_accuracy`, `medium_shot_accuracy`, `few_shot_accuracy`, … (errors and accuracies in
  /// percent, as the papers' tables).
  public var overall: [String: Double]
  /// Per-class vectors by name: `accuracy` (percent), `train_count`, `test_count`.
  public var perClass: [String: [Double]]
  /// Reliability-diagram bins (15 equal-width confidence bins): `confidence`, `accuracy`, `count`.
  public var reliability: [String: [Double]]
  /// Per-epoch curves by name: `train_loss`, `train_error`, `test_error`, `lr`. An epoch without a value
  /// (a test set evaluated every few epochs) is not a number, encoded as `null`.
  public var curves: [String: [Double]]
  /// Facts about the data the job saw: the long-tailed subset's fingerprint and the many/medium/few
  /// thresholds used. Strings so they print exactly.
  public var data: [String: String]
  /// Named series that are not per epoch, each a set of equally long columns by name: certified
  /// accuracy against radius (`{"radius": …, "accuracy": …}`), set error against k. Left out of the
  /// encoding when empty.
  public var series: [String: [String: [Double]]]

  enum CodingKeys: String, CodingKey {
    case overall, curves, reliability, data, series
    case perClass = "per_class"
  }

  /// Creates an output.
  public init(
    overall: [String: Double] = [:], perClass: [String: [Double]] = [:],
    reliability: [String: [Double]] = [:], curves: [String: [Double]] = [:], data: [String: String] = [:],
    series: [String: [String: [Double]]] = [:]
  ) {
    self.overall = overall
    self.perClass = perClass
    self.reliability = reliability
    self.curves = curves
    self.data = data
    self.series = series
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      overall: try c.decode([String: Double].self, forKey: .overall),
      perClass: try c.decode([String: [Double]].self, forKey: .perClass),
      reliability: try c.decode([String: [Double]].self, forKey: .reliability),
      curves: try c.decode([String: [Double?]].self, forKey: .curves).mapValues { $0.map { $0 ?? .nan } },
      data: try c.decode([String: String].self, forKey: .data),
      series: try c.decodeIfPresent([String: [String: [Double]]].self, forKey: .series) ?? [:])
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(overall, forKey: .overall)
    try c.encode(perClass, forKey: .perClass)
    try c.encode(reliability, forKey: .reliability)
    try c.encode(curves.mapValues { $0.map { $0.isFinite ? $0 : nil } }, forKey: .curves)
    try c.encode(data, forKey: .data)
    if !series.isEmpty { try c.encode(series, forKey: .series) }
  }
}

/// Why a job failed: reported in the job's failure file, never averaged into a table.
public struct JobFailure: Error, CustomStringConvertible, Sendable {
  /// The kind of failure.
  public enum Code: String, Sendable, Codable {
    /// The loss became NaN or infinite.
    case nonFiniteLoss = "non-finite-loss"
    /// The data could not be read or is malformed.
    case badData = "bad-data"
    /// The spec names something that cannot be built.
    case badSpec = "bad-spec"
  }
  /// The kind of failure.
  public var code: Code
  /// What happened, for a person.
  public var message: String

  /// Creates a failure.
  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "\(code.rawValue): \(message)" }
}
