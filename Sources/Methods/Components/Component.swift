import Datasets
import Engine

/// A component's parameter: a number or a word (`tau: 1.5`, `tau: dynamic`).
public enum ParameterValue: Codable, Hashable, Sendable, CustomStringConvertible {
  /// A number.
  case number(Double)
  /// A word from the component's list of choices.
  case text(String)

  /// The number, or nil for a word.
  public var number: Double? {
    if case .number(let v) = self { return v }
    return nil
  }

  /// The word, or nil for a number.
  public var text: String? {
    if case .text(let v) = self { return v }
    return nil
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let v = try? c.decode(Double.self) {
      self = .number(v)
    } else {
      self = .text(try c.decode(String.self))
    }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .number(let v): try c.encode(v)
    case .text(let v): try c.encode(v)
    }
  }

  public var description: String {
    switch self {
    case .number(let v): return "\(v)"
    case .text(let v): return v
    }
  }
}

/// A training-loop component by name with its parameters. In a manifest an entry of a method's
/// `components` list, either a bare name (`certify`) or an object (`{name: cdb-w, tau: dynamic}`);
/// resolved, every parameter is present (defaults filled in by ``ComponentRegistry``).
public typealias ComponentSpec = NamedSpec<ParameterValue>

extension NamedSpec where Value == ParameterValue {
  /// The number `key`, or a ``JobFailure`` naming the component when it is missing, a word, or fails `valid`.
  public func number(
    _ key: String, _ valid: (Double) -> Bool = { $0.isFinite }, expected: String = "a number"
  ) throws -> Double {
    guard let v = params[key]?.number, valid(v) else {
      throw JobFailure(
        .badSpec, "component '\(name)': '\(key)' must be \(expected), got \(params[key]?.description ?? "nothing")")
    }
    return v
  }

  /// The integer `key` (a whole number ≥ `min`).
  public func integer(_ key: String, min: Int = 0) throws -> Int {
    Int(try number(key, { $0 == $0.rounded() && $0 >= Double(min) && $0 < 1e15 }, expected: "an integer ≥ \(min)"))
  }

  /// The word `key`.
  public func text(_ key: String) throws -> String {
    guard let v = params[key]?.text else {
      throw JobFailure(
        .badSpec, "component '\(name)': '\(key)' must be a word, got \(params[key]?.description ?? "nothing")")
    }
    return v
  }
}

/// What a component may read when it is built: the job, its prepared data and the model's trainer inputs.
public struct ComponentContext {
  /// The job's resolved spec.
  public var spec: JobSpec
  /// The prepared data (train / validation / test subsets, counts, subset indices).
  public var data: PreparedData
  /// Training examples per class as the loss sees them (noisy labels where noise was injected).
  public var trainCounts: [Int]
  /// The input normalisation every split uses.
  public var normalization: Normalization
  /// The held-out validation split as a batch source, when the dataset has one (`validation_per_class`).
  public var validation: BatchSource?
  /// The job's key; a component splits its own streams from it by name.
  public var key: RandomKey

  /// Creates a context.
  public init(
    spec: JobSpec, data: PreparedData, trainCounts: [Int], normalization: Normalization, validation: BatchSource?,
    key: RandomKey
  ) {
    self.spec = spec
    self.data = data
    self.trainCounts = trainCounts
    self.normalization = normalization
    self.validation = validation
    self.key = key
  }

  /// The validation source, or a ``JobFailure`` saying that component `name` needs one.
  public func requireValidation(for name: String) throws -> BatchSource {
    guard let validation, validation.count > 0 else {
      throw JobFailure(
        .badSpec, "component '\(name)' needs a validation split: set dataset.validation_per_class")
    }
    return validation
  }
}

/// A registered component: its parameters with defaults (a number default means the parameter takes a
/// number, a word default a word), the words a word parameter may take, and how to build its hooks.
public struct ComponentDefinition: Sendable {
  /// The name a manifest uses.
  public var name: String
  /// The version of the component's code: part of the id of every job that uses it
  /// (``MethodVersions``). Bump it whenever a change can move a result; the fingerprint test
  /// (`MethodFingerprintTests`) fails when the component's numbers change and it was not bumped.
  public var version: Int
  /// Parameters and their defaults (the official code's).
  public var parameters: [String: ParameterValue]
  /// For word parameters, the allowed words; a word parameter listed here may also be given a number
  /// when `numberAllowed` contains it (`tau: 1.5` or `tau: dynamic`).
  public var choices: [String: [String]]
  /// Word parameters that also accept a number.
  public var numberAllowed: Set<String>
  /// Builds the hooks for a resolved spec.
  public var make: @Sendable (ComponentSpec, ComponentContext) throws -> TrainingHooks

  /// Creates a definition.
  public init(
    name: String, version: Int, parameters: [String: ParameterValue] = [:], choices: [String: [String]] = [:],
    numberAllowed: Set<String> = [], make: @escaping @Sendable (ComponentSpec, ComponentContext) throws -> TrainingHooks
  ) {
    self.name = name
    self.version = version
    self.parameters = parameters
    self.choices = choices
    self.numberAllowed = numberAllowed
    self.make = make
  }
}
