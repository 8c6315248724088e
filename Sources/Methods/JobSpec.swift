/// The resolved specification of one job: every value that influences its result.
///
/// The harness expands a manifest (profile overlay, grid, methods × seeds) into one `JobSpec` per job,
/// encodes it as canonical JSON for the job id, and the worker decodes it back. Keys are the manifest's
/// snake_case keys. Optional values that are absent mean "off" (no imbalance, no noise, …).
public struct JobSpec: Codable, Hashable, Sendable {
  /// The experiment's name (its folder under `experiments/`).
  public var experiment: String
  /// The data: which dataset, how it is made long-tailed or noisy, how it is augmented.
  public var dataset: DatasetSpec
  /// The network.
  public var model: ModelSpec
  /// The optimisation protocol.
  public var train: TrainSpec
  /// The method under test (loss, weighting, sampling, …).
  public var method: MethodSpec
  /// The job seed; it derives the streams for initialisation, data order, augmentation and noise
  /// draws made during training. The dataset's subset and label noise use `dataset.seed` instead.
  public var seed: Int

  /// Creates a spec.
  public init(
    experiment: String, dataset: DatasetSpec, model: ModelSpec, train: TrainSpec, method: MethodSpec,
    seed: Int
  ) {
    self.experiment = experiment
    self.dataset = dataset
    self.model = model
    self.train = train
    self.method = method
    self.seed = seed
  }
}

/// Which data a job trains and tests on.
public struct DatasetSpec: Codable, Hashable, Sendable {
  /// `fashion-mnist`, `mnist`, `cifar10` or `cifar100`.
  public var name: String
  /// Long-tailed subsampling of the training set; nil keeps it balanced.
  public var imbalance: ImbalanceSpec?
  /// Injected label noise on the training set; nil keeps the labels clean.
  public var noise: NoiseSpec?
  /// Keep at most this many training examples (a stratified prefix after subsampling); smoke runs.
  public var maxTrain: Int?
  /// Keep at most this many test examples (stratified); smoke runs.
  public var maxTest: Int?
  /// Examples per class held out of the training set as a clean validation split (L2RW, CDB, average-k).
  public var validationPerClass: Int?
  /// How the validation split is chosen from the full training set, before the long-tailed subset: nil or
  /// `random` (k random examples per class from the dataset seed), `last` (the last k of each class in file
  /// order: CDB's carve-out). Left out of the encoding when nil.
  public var validationSelection: String?
  /// `none`, `crop` (random crop with padding) or `crop-flip` (plus horizontal flip, CIFAR).
  public var augment: String
  /// The dataset seed: the long-tailed subset and injected noise depend on it only.
  public var seed: Int
  /// The original classes to keep, relabelled 0..<k in this order (nil: all), e.g. L2RW's two-class
  /// imbalance `[4, 2]` (Fashion-MNIST coat → 0, pullover → 1). Left out of the spec when nil.
  public var classes: [Int]?

  enum CodingKeys: String, CodingKey {
    case name, imbalance, noise, augment, seed
    case maxTrain = "max_train"
    case maxTest = "max_test"
    case validationPerClass = "validation_per_class"
    case classes
    case validationSelection = "validation_selection"
  }

  /// Creates a spec.
  public init(
    name: String, imbalance: ImbalanceSpec? = nil, noise: NoiseSpec? = nil, maxTrain: Int? = nil,
    maxTest: Int? = nil, validationPerClass: Int? = nil, validationSelection: String? = nil, augment: String = "none",
    seed: Int = 0, classes: [Int]? = nil
  ) {
    self.classes = classes
    self.validationSelection = validationSelection
    self.name = name
    self.imbalance = imbalance
    self.noise = noise
    self.maxTrain = maxTrain
    self.maxTest = maxTest
    self.validationPerClass = validationPerClass
    self.augment = augment
    self.seed = seed
  }
}

