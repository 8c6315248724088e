import Crypto
import Datasets
import Engine
import NN

/// Runs one job end to end: data, model, method, training, metrics.
///
/// Streams split from the job key `RandomKey(seed: spec.seed)`: `init` (weights), `data-order`
/// (shuffling and re-sampling), `augment`. The data (long-tailed subset, noise, splits) depends on
/// `spec.dataset.seed` only, so every method of a table sees the same examples.
/// Metrics are those of the final epoch's model on the full (or `max_test`-capped) test set.
public enum JobRunner {
  /// Trains and evaluates `spec`; `log` receives one line per epoch.
  ///
  /// - Throws: ``JobFailure`` (non-finite loss, a spec that cannot be built) or `DatasetError`.
  public static func run(_ spec: JobSpec, dataDir: String?, log: @escaping (String) -> Void = { _ in }) throws
    -> JobOutput
  {
    try run(spec, dataDir: dataDir, checkOfficialCounts: true, log: log)
  }

  /// ``run(_:dataDir:log:)`` with the official-size check of the dataset files optional, so tests can
  /// run the real pipeline on small fixture files.
  static func run(
    _ spec: JobSpec, dataDir: String?, checkOfficialCounts: Bool, log: @escaping (String) -> Void
  ) throws -> JobOutput {
    let splits = try DatasetCatalog.load(spec.dataset.name, dataDir: dataDir, checkOfficialCounts: checkOfficialCounts)
    let data = try DataPreparation.prepare(splits, recipe: try recipe(spec.dataset))
    let images = splits.train
    let exampleShape = [images.height, images.width, images.channels]
    let classes = data.train.classes
    // Normalisation: fixed per dataset (CIFAR: the official constants; (Fashion-)MNIST: the full
    // official training set's statistics), the same for every method and subset.
    let normalization =
      spec.dataset.name.hasPrefix("cifar") ? Normalization.cifar10 : Normalization.statistics(of: images)
    let augmentation = try augmentation(spec.dataset.augment, height: images.height)
    let train = try SubsetSource(BatchFiller(set: data.train, normalization: normalization, augmentation: augmentation))
    let test = try SubsetSource(BatchFiller(set: data.test, normalization: normalization))
    let validation =
      data.validation.count > 0
      ? try SubsetSource(BatchFiller(set: data.validation, normalization: normalization)) : nil
    let trainCounts = data.trainCounts
    guard trainCounts.allSatisfy({ $0 > 0 }) else {
      throw JobFailure(.badSpec, "a class has no training example (counts \(trainCounts)); raise dataset.max_train")
    }

    let method = spec.method
    let normed = method.resolvedClassifier == "normed"
    let model: Classifier
    do {
      model = try ModelZoo.make(
        spec.model.name, inputShape: exampleShape, classes: classes, widths: spec.model.widths, normedHead: normed)
    } catch { throw JobFailure(.badSpec, "\(error)") }
    guard let initialization = Initialization(rawValue: spec.model.initialization) else {
      throw JobFailure(.badSpec, "unknown init '\(spec.model.initialization)'")
    }
    let key = RandomKey(seed: UInt64(bitPattern: Int64(spec.seed)))
    model.initialize(initialization, key: key.split("init"))

    let loss: ClassificationLoss
    do { loss = try LossRegistry.make(method.loss, classCounts: trainCounts) } catch {
      throw JobFailure(.badSpec, "\(error)")
    }
    let o = spec.train.optimizer
    guard o.name == "sgd" else { throw JobFailure(.badSpec, "unknown optimizer '\(o.name)'") }
    let optimizer = SGD(
      learningRate: Float(o.lr), momentum: Float(o.momentum), weightDecay: Float(o.weightDecay), nesterov: o.nesterov)
    let context = ComponentContext(
      spec: spec, data: data, trainCounts: trainCounts, normalization: normalization, validation: validation, key: key)
    let hooks = try hooks(method, context: context)
    let trainer = Trainer(
      model: model, loss: loss, optimizer: optimizer, schedule: try schedule(spec.train),
      train: train, test: test, validation: validation, epochs: spec.train.epochs, batchSize: spec.train.batchSize,
      augment: !augmentation.isIdentity, hooks: hooks, key: key)
    trainer.log = log
    try trainer.run()

    // Final metrics on the test set.
    let metrics = ClassificationMetrics(logits: trainer.testLogits, labels: data.test.labels)
    // Many/medium/few by the true training counts (noise does not move a class between groups).
    let trueCounts = data.trainTrueCounts
    let thresholds = ShotThresholds.scaled(toMaxCount: trueCounts.max() ?? 0)
    var groupSums: [ShotGroup: (Double, Int)] = [:]
    for (c, n) in trueCounts.enumerated() where !metrics.perClassAccuracy[c].isNaN {
      let g = thresholds.group(n)
      let (s, k) = groupSums[g] ?? (0, 0)
      groupSums[g] = (s + metrics.perClassAccuracy[c], k + 1)
    }
    var overall: [String: Double] = [
      "top1_error": metrics.top1Error, "top5_error": metrics.top5Error, "balanced_error": metrics.balancedError,
      "nll": metrics.nll, "ece": metrics.ece, "predicted_classes": Double(metrics.predictedClasses),
      "final_train_loss": trainer.curves["train_loss"]?.last ?? .nan,
    ]
    for (g, name) in [(ShotGroup.many, "many"), (.medium, "medium"), (.few, "few")] {
      if let (s, k) = groupSums[g] { overall["\(name)_shot_accuracy"] = s / Double(k) }
    }
    var facts: [String: String] = [
      "train_examples": "\(data.train.count)", "test_examples": "\(data.test.count)",
      "many_shot_above": "\(thresholds.many)", "few_shot_below": "\(thresholds.few)",
      "normalization_mean": normalization.mean.map { "\($0)" }.joined(separator: ","),
      "normalization_std": normalization.std.map { "\($0)" }.joined(separator: ","),
      "epoch_rule": "final epoch",
    ]
    if let indices = data.subsetIndices, let counts = data.subsetCounts {
      facts["subset_sha256"] = SHA256.hash(data: Fingerprint.int64LittleEndianBytes(indices))
        .map { String(format: "%02x", $0) }.joined()
      facts["subset_counts"] = counts.map(String.init).joined(separator: ",")
    }
    if spec.dataset.noise != nil { facts["realised_noise_rate"] = "\(data.realisedNoiseRate)" }
    var output = JobOutput(
      overall: overall,
      perClass: [
        "accuracy": metrics.perClassAccuracy, "train_count": trainCounts.map(Double.init),
        "test_count": metrics.testCounts.map(Double.init),
      ],
      reliability: [
        "confidence": metrics.reliability.confidence, "accuracy": metrics.reliability.accuracy,
        "count": metrics.reliability.count,
      ],
      curves: trainer.curves, data: facts)
    try hooks.finish(trainer, output: &output)
    // Degeneracy is judged on training quantities (DESIGN.md, Verdicts); measured last, after every hook
    // has read the model, so the metrics above are those of the same model and unchanged by this pass.
    let trainPredictions = trainer.trainingPredictions()
    output.overall["train_predicted_classes"] = Double(trainPredictions.predictedClasses)
    output.overall["train_balanced_error"] = trainPredictions.balancedError
    return output
  }

