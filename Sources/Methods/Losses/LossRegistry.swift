/// The losses a manifest can name, their hyper-parameters with the official defaults, and their
/// construction.
///
/// | name | parameters (defaults) | type |
/// |---|---|---|
/// | `ce` | — | ``CrossEntropyLoss`` |
/// | `focal` | `gamma` 1 (`cifar_train.py`) | ``FocalLoss`` |
/// | `ldam` | `max_m` 0.5, `s` 30 | ``LDAMLoss`` |
/// | `vs` | `gamma` 0.3, `tau` 1 (`train.py`) | ``VSLoss`` |
/// | `logit-adjusted` | `tau` 1 | ``LogitAdjustedLoss`` |
/// | `bayias` | — (uniform inference prior) | ``BayiasLoss`` |
/// | `alpha` | `alpha` 1 | ``AlphaLoss`` |
/// | `logitclip` | `temp` 1, `lp` 2 (`train.py`) | ``LogitClipLoss`` |
/// | `abce`, `abfocal`, `abldam` | `lambda` 1, `gamma` 0.1, `alpha` 0.5 (+ `focal_gamma` 1) | ``ABSGDLoss`` |
/// | `mbls` | `margin` 10, `alpha` 0.1 (`logit_margin_l1.py`) | ``MbLSLoss`` |
/// | `abce-noisy` | `lambda` 1, `gamma` 0.1, `alpha` 0.5 (`noisy_label/train.py`) | ``ABSGDLoss`` + 1/B floor |
///
/// Class weights (DRW, re-weighting) are not loss parameters: the trainer sets ``ClassificationLoss/classWeights``.
public enum LossRegistry {
  /// An error in a loss specification (unknown name or parameter, or a bad value).
  public struct Error: Swift.Error, CustomStringConvertible {
    /// What is wrong.
    public var description: String
  }

  /// Every registered loss with its parameters and their defaults (the official code's).
  public static let parameters: [String: [String: Double]] = [
    "ce": [:],
    "focal": ["gamma": 1],
    "ldam": ["max_m": 0.5, "s": 30],
    "vs": ["gamma": 0.3, "tau": 1],
    "logit-adjusted": ["tau": 1],
    "bayias": [:],
    "alpha": ["alpha": 1],
    "logitclip": ["temp": 1, "lp": 2],
    "abce": ["lambda": 1, "gamma": 0.1, "alpha": 0.5],
    "abfocal": ["lambda": 1, "gamma": 0.1, "alpha": 0.5, "focal_gamma": 1],
    "abldam": ["lambda": 1, "gamma": 0.1, "alpha": 0.5],
    "mbls": ["margin": 10, "alpha": 0.1],
    "abce-noisy": ["lambda": 1, "gamma": 0.1, "alpha": 0.5],
  ]

  /// The version of each loss's code: part of the id of every job that uses the loss
  /// (``MethodVersions``). Bump a loss's number whenever a change can move its values or gradients; the
  /// fingerprint test (`MethodFingerprintTests`) fails when they move and the number did not.
  public static let versions: [String: Int] = [
    "ce": 1, "focal": 1, "ldam": 1, "vs": 1, "logit-adjusted": 1, "bayias": 1, "alpha": 1, "logitclip": 1,
    "abce": 1, "abfocal": 1, "abldam": 1, "mbls": 1, "abce-noisy": 1,
  ]

  /// The loss's spec with every parameter present (defaults filled in).
  public static func resolve(_ spec: LossSpec) throws -> LossSpec {
    guard let defaults = parameters[spec.name] else {
      throw Error(
        description: "unknown loss '\(spec.name)'; known: \(parameters.keys.sorted().joined(separator: ", "))")
    }
    for key in spec.params.keys where defaults[key] == nil {
      throw Error(
        description:
          "loss '\(spec.name)' has no parameter '\(key)'; it takes: \(defaults.keys.sorted().joined(separator: ", "))")
    }
    return LossSpec(name: spec.name, params: defaults.merging(spec.params) { $1 })
  }

  /// Builds the loss for a training set with the given per-class counts (each ≥ 1).
  public static func make(_ spec: LossSpec, classCounts: [Int]) throws -> ClassificationLoss {
    let spec = try resolve(spec)
    guard !classCounts.isEmpty, classCounts.allSatisfy({ $0 >= 1 }) else {
      throw Error(description: "loss '\(spec.name)': class counts must be ≥ 1, got \(classCounts)")
    }
    func value(_ key: String, _ valid: (Double) -> Bool = { $0.isFinite }, _ expected: String = "a number")
      throws -> Double
    {
      let v = spec.params[key] ?? .nan
      guard valid(v) else { throw Error(description: "loss '\(spec.name)': '\(key)' must be \(expected), got \(v)") }
      return v
    }
    let positive: (Double) -> Bool = { $0 > 0 && $0.isFinite }
    let nonNegative: (Double) -> Bool = { $0 >= 0 && $0.isFinite }
    switch spec.name {
    case "ce":
      return CrossEntropyLoss()
    case "focal":
      return FocalLoss(gamma: try value("gamma", nonNegative, "≥ 0"))
    case "ldam":
      return LDAMLoss(
        classCounts: classCounts, maxMargin: try value("max_m"), scale: try value("s", positive, "> 0"))
    case "vs":
      return VSLoss(classCounts: classCounts, gamma: try value("gamma"), tau: try value("tau"))
    case "logit-adjusted":
      return LogitAdjustedLoss(classCounts: classCounts, tau: try value("tau"))
    case "bayias":
      return BayiasLoss(classCounts: classCounts)
    case "alpha":
      return AlphaLoss(alpha: try value("alpha", positive, "> 0"))
    case "logitclip":
      let lp = try value("lp", { $0 >= 1 && $0 == $0.rounded() && $0 < 1e6 }, "an integer ≥ 1")
      return LogitClipLoss(temp: try value("temp", positive, "> 0"), p: Int(lp))
    case "mbls":
      return MbLSLoss(margin: try value("margin", positive, "> 0"), alpha: try value("alpha", nonNegative, "≥ 0"))
    case "abce", "abfocal", "abldam", "abce-noisy":
      let criterion: ABSGDLoss.Criterion =
        switch spec.name {
        case "abfocal": .focal(gamma: try value("focal_gamma", nonNegative, "≥ 0"))
        case "abldam": .ldam(classCounts: classCounts)
        default: .crossEntropy
        }
      return ABSGDLoss(
        criterion: criterion, lambda: try value("lambda", { $0 != 0 && $0.isFinite }, "a non-zero number"),
        gamma: try value("gamma"), alpha: try value("alpha"), uniformFloor: spec.name == "abce-noisy")
    default:
      throw Error(description: "loss '\(spec.name)' is registered but not constructible")
    }
  }
}