/// Long-tailed subsampling: `exponential` (n_i = n_max·ρ^(−i/(C−1))) or `step` (half the classes
/// n_max, half n_max/ρ), counts truncated as kaidic/LDAM-DRW `imbalance_cifar.py` does.
public struct ImbalanceSpec: Codable, Hashable, Sendable {
  /// `exponential` or `step`.
  public var profile: String
  /// The imbalance ratio ρ = n_max / n_min.
  public var ratio: Double
  /// Which examples of a class are kept: nil or `shuffled` (numpy's legacy shuffle from the dataset
  /// seed, kaidic/LDAM-DRW), `first` (the first n_c in file order, hitachi-rd-cv/CDB-loss). Left out of
  /// the encoding when nil.
  public var selection: String?
  /// Creates a spec.
  public init(profile: String, ratio: Double, selection: String? = nil) {
    self.profile = profile
    self.ratio = ratio
    self.selection = selection
  }
}

/// Injected label noise.
public struct NoiseSpec: Codable, Hashable, Sendable {
  /// `symmetric` (flip to another class) or `asymmetric` (class-pair map).
  public var kind: String
  /// The fraction of training labels corrupted.
  public var rate: Double
  /// `counter` (the project's counter-based stream from the dataset seed; exact per-class counts) or
  /// `numpy-legacy` (numpy's legacy `RandomState` seeded with `seed`, drawing as qiqi-helloworld/ABSGD
  /// `noisy_label/noisyDataset.py` does, for index-for-index parity with that code).
  public var generator: String
  /// The numpy seed of `numpy-legacy` (ABSGD's default is 123); nil = the dataset seed.
  public var seed: Int?
  /// The asymmetric class-pair map by name (`Datasets.AsymmetricMap.named`); nil = the dataset's own.
  public var map: String?

  /// Creates a spec.
  public init(kind: String, rate: Double, generator: String = "counter", seed: Int? = nil, map: String? = nil) {
    self.kind = kind
    self.rate = rate
    self.generator = generator
    self.seed = seed
    self.map = map
  }
}

/// The network.
public struct ModelSpec: Codable, Hashable, Sendable {
  /// `mlp`, `cnn-small` or `resnet32`.
  public var name: String
  /// Hidden widths of the `mlp`.
  public var widths: [Int]?
  /// `torch-default` (PyTorch's layer defaults: Kaiming-uniform a=√5, bias U(±1/√fan_in)) or
  /// `kaiming-normal` (LDAM-DRW's `_weights_init`: N(0, 2/fan_in) for conv and linear weights).
  public var initialization: String

  enum CodingKeys: String, CodingKey {
    case name, widths
    case initialization = "init"
  }

  /// Creates a spec.
  public init(name: String, widths: [Int]? = nil, initialization: String = "torch-default") {
    self.name = name
    self.widths = widths
    self.initialization = initialization
  }
}

/// The optimisation protocol.
public struct TrainSpec: Codable, Hashable, Sendable {
  /// Number of epochs.
  public var epochs: Int
  /// Mini-batch size.
  public var batchSize: Int
  /// The optimiser.
  public var optimizer: OptimizerSpec
  /// The learning-rate schedule.
  public var schedule: ScheduleSpec

  enum CodingKeys: String, CodingKey {
    case epochs, optimizer, schedule
    case batchSize = "batch_size"
  }

  /// Creates a spec.
  public init(epochs: Int, batchSize: Int, optimizer: OptimizerSpec, schedule: ScheduleSpec) {
    self.epochs = epochs
    self.batchSize = batchSize
    self.optimizer = optimizer
    self.schedule = schedule
  }
}

/// SGD with PyTorch's semantics.
public struct OptimizerSpec: Codable, Hashable, Sendable {
  /// `sgd`.
  public var name: String
  /// Base learning rate.
  public var lr: Double
  /// Momentum (0 = none).
  public var momentum: Double
  /// L2 weight decay added to the gradient.
  public var weightDecay: Double
  /// Nesterov momentum.
  public var nesterov: Bool

