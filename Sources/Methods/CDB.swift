import Datasets
import Engine

/// Class-difficulty-based weighting (CDB-W) and sampling (CDB-S): Sinha, Ohashi, Nakamura, "Class-Wise
/// Difficulty-Balanced Loss for Solving Class-Imbalance", ACCV 2020 (arXiv 2010.01824), and "Class-Difficulty
/// Based Methods for Long-Tailed Visual Recognition", IJCV 2022 (arXiv 2207.14499).
///
/// The algorithm, as hitachi-rd-cv/CDB-loss `CIFAR-LT/cifar_train.py` runs it:
///
///     d ← (1, …, 1)                                   class difficulties, so epoch 0 is unweighted
///     for epoch e = 0, 1, …:
///       train one epoch with the weights w(d)          CDB-W: weighted CE; CDB-S: classes drawn ∝ w
///       (LR schedule step)
///       if e % validate_every == 0:
///         A_c ← accuracy of class c on the held-out validation split (eval mode)
///         d_c ← 1 − A_c                                applies from epoch e + 1
///     w(d)_c = d_c^τ · C / Σ_k d_k^τ                   (Σ_c w_c = C)
///     τ = fixed, or dynamic from r = (1 − min_c d_c) / (1 − max_c d_c + 0.01) = A_max / (A_min + 0.01):
///       `cifar`:    τ = σ(r)          ∈ [0.5, 1)   (`CIFAR-LT/losses/cdb_loss.py`)
///       `imagenet`: τ = 2·σ(r − 1)    ∈ [0.54, 2)  (`ImageNet-LT/loss/CDBSoftmaxLoss.py`)
///
/// The CIFAR and EGTEA loss is `CrossEntropyLoss(weight=w, reduction='none')` followed by `torch.mean`:
/// L = Σ_i w_{y_i} ℓ_i / N, **not** PyTorch's weighted mean Σ_i w_{y_i} ℓ_i / Σ_i w_{y_i} (which ImageNet-LT
/// uses): ``LossReduction/batchMean`` and ``LossReduction/weightedMean``. The two are not a constant rescale of
/// each other (the ratio Σ_i w_{y_i} / N changes from batch to batch), so the reduction is a parameter.
///
/// A class at 100% validation accuracy gets weight 0 for the next epoch (kept, as the code). When every class
/// is at 100% the code's weights are 0/0 = NaN; here that is a ``JobFailure`` (`non-finite-loss`).
///
/// Differences from the code, all recorded: A_c = correct_c / (validation examples of c) where the code
/// divides by a hard-coded 25 (the same for its 25-per-class split). The code's checkpoint selection (best
/// mean class validation accuracy) is a separate component, ``BestValidationSelection``, so baselines get it too.
///
/// **CDB-S is a reconstruction.** The repository has no CDB-S code; ``CDBSampling`` draws classes with
/// probability q_c = w_c / C = d_c^τ / Σ_k d_k^τ and an example uniformly within the class, with replacement,
/// N draws per epoch (`shared/methods/cdb.md` §2, unverified against the IJCV paper).
///
/// **References:** hitachi-rd-cv/CDB-loss @ 82b0119e: `CIFAR-LT/losses/cdb_loss.py` (`CDB_loss`),
/// `CIFAR-LT/cifar_train.py` (`train`, `validate`), `ImageNet-LT/loss/CDBSoftmaxLoss.py`.
public enum ClassDifficulty {
  /// The two dynamic-τ formulas of the official code.
  public enum DynamicTau: String, Sendable, CaseIterable {
    /// τ = σ(r) (CIFAR-LT and EGTEA code).
    case cifar
    /// τ = 2·σ(r − 1) (ImageNet-LT code).
    case imagenet
  }

