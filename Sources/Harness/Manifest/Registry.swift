import Datasets
import Methods

/// Every name a manifest may use, in one place: datasets, models, method hooks, schedules, profiles.
///
/// Losses are not listed here: their names and parameters come from ``Methods/LossRegistry`` so a new
/// loss needs no harness change. When a new hook or model lands in `Methods`/`NN`, add its name here.
public enum Registry {
  /// Datasets with a reader in `Datasets` (``Datasets/DatasetCatalog/names``).
  public static let datasets = DatasetCatalog.names
  /// Number of training examples of each dataset before any subsampling (for ETA heuristics).
  public static let trainSize: [String: Int] = [
    "fashion-mnist": 60_000, "mnist": 60_000, "cifar10": 50_000, "cifar100": 50_000,
  ]
  /// Long-tailed subsampling profiles.
  public static let imbalanceProfiles = ["exponential", "step"]
  /// Which examples of a class a long-tailed subset keeps (`dataset.imbalance.selection`).
  public static let imbalanceSelections = ["shuffled", "first"]
  /// How the validation split is chosen (`dataset.validation_selection`).
  public static let validationSelections = ["random", "last"]
  /// Label-noise kinds.
  public static let noiseKinds = ["symmetric", "asymmetric", "uniform"]
  /// Label-noise generators: the project's counter-based stream, or numpy's legacy `RandomState`.
  public static let noiseGenerators = ["counter", "numpy-legacy"]
  /// Asymmetric class-pair maps by name.
  public static let noiseMaps = AsymmetricMap.named.keys.sorted()
  /// Training-set augmentations.
  public static let augmentations = ["none", "crop", "crop-flip"]
  /// Networks.
  public static let models = ["mlp", "cnn-small", "resnet32", "linf-dist"]
  /// Weight initialisations.
  public static let initializations = ["torch-default", "kaiming-normal"]
  /// Optimisers.
  public static let optimizers = ["sgd"]
  /// Learning-rate schedules.
  public static let schedules = ["step", "cosine", "constant"]
  /// Class re-weighting hooks.
  public static let reweights = ["cb", "drw"]
  /// Re-sampling hooks.
  public static let samplers = ["class-balanced", "sqrt", "effective-number"]
  /// Classifier heads.
  public static let classifiers = ["linear", "normed"]
  /// Profiles a manifest may overlay; a profile it does not overlay runs the base.
  public static let profiles = ["smoke", "default", "paper"]

  /// The registered training-loop components (from ``Methods/ComponentRegistry``), sorted.
  public static var components: [String] { ComponentRegistry.definitions.keys.sorted() }

  /// The registered losses (from ``Methods/LossRegistry``), sorted.
  public static var losses: [String] { LossRegistry.parameters.keys.sorted() }

  /// Hidden widths of the `mlp` when the manifest gives none: NN's default (`ModelZoo.make`, Models.swift).
  public static let defaultMLPWidths = [512, 512]

  /// β filled in for the `effective-number` sampler when the manifest omits it (Cui et al. 2019's 0.9999).
  public static let defaultSamplerBeta = 0.9999

  /// Slurm resources when neither the manifest nor its profile sets them.
  public static let defaultSlurm = SlurmOptions(cpusPerTask: 1, time: "04:00:00", mem: "4G")
}