  enum CodingKeys: String, CodingKey {
    case name, lr, momentum, nesterov
    case weightDecay = "weight_decay"
  }

  /// Creates a spec.
  public init(name: String = "sgd", lr: Double, momentum: Double = 0.9, weightDecay: Double = 0, nesterov: Bool = false)
  {
    self.name = name
    self.lr = lr
    self.momentum = momentum
    self.weightDecay = weightDecay
    self.nesterov = nesterov
  }
}

/// The learning-rate schedule, set once per epoch as the papers' code does.
public struct ScheduleSpec: Codable, Hashable, Sendable {
  /// `step` (multiply by `gamma` at each milestone), `cosine`, or `constant`.
  public var name: String
  /// Linear warm-up epochs: lr·(e+1)/W for 0-based epoch e < W (LDAM-DRW's rule).
  public var warmupEpochs: Int
  /// 0-based epochs at which `step` multiplies the rate by `gamma` (cumulatively).
  public var milestones: [Int]
  /// The factor per milestone.
  public var gamma: Double

  enum CodingKeys: String, CodingKey {
    case name, milestones, gamma
    case warmupEpochs = "warmup_epochs"
  }

  /// Creates a spec.
  public init(name: String, warmupEpochs: Int = 0, milestones: [Int] = [], gamma: Double = 0.1) {
    self.name = name
    self.warmupEpochs = warmupEpochs
    self.milestones = milestones
    self.gamma = gamma
  }
}

/// The method under test: a composition of a loss and training-loop hooks.
public struct MethodSpec: Codable, Hashable, Sendable {
  /// The row's id in tables (`erm`, `ldam-drw`, …).
  public var id: String
  /// The loss and its hyper-parameters.
  public var loss: LossSpec
  /// Class re-weighting (`cb` from the start, `drw` deferred); nil = none.
  public var reweight: ReweightSpec?
  /// Re-sampling (`class-balanced`, `sqrt`, optionally deferred); nil = uniform shuffling.
  public var sampler: SamplerSpec?
  /// `linear` or `normed` (cosine) classifier; nil = the loss's default (`normed` for LDAM, as the
  /// official code's `use_norm = loss_type == 'LDAM'`).
  public var classifier: String?
  /// Further training-loop components in order (``ComponentRegistry``): per-epoch class weights from
  /// validation accuracy, a custom step, a post-hoc stage, an extra evaluation. Empty for most rows; an
  /// empty list is left out of the encoded spec, so it does not change the ids of specs without it.
  public var components: [ComponentSpec]

  enum CodingKeys: String, CodingKey {
    case id, loss, reweight, sampler, classifier, components
  }

  /// Creates a spec.
  public init(
    id: String, loss: LossSpec, reweight: ReweightSpec? = nil, sampler: SamplerSpec? = nil,
    classifier: String? = nil, components: [ComponentSpec] = []
  ) {
    self.id = id
    self.loss = loss
    self.reweight = reweight
    self.sampler = sampler
    self.classifier = classifier
    self.components = components
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      id: try c.decode(String.self, forKey: .id), loss: try c.decode(LossSpec.self, forKey: .loss),
      reweight: try c.decodeIfPresent(ReweightSpec.self, forKey: .reweight),
      sampler: try c.decodeIfPresent(SamplerSpec.self, forKey: .sampler),
      classifier: try c.decodeIfPresent(String.self, forKey: .classifier),
      components: try c.decodeIfPresent([ComponentSpec].self, forKey: .components) ?? [])
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(id, forKey: .id)
    try c.encode(loss, forKey: .loss)
    try c.encodeIfPresent(reweight, forKey: .reweight)
    try c.encodeIfPresent(sampler, forKey: .sampler)
    try c.encodeIfPresent(classifier, forKey: .classifier)
    if !components.isEmpty { try c.encode(components, forKey: .components) }
  }
}