  /// τ as the code computes it when `tau == 'dynamic'`, with r = (1 − min d) / (1 − max d + 0.01).
  /// All-ones difficulties (epoch 0) give r = 0: τ = 0.5 (`cifar`) or 2σ(−1) ≈ 0.538 (`imagenet`).
  public static func dynamicTau(_ difficulty: [Double], form: DynamicTau) -> Double {
    let r = (1 - (difficulty.min() ?? 1)) / (1 - (difficulty.max() ?? 1) + 0.01)
    let sigmoid = { (x: Double) in 1 / (1 + exp64(-x)) }
    switch form {
    case .cifar: return sigmoid(r)
    case .imagenet: return 2 * sigmoid(r - 1)
    }
  }

  /// w_c = d_c^τ · C / Σ_k d_k^τ, so Σ_c w_c = C; nil when Σ_k d_k^τ = 0 (every class solved: the code's NaN).
  public static func weights(difficulty: [Double], tau: Double) -> [Double]? {
    let raw = difficulty.map { pow64($0, tau) }
    let total = raw.reduce(0, +)
    guard total > 0, total.isFinite else { return nil }
    return raw.map { $0 / total * Double(difficulty.count) }
  }

  /// The fraction of each class's examples whose logits' arg-max (ties to the lower index) is the label;
  /// NaN for a class without examples.
  public static func perClassAccuracy(logits: Tensor, labels: [Int], classes: Int) -> [Double] {
    var correct = [Int](repeating: 0, count: classes)
    var total = correct
    let c = logits.rowSize
    for i in 0..<logits.rows {
      let row = logits.pointer + i * c
      var best = 0
      for j in 1..<Swift.max(c, 1) where row[j] > row[best] { best = j }
      total[labels[i]] += 1
      if best == labels[i] { correct[labels[i]] += 1 }
    }
    return (0..<classes).map { total[$0] > 0 ? Double(correct[$0]) / Double(total[$0]) : .nan }
  }
}

/// The state CDB-W and CDB-S share: difficulties measured on the validation split after every
/// `validate_every`-th epoch, τ and the class weights for the next epoch.
///
/// Curves (one value per epoch, the values **used** in that epoch): `cdb_tau`, `cdb_weight_<c>`; and
/// `cdb_validation_accuracy` (mean class validation accuracy after the epoch, percent; NaN when not validated).
public final class ClassDifficultyTracker {
  /// A fixed τ, or nil for the dynamic one.
  public let fixedTau: Double?
  /// The dynamic-τ formula (used when ``fixedTau`` is nil).
  public let dynamicForm: ClassDifficulty.DynamicTau
  /// Validate after epochs e with e % validateEvery == 0 (the code's `validate_after_every`, default 1).
  public let validateEvery: Int
  /// The validation split.
  public let validation: BatchSource
  /// The current difficulties d (all ones before the first validation).
  public internal(set) var difficulty: [Double]
  /// The latest per-class validation accuracies A (fractions; empty before the first validation).
  public private(set) var accuracy: [Double] = []
  private let logits = Tensor(shape: [0])

  /// A tracker over `classes` classes.
  public init(
    classes: Int, validation: BatchSource, fixedTau: Double?, dynamicForm: ClassDifficulty.DynamicTau,
    validateEvery: Int
  ) {
    self.difficulty = Array(repeating: 1, count: classes)
    self.validation = validation
    self.fixedTau = fixedTau
    self.dynamicForm = dynamicForm
    self.validateEvery = validateEvery
  }

  /// The τ for the current difficulties.
  public var tau: Double { fixedTau ?? ClassDifficulty.dynamicTau(difficulty, form: dynamicForm) }

  /// The class weights w(d) for the current difficulties.
  ///
  /// - Throws: ``JobFailure`` `non-finite-loss` when every class is solved (Σ d^τ = 0, the code's NaN).
  public func weights() throws -> [Double] {
    guard let w = ClassDifficulty.weights(difficulty: difficulty, tau: tau) else {
      throw JobFailure(
        .nonFiniteLoss,
        "CDB: every class has 100% validation accuracy, so every difficulty is 0 and the weights are 0/0 (NaN in the official code)"
      )
    }
    return w
  }