  static func recipe(_ d: DatasetSpec) throws -> DataRecipe {
    var imbalance: DataRecipe.Imbalance? = nil
    if let i = d.imbalance {
      guard let profile = ImbalanceProfile(rawValue: i.profile) else {
        throw JobFailure(.badSpec, "unknown imbalance profile '\(i.profile)'")
      }
      imbalance = .init(profile: profile, ratio: i.ratio)
    }
    let imbalanceSelection: LongTailSelection
    switch d.imbalance?.selection ?? "shuffled" {
    case "shuffled": imbalanceSelection = .shuffled
    case "first": imbalanceSelection = .first
    case let other: throw JobFailure(.badSpec, "unknown long-tail selection '\(other)'")
    }
    let validationSelection: Splits.ValidationSelection
    switch d.validationSelection ?? "random" {
    case "random": validationSelection = .random
    case "last": validationSelection = .lastInOrder
    case let other: throw JobFailure(.badSpec, "unknown validation selection '\(other)'")
    }
    var noise: LabelNoise.Spec? = nil
    if let n = d.noise {
      let kind: LabelNoise.Kind
      switch n.kind {
      case "symmetric": kind = .symmetric
      case "uniform": kind = .uniform
      case "asymmetric":
        let mapName = n.map ?? d.name
        guard let map = AsymmetricMap.named[mapName] else {
          throw JobFailure(.badSpec, "no asymmetric noise map named '\(mapName)'")
        }
        kind = .asymmetric(map)
      default: throw JobFailure(.badSpec, "unknown noise kind '\(n.kind)'")
      }
      let generator: LabelNoise.Generator
      switch n.generator {
      case "counter": generator = .counter
      case "numpy-legacy": generator = .numpyLegacy(seed: n.seed ?? d.seed)
      default: throw JobFailure(.badSpec, "unknown noise generator '\(n.generator)'")
      }
      noise = .init(kind: kind, rate: n.rate, generator: generator)
    }
    return DataRecipe(
      seed: d.seed, classes: d.classes, validationPerClass: d.validationPerClass ?? 0,
      validationSelection: validationSelection, imbalance: imbalance, imbalanceSelection: imbalanceSelection,
      noise: noise, maxTrain: d.maxTrain, maxTest: d.maxTest)
  }