extension MethodSpec {
  /// The classifier a method gets when its spec does not name one: `normed` for LDAM (the official
  /// code's `use_norm = loss_type == 'LDAM'`, kaidic/LDAM-DRW `cifar_train.py`), `linear` otherwise.
  public static func defaultClassifier(forLoss loss: String) -> String {
    loss == "ldam" ? "normed" : "linear"
  }

  /// The classifier this method trains with: ``classifier``, or the loss's default.
  public var resolvedClassifier: String { classifier ?? Self.defaultClassifier(forLoss: loss.name) }
}

/// A loss by name with numeric hyper-parameters. In a manifest either a bare name (`loss: ce`) or an
/// object (`loss: {name: ldam, max_m: 0.5, s: 30}`); resolved, it is always the object with every
/// parameter present (defaults filled in by ``LossRegistry``).
public typealias LossSpec = NamedSpec<Double>

/// Something registered by name with parameters (a loss, a component). It decodes from a bare name or
/// from an object `{name: …, key: value, …}`, and encodes as the object with sorted keys.
public struct NamedSpec<Value: Codable & Hashable & Sendable>: Codable, Hashable, Sendable {
  /// The registered name.
  public var name: String
  /// The parameters by manifest key.
  public var params: [String: Value]

  /// Creates a spec.
  public init(name: String, params: [String: Value] = [:]) {
    self.name = name
    self.params = params
  }

  private struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }

  public init(from decoder: Decoder) throws {
    if let single = try? decoder.singleValueContainer(), let name = try? single.decode(String.self) {
      self.init(name: name)
      return
    }
    let c = try decoder.container(keyedBy: Key.self)
    let name = try c.decode(String.self, forKey: Key(stringValue: "name"))
    var params: [String: Value] = [:]
    for key in c.allKeys where key.stringValue != "name" {
      params[key.stringValue] = try c.decode(Value.self, forKey: key)
    }
    self.init(name: name, params: params)
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: Key.self)
    try c.encode(name, forKey: Key(stringValue: "name"))
    for (k, v) in params.sorted(by: { $0.key < $1.key }) { try c.encode(v, forKey: Key(stringValue: k)) }
  }
}

/// Class re-weighting by the effective number of samples (Cui et al. 2019), from epoch `start_epoch`
/// on (0 = from the start, "CB RW"; LDAM-DRW's DRW switches at the first LR decay).
public struct ReweightSpec: Codable, Hashable, Sendable {
  /// `cb` (class-balanced, effective number) or `drw` (the same weights, deferred).
  public var name: String
  /// β of the effective number (0.9999 in LDAM-DRW).
  public var beta: Double
  /// The 0-based epoch from which the weights apply.
  public var startEpoch: Int

  enum CodingKeys: String, CodingKey {
    case name, beta
    case startEpoch = "start_epoch"
  }

  /// Creates a spec.
  public init(name: String, beta: Double = 0.9999, startEpoch: Int = 0) {
    self.name = name
    self.beta = beta
    self.startEpoch = startEpoch
  }
}

/// Re-sampling of the training set, from epoch `start_epoch` on.
public struct SamplerSpec: Codable, Hashable, Sendable {
  /// `class-balanced` (every class equally likely), `sqrt` (∝ √n_c) or `effective-number`
  /// (per-example weight (1−β)/(1−β^{n_y}), the official `ImbalancedDatasetSampler`).
  public var name: String
  /// The 0-based epoch from which the sampler applies (deferred re-sampling, DRS).
  public var startEpoch: Int
  /// β for `effective-number`.
  public var beta: Double?

  enum CodingKeys: String, CodingKey {
    case name, beta
    case startEpoch = "start_epoch"
  }

  /// Creates a spec.
  public init(name: String, startEpoch: Int = 0, beta: Double? = nil) {
    self.name = name
    self.startEpoch = startEpoch
    self.beta = beta
  }
}
