/// The losses a manifest can name, their hyper-parameters with defaults, and their construction.
public enum LossRegistry {
  /// An error in a loss specification (unknown name or parameter).
  public struct Error: Swift.Error, CustomStringConvertible {
    /// What is wrong.
    public var description: String
  }

  /// Every registered loss with its parameters and their defaults.
  public static let parameters: [String: [String: Double]] = [
    "ce": [:]
  ]

  /// The loss's spec with every parameter present (defaults filled in).
  public static func resolve(_ spec: LossSpec) throws -> LossSpec {
    guard let defaults = parameters[spec.name] else {
      throw Error(description: "unknown loss '\(spec.name)'; known: \(parameters.keys.sorted().joined(separator: ", "))")
    }
    for key in spec.params.keys where defaults[key] == nil {
      throw Error(description: "loss '\(spec.name)' has no parameter '\(key)'; it takes: \(defaults.keys.sorted().joined(separator: ", "))")
    }
    return LossSpec(name: spec.name, params: defaults.merging(spec.params) { $1 })
  }

  /// Builds the loss for a training set with the given per-class counts.
  public static func make(_ spec: LossSpec, classCounts: [Int]) throws -> ClassificationLoss {
    let spec = try resolve(spec)
    switch spec.name {
    case "ce": return CrossEntropyLoss()
    default: throw Error(description: "loss '\(spec.name)' is registered but not constructible")
    }
  }
}