  /// Records the weights used in `epoch` as curves and returns them.
  func begin(_ trainer: Trainer, epoch: Int) throws -> [Double] {
    let w = try weights()
    trainer.curves["cdb_tau", default: []].append(tau)
    for (c, v) in w.enumerated() { trainer.curves["cdb_weight_\(c)", default: []].append(v) }
    return w
  }

  /// The validation pass after `epoch`: new difficulties when due.
  func end(_ trainer: Trainer, epoch: Int) {
    guard epoch % validateEvery == 0 else {
      trainer.curves["cdb_validation_accuracy", default: []].append(.nan)
      return
    }
    trainer.evaluate(validation, into: logits)
    accuracy = ClassDifficulty.perClassAccuracy(logits: logits, labels: validation.labels, classes: difficulty.count)
    difficulty = accuracy.map { 1 - $0 }
    trainer.curves["cdb_validation_accuracy", default: []].append(100 * accuracy.reduce(0, +) / Double(accuracy.count))
  }

  /// Adds the final weights (the ones the next epoch would use) and the last validation accuracies to `output`.
  func finish(_ trainer: Trainer, output: inout JobOutput) {
    if let w = ClassDifficulty.weights(difficulty: difficulty, tau: tau) {
      output.perClass["cdb_weight"] = w
      for (c, v) in w.enumerated() { output.overall["cdb_weight_at_class_\(c)"] = v }
    }
    output.overall["cdb_tau"] = tau
    if !accuracy.isEmpty {
      output.perClass["validation_accuracy"] = accuracy.map { 100 * $0 }
      output.overall["validation_balanced_error"] = 100 * (1 - accuracy.reduce(0, +) / Double(accuracy.count))
    }
  }

  /// The tracker of a `cdb-w`/`cdb-s` spec (`tau`, `dynamic_tau`, `validate_every`).
  static func make(_ spec: ComponentSpec, _ context: ComponentContext) throws -> ClassDifficultyTracker {
    let validation = try context.requireValidation(for: spec.name)
    let fixedTau: Double? =
      spec.params["tau"]?.text == "dynamic" ? nil : try spec.number("tau", { $0 >= 0 && $0.isFinite }, expected: "≥ 0")
    guard let form = ClassDifficulty.DynamicTau(rawValue: try spec.text("dynamic_tau")) else {
      throw JobFailure(.badSpec, "component '\(spec.name)': unknown dynamic_tau")
    }
    return ClassDifficultyTracker(
      classes: context.trainCounts.count, validation: validation, fixedTau: fixedTau, dynamicForm: form,
      validateEvery: try spec.integer("validate_every", min: 1))
  }

  /// Parameters shared by `cdb-w` and `cdb-s`, with the code's defaults.
  static let parameters: [String: ParameterValue] = [
    "tau": .text("dynamic"), "dynamic_tau": .text("cifar"), "validate_every": .number(1),
  ]
  static let choices = ["tau": ["dynamic"], "dynamic_tau": ClassDifficulty.DynamicTau.allCases.map(\.rawValue)]
}

/// CDB-W (the code's "CDB-CE"): cross-entropy weighted by w(d), reduced as the code does, with d measured on
/// the validation split after every epoch (``ClassDifficulty``). It replaces the method's loss, which must be
/// `ce`. Manifest: `components: [{name: cdb-w, tau: dynamic, dynamic_tau: cifar, reduction: batch-mean}]`.
public final class CDBWeighting: TrainingHooks {
  /// The registry entry: `cdb-w` with `tau` (a number or `dynamic`, default `dynamic`), `dynamic_tau`
  /// (`cifar` | `imagenet`), `reduction` (`batch-mean`: Σ w ℓ / N, CIFAR/EGTEA; `weighted-mean`: Σ w ℓ / Σ w,
  /// ImageNet-LT) and `validate_every` (1).
  public static let definition = ComponentDefinition(
    name: "cdb-w", version: 1,
    parameters: ClassDifficultyTracker.parameters.merging(["reduction": .text("batch-mean")]) { $1 },
    choices: ClassDifficultyTracker.choices.merging(["reduction": LossReduction.allCases.map(\.rawValue)]) { $1 },
    numberAllowed: ["tau"]
  ) { spec, context in
    guard context.spec.method.loss.name == "ce" else {
      throw JobFailure(
        .badSpec, "component 'cdb-w' replaces the loss by CDB's weighted cross-entropy: set the method's loss to ce")
    }
    guard let reduction = LossReduction(rawValue: try spec.text("reduction")) else {
      throw JobFailure(.badSpec, "component 'cdb-w': unknown reduction")
    }
    return CDBWeighting(tracker: try ClassDifficultyTracker.make(spec, context), reduction: reduction)
  }

