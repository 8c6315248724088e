/// The training-loop components a manifest can list under a method's `components`, their parameters
/// with the official defaults, and their construction. A method file declares its
/// ``ComponentDefinition`` next to its hooks; this table lists it, so the harness validates manifests
/// against it without knowing any method.
///
/// | name | what it does | defined in |
/// |---|---|---|
/// | `validation-probe` | records validation top-1 error per epoch (a curve), a test of the plumbing | ``ValidationProbe`` |
/// | `unimix` | UniMix input mixing (tail-favoured factor, partner sampler; α = 1, τ = 0 is mixup) | ``UniMixStep`` |
/// | `remix` | Remix: mixup with the label weight moved to the minority class | ``RemixStep`` |
/// | `best-epoch` | best-over-epochs test top-1 error and the ECE of that epoch (Prior-LT's headline) | ``BestEpoch`` |
/// | `ladc` | label-aware distribution calibration: calibrated feature sampling, re-trained classifier | ``LADCStage`` |
/// | `l2rw` | per-example weights from the clean-set meta-gradient (custom step) | ``LearningToReweight`` |
/// | `cals` | CE + class-wise augmented-Lagrangian penalty, multipliers from the validation split | ``CALSTraining`` |
/// | `best-validation` | the epoch with the best validation score (top-1 or mean class accuracy), restored or reported; classwise ECE | ``BestValidationSelection`` |
/// | `susceptibility` | ζ: a random-label probe step per epoch, undone; memorisation curves | ``Susceptibility`` |
/// | `absgd-stages` | ABSGD's two stages: λ switch epoch, what trains in stage 2, head kept/re-drawn | ``ABSGDStages`` |
/// | `epoch-summary` | mean test error of the last k epochs, best epoch, memorisation gap | ``EpochSummary`` |
/// | `cdb-w` | CDB-W: CE weighted by class difficulty (1 − validation accuracy)^τ, updated every epoch | ``CDBWeighting`` |
/// | `cdb-s` | CDB-S (reconstruction): classes sampled ∝ (1 − validation accuracy)^τ every epoch | ``CDBSampling`` |
/// | `gaussian-noise` | trains on noisy copies x + N(0, σ²I) (Cohen et al. 2019) | ``GaussianNoiseTraining`` |
/// | `smoothmix` | SmoothMix's adversarial mixup step on the smoothed classifier (Jeong et al. 2021) | ``SmoothMixTraining`` |
/// | `certify` | randomized-smoothing CERTIFY/PREDICT on the test set: certified accuracy at ℓ2 radii | ``SmoothedCertification`` |
/// | `set-valued` | top-k / average-k set error against k on the test set (Lorieul et al.) | ``SetValuedPrediction`` |
/// | `ambiguity-oracle` | Bayes top-K / average-K errors of a synthetic class-overlap mixture against its heterogeneity | ``AmbiguityOracle`` |
/// | `linf-dist` | ℓ∞-dist net v2 training (p schedule, clipped hinge + CE, Adam) and exact ℓ∞ certification | ``LinfDistTraining`` |
public enum ComponentRegistry {
  /// Every registered component by name.
  public static let definitions: [String: ComponentDefinition] = Dictionary(
    uniqueKeysWithValues: [
      ValidationProbe.definition,
      UniMixStep.definition,
      RemixStep.definition,
      BestEpoch.definition,
      LADCStage.definition,
      LearningToReweight.definition,
      CALSTraining.definition,
      BestValidationSelection.definition,
      Susceptibility.definition,
      ABSGDStages.definition,
      EpochSummary.definition,
      CDBWeighting.definition,
      CDBSampling.definition,
      GaussianNoiseTraining.definition,
      SmoothMixTraining.definition,
      SmoothedCertification.definition,
      SetValuedPrediction.definition,
      AmbiguityOracle.definition,
      LinfDistTraining.definition,
    ].map { ($0.name, $0) })

  /// The component's spec with every parameter present and checked (names, types, choices).
  public static func resolve(_ spec: ComponentSpec) throws -> ComponentSpec {
    guard let definition = definitions[spec.name] else {
      throw JobFailure(
        .badSpec, "unknown component '\(spec.name)'; known: \(definitions.keys.sorted().joined(separator: ", "))")
    }
    for (key, value) in spec.params {
      guard let defaultValue = definition.parameters[key] else {
        let known = definition.parameters.keys.sorted().joined(separator: ", ")
        throw JobFailure(
          .badSpec, "component '\(spec.name)' has no parameter '\(key)'; it takes: \(known.isEmpty ? "none" : known)")
      }
      if let problem = problem(of: value, key: key, default: defaultValue, definition: definition) {
        throw JobFailure(.badSpec, "component '\(spec.name)': '\(key)' \(problem)")
      }
    }
    return ComponentSpec(name: spec.name, params: definition.parameters.merging(spec.params) { $1 })
  }

  /// Why `value` does not fit parameter `key` (nil when it fits): a number where a word is expected or
  /// the other way round, or a word outside the parameter's choices.
  public static func problem(
    of value: ParameterValue, key: String, default defaultValue: ParameterValue, definition: ComponentDefinition
  ) -> String? {
    switch (value, defaultValue) {
    case (.number(let v), .number):
      return v.isFinite ? nil : "must be a finite number"
    case (.number, .text):
      return definition.numberAllowed.contains(key) ? nil : "must be one of: \(choicesText(key, definition))"
    case (.text(let word), _):
      guard let choices = definition.choices[key] else { return "must be a number, not '\(word)'" }
      return choices.contains(word) ? nil : "must be one of: \(choicesText(key, definition)), not '\(word)'"
    }
  }

  private static func choicesText(_ key: String, _ definition: ComponentDefinition) -> String {
    var words = definition.choices[key] ?? []
    if definition.numberAllowed.contains(key) { words.append("a number") }
    return words.joined(separator: ", ")
  }

  /// Builds the hooks of the method's components, in order.
  public static func make(_ specs: [ComponentSpec], context: ComponentContext) throws -> [TrainingHooks] {
    try specs.map { spec in
      let resolved = try resolve(spec)
      return try definitions[resolved.name]!.make(resolved, context)
    }
  }
}