  /// `none`; `crop`: random crop with zero padding (4 px for 32-px images as CIFAR's
  /// `RandomCrop(32, padding=4)`, 2 px for 28-px images); `crop-flip`: plus horizontal flip.
  static func augmentation(_ name: String, height: Int) throws -> Augmentation {
    let pad = height >= 32 ? 4 : 2
    switch name {
    case "none": return .none
    case "crop": return Augmentation(padding: pad)
    case "crop-flip": return Augmentation(padding: pad, horizontalFlip: true)
    default: throw JobFailure(.badSpec, "unknown augmentation '\(name)'")
    }
  }

  static func schedule(_ t: TrainSpec) throws -> LearningRateSchedule {
    let s = t.schedule
    switch s.name {
    case "step": return .step(base: t.optimizer.lr, warmup: s.warmupEpochs, milestones: s.milestones, gamma: s.gamma)
    case "cosine": return .cosine(base: t.optimizer.lr, warmup: s.warmupEpochs, epochs: t.epochs)
    case "constant": return .constant(base: t.optimizer.lr, warmup: s.warmupEpochs)
    default: throw JobFailure(.badSpec, "unknown schedule '\(s.name)'")
    }
  }

  /// The method's hooks in order: re-weighting, re-sampling, then its components.
  static func hooks(_ m: MethodSpec, context: ComponentContext) throws -> TrainingHooks {
    let trainCounts = context.trainCounts
    let labels = context.data.train.labels
    var hooks: [TrainingHooks] = []
    if let r = m.reweight {
      guard r.name == "cb" || r.name == "drw" else { throw JobFailure(.badSpec, "unknown reweight '\(r.name)'") }
      hooks.append(DeferredReweighting(classCounts: trainCounts, beta: r.beta, startEpoch: r.startEpoch))
    }
    if let s = m.sampler {
      let scheme: SamplingScheme
      switch s.name {
      case "class-balanced": scheme = .classBalanced
      case "sqrt": scheme = .squareRoot
      case "effective-number": scheme = .effectiveNumber(beta: s.beta ?? 0.9999)
      default: throw JobFailure(.badSpec, "unknown sampler '\(s.name)'")
      }
      let sampler = try EpochSampler(labels: labels, classes: trainCounts.count, scheme: scheme)
      hooks.append(DeferredResampling(sampler: sampler, startEpoch: s.startEpoch))
    }
    hooks += try ComponentRegistry.make(m.components, context: context)
    return hooks.isEmpty ? NoHooks() : HookChain(hooks)
  }
}

/// A ``BatchSource`` over a prepared subset.
final class SubsetSource: BatchSource {
  let filler: BatchFiller
  init(_ filler: BatchFiller) { self.filler = filler }
  var count: Int { filler.set.count }
  var labels: [Int] { filler.set.labels }
  var classes: Int { filler.set.classes }
  var exampleShape: [Int] { [filler.set.images.height, filler.set.images.width, filler.set.images.channels] }
  func fill(_ positions: ArraySlice<Int>, into x: Tensor, labels y: inout [Int], augment: inout RandomStream?) {
    if augment != nil {
      filler.fill(positions, images: x, labels: &y, stream: &augment!)
    } else {
      filler.fill(positions, images: x, labels: &y)
    }
  }
}
