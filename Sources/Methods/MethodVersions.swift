import Datasets
import NN

/// The versions of the code a job's result depends on, beyond the engine's kernels: part of every job id
/// (DESIGN.md, Job identity), so that a change to one loss reruns the jobs that use that loss and no
/// others.
///
/// Each unit declares its number next to its code: ``LossRegistry/versions``,
/// ``ComponentDefinition/version``, ``ModelZoo/versions``, ``DataPreparation/version``, and here the
/// training loop, the re-weighting and re-sampling schemes and the classifier heads. Bump a unit's number
/// whenever a change can move a result. `MethodFingerprintTests` holds a table of per-unit fingerprints
/// (loss values and gradients on fixed inputs, a one-epoch tiny training run) and fails, naming the
/// number to bump, when a fingerprint moves without one.
public enum MethodVersions {
  /// The training loop, optimiser, learning-rate schedules and the metrics ``JobRunner`` computes.
  public static let trainer = 1
  /// Class re-weighting by the effective number (``DeferredReweighting``), by `reweight.name`.
  public static let reweights: [String: Int] = ["cb": 1, "drw": 1]
  /// Re-sampling schemes (``EpochSampler``), by `sampler.name`.
  public static let samplers: [String: Int] = ["class-balanced": 1, "sqrt": 1, "effective-number": 1]
  /// Classifier heads: `linear` and LDAM's cosine head `normed`.
  public static let classifiers: [String: Int] = ["linear": 1, "normed": 1]

  /// The versions `spec` uses, keyed `kind/name` (`loss/ldam`, `component/cdb-w`, `model/cnn-small`,
  /// `data`, `trainer`). A name no table knows has version 0: such a spec fails when it runs.
  public static func of(_ spec: JobSpec) -> [String: Int] {
    let method = spec.method
    var out: [String: Int] = [
      "trainer": trainer,
      "data": DataPreparation.version,
      "model/\(spec.model.name)": ModelZoo.versions[spec.model.name] ?? 0,
      "loss/\(method.loss.name)": LossRegistry.versions[method.loss.name] ?? 0,
      "classifier/\(method.resolvedClassifier)": classifiers[method.resolvedClassifier] ?? 0,
    ]
    if let r = method.reweight { out["reweight/\(r.name)"] = reweights[r.name] ?? 0 }
    if let s = method.sampler { out["sampler/\(s.name)"] = samplers[s.name] ?? 0 }
    for c in method.components {
      out["component/\(c.name)"] = ComponentRegistry.definitions[c.name]?.version ?? 0
    }
    return out
  }
}
