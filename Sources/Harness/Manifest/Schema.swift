/// The manifest's shape: which keys each mapping may hold. It mirrors ``Methods/JobSpec``'s coding keys
/// (a test checks that every key of an encoded `JobSpec` is listed here) plus the manifest-only keys.
enum Schema {
  /// Keys of the document.
  static let top = [
    "name", "paper", "description", "dataset", "model", "train", "methods", "seeds", "metrics", "profiles", "slurm",
    "resolve",
  ]
  /// Keys a profile overlay may set.
  static let overlayable = ["dataset", "model", "train", "methods", "seeds", "slurm", "resolve"]

  /// Keys of each mapping by its schema path (`method` stands for every entry of `methods`).
  static let objects: [String: [String]] = [
    "dataset": [
      "name", "imbalance", "noise", "max_train", "max_test", "validation_per_class", "augment", "seed", "classes",
      "validation_selection",
    ],
    "dataset.imbalance": ["profile", "ratio", "selection"],
    "dataset.noise": ["kind", "rate", "generator", "seed", "map"],
    "model": ["name", "widths", "init"],
    "train": ["epochs", "batch_size", "optimizer", "schedule"],
    "train.optimizer": ["name", "lr", "momentum", "weight_decay", "nesterov"],
    "train.schedule": ["name", "warmup_epochs", "milestones", "gamma"],
    "method": ["id", "loss", "reweight", "sampler", "classifier", "components"],
    "method.reweight": ["name", "beta", "start_epoch"],
    "method.sampler": ["name", "start_epoch", "beta"],
    "slurm": ["cpus_per_task", "time", "mem"],
    "resolve": ["looks", "boundary"],
  ]

  /// Keys whose JobSpec type is a list: a list there is one value, not a grid axis.
  static let listValued: Set<String> = ["model.widths", "train.schedule.milestones", "dataset.classes"]

  /// The sections whose scalar keys may hold grid axes.
  static let gridSections = ["dataset", "model", "train"]
}