  /// The difficulty state.
  public let tracker: ClassDifficultyTracker
  /// The CDB criterion: cross-entropy with the current weights and the chosen reduction.
  public let criterion: CrossEntropyLoss

  /// CDB-W over `tracker`'s difficulties.
  public init(tracker: ClassDifficultyTracker, reduction: LossReduction) {
    self.tracker = tracker
    self.criterion = CrossEntropyLoss(reduction: reduction)
  }

  public func epochStart(_ trainer: Trainer, epoch: Int) throws {
    criterion.classWeights = try tracker.begin(trainer, epoch: epoch).map(Float.init)  // FloatTensor, as the code
  }

  public func trainStep(_ trainer: Trainer, _ batch: TrainingBatch) throws -> StepOutcome? {
    let (loss, logits) = trainer.standardStep(batch.inputs, labels: batch.labels, criterion: criterion)
    return StepOutcome(loss: loss, logits: logits)
  }

  public func epochEnd(_ trainer: Trainer, epoch: Int) throws { tracker.end(trainer, epoch: epoch) }

  public func finish(_ trainer: Trainer, output: inout JobOutput) throws { tracker.finish(trainer, output: &output) }
}

/// CDB-S, **reconstructed** (no official code): each epoch draws N training examples with replacement, the
/// class with probability q_c = w(d)_c / C ∝ d_c^τ and the example uniformly within it; the loss is the
/// method's own (plain CE in the IJCV setting). Epoch 0 (d = 1) samples classes uniformly (class-balanced).
/// Manifest: `components: [{name: cdb-s, tau: dynamic}]`.
public final class CDBSampling: TrainingHooks {
  /// The registry entry: `cdb-s` with `tau`, `dynamic_tau`, `validate_every` as ``CDBWeighting``.
  public static let definition = ComponentDefinition(
    name: "cdb-s", version: 1, parameters: ClassDifficultyTracker.parameters, choices: ClassDifficultyTracker.choices,
    numberAllowed: ["tau"]
  ) { spec, context in
    CDBSampling(tracker: try ClassDifficultyTracker.make(spec, context), labels: context.data.train.labels)
  }

  /// The difficulty state.
  public let tracker: ClassDifficultyTracker
  private let labels: [Int]
  private var sampler: EpochSampler?

  /// CDB-S over `tracker`'s difficulties for a training set with `labels`.
  public init(tracker: ClassDifficultyTracker, labels: [Int]) {
    self.tracker = tracker
    self.labels = labels
  }

  public func epochStart(_ trainer: Trainer, epoch: Int) throws {
    let w = try tracker.begin(trainer, epoch: epoch)
    do {
      sampler = try EpochSampler(labels: labels, classes: w.count, scheme: .classWeights(w))
    } catch {
      throw JobFailure(.nonFiniteLoss, "CDB-S: no class with a positive weight has training examples (\(error))")
    }
  }

  public func epochOrder(_ trainer: Trainer, epoch: Int, key: RandomKey) -> [Int]? {
    sampler?.order(epoch: epoch, key: key)
  }

  public func epochEnd(_ trainer: Trainer, epoch: Int) throws { tracker.end(trainer, epoch: epoch) }

  public func finish(_ trainer: Trainer, output: inout JobOutput) throws { tracker.finish(trainer, output: &output) }
}
