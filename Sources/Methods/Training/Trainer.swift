import Engine
import NN

/// Examples the trainer can batch: a training or test set after subsampling and noise injection.
public protocol BatchSource: AnyObject {
  /// The number of examples.
  var count: Int { get }
  /// The label of each example as the loss sees it (noisy where noise was injected).
  var labels: [Int] { get }
  /// The number of classes.
  var classes: Int { get }
  /// One example's shape, [H, W, C].
  var exampleShape: [Int] { get }
  /// Fills `x` ([B, H, W, C], resized by the callee) and `y` with the examples at `positions`
  /// (indices into this source), augmented with draws from `augment` when it is non-nil.
  func fill(_ positions: ArraySlice<Int>, into x: Tensor, labels y: inout [Int], augment: inout RandomStream?)
}

/// What one step computed, passed to hooks.
public struct StepState {
  /// The 0-based epoch and the step within it.
  public var epoch: Int, step: Int
  /// The batch inputs, labels and logits.
  public var inputs: Tensor, labels: [Int], logits: Tensor
  /// The batch loss.
  public var loss: Double
}

/// One training mini-batch as the trainer filled it, handed to ``TrainingHooks/trainStep(_:_:)``.
public struct TrainingBatch {
  /// The 0-based epoch and the step within it.
  public var epoch: Int, step: Int
  /// Positions of the batch's examples in the training source (per-example state lives by position).
  public var positions: ArraySlice<Int>
  /// The inputs [B, H, W, C] (normalised, augmented) and the labels as the loss sees them.
  public var inputs: Tensor, labels: [Int]
}

/// What a custom step reports back: the batch loss (for the curve and the divergence check) and the
/// logits the training error is counted on.
public struct StepOutcome {
  /// The batch loss.
  public var loss: Double
  /// The logits [B, C] of the batch.
  public var logits: Tensor
  /// Creates an outcome.
  public init(loss: Double, logits: Tensor) {
    self.loss = loss
    self.logits = logits
  }
}

/// Named points of the training loop a method plugs into (DESIGN.md: the trainer owns the loop).
/// Every hook has a do-nothing default.
public protocol TrainingHooks: AnyObject {
  /// Called at the start of each epoch, after the learning rate is set (DRW switches weights here).
  func epochStart(_ trainer: Trainer, epoch: Int) throws
  /// The order in which to visit training examples this epoch (positions into the training source,
  /// possibly with repeats: re-sampling); nil = a uniform shuffle.
  func epochOrder(_ trainer: Trainer, epoch: Int, key: RandomKey) -> [Int]?
  /// Replaces the standard step (forward, loss, backward, optimiser step) when it returns non-nil:
  /// mixup, noise or adversarial inputs, per-example meta-weights. The first hook returning non-nil
  /// wins; it must have updated the parameters. ``Trainer/standardStep(_:labels:)`` is the default.
  func trainStep(_ trainer: Trainer, _ batch: TrainingBatch) throws -> StepOutcome?
  /// Called after each optimiser step.
  func afterStep(_ trainer: Trainer, _ state: StepState) throws
  /// Called at the end of each epoch, after evaluation.
  func epochEnd(_ trainer: Trainer, epoch: Int) throws
  /// Whether the test set is evaluated after this epoch (default: every epoch). The last epoch is always
  /// evaluated; a skipped epoch's `test_error` is recorded as not a number (`null` in the result).
  func evaluatesTest(_ trainer: Trainer, epoch: Int) -> Bool
  /// A post-hoc stage after the last epoch (re-training the classifier, calibration). Returns true when
  /// it changed the model, so the trainer evaluates the test set again.
  func afterTraining(_ trainer: Trainer) throws -> Bool
  /// Adds the component's own results (metrics, per-class vectors, series) to the job's output, after
  /// the standard metrics are in it.
  func finish(_ trainer: Trainer, output: inout JobOutput) throws
}

extension TrainingHooks {
  public func epochStart(_ trainer: Trainer, epoch: Int) throws {}
  public func epochOrder(_ trainer: Trainer, epoch: Int, key: RandomKey) -> [Int]? { nil }
  public func trainStep(_ trainer: Trainer, _ batch: TrainingBatch) throws -> StepOutcome? { nil }
  public func afterStep(_ trainer: Trainer, _ state: StepState) throws {}
  public func epochEnd(_ trainer: Trainer, epoch: Int) throws {}
  public func evaluatesTest(_ trainer: Trainer, epoch: Int) -> Bool { true }
  public func afterTraining(_ trainer: Trainer) throws -> Bool { false }
  public func finish(_ trainer: Trainer, output: inout JobOutput) throws {}
}

/// Hooks that do nothing: plain ERM.
public final class NoHooks: TrainingHooks {
  /// Creates the empty hook set.
  public init() {}
}

/// Several hook sets applied in order; the first non-nil `epochOrder` wins.
public final class HookChain: TrainingHooks {
  /// The hook sets, in order.
  public let hooks: [TrainingHooks]
  /// A chain of hook sets.
  public init(_ hooks: [TrainingHooks]) { self.hooks = hooks }
  public func epochStart(_ t: Trainer, epoch: Int) throws { for h in hooks { try h.epochStart(t, epoch: epoch) } }
  public func epochOrder(_ t: Trainer, epoch: Int, key: RandomKey) -> [Int]? {
    for h in hooks { if let o = h.epochOrder(t, epoch: epoch, key: key) { return o } }
    return nil
  }
  public func trainStep(_ t: Trainer, _ b: TrainingBatch) throws -> StepOutcome? {
    for h in hooks { if let o = try h.trainStep(t, b) { return o } }
    return nil
  }
  public func afterStep(_ t: Trainer, _ s: StepState) throws { for h in hooks { try h.afterStep(t, s) } }
  public func epochEnd(_ t: Trainer, epoch: Int) throws { for h in hooks { try h.epochEnd(t, epoch: epoch) } }
  public func evaluatesTest(_ t: Trainer, epoch: Int) -> Bool { hooks.allSatisfy { $0.evaluatesTest(t, epoch: epoch) } }
  public func afterTraining(_ t: Trainer) throws -> Bool {
    var changed = false
    for h in hooks { changed = try h.afterTraining(t) || changed }
    return changed
  }
  public func finish(_ t: Trainer, output: inout JobOutput) throws {
    for h in hooks { try h.finish(t, output: &output) }
  }
}

/// The training loop: SGD over mini-batches with a per-epoch learning rate, evaluation on the test
/// set after every epoch, and the method's hooks.
///
/// Random streams (split from the job key): `data-order` (folded by epoch) for shuffling and
/// re-sampling, `augment` (folded by epoch) for augmentation. Batches are visited in order, the last
/// one partial (PyTorch's `DataLoader` default, `drop_last=False`).
public final class Trainer {
  /// The model being trained.
  public let model: Classifier
  /// The loss (hooks may change its class weights).
  public let loss: ClassificationLoss
  /// The optimiser.
  public let optimizer: SGD
  /// The learning rate per epoch.
  public let schedule: LearningRateSchedule
  /// Training and test data.
  public let train: BatchSource, test: BatchSource
  /// The held-out validation split, when the dataset has one (CDB, L2RW, CALS, average-k read it).
  public let validation: BatchSource?
  /// Epochs and batch size.
  public let epochs: Int, batchSize: Int
  /// Whether training batches are augmented.
  public let augment: Bool
  /// The method's hooks.
  public let hooks: TrainingHooks
  /// The job's key; streams are split from it by purpose.
  public let key: RandomKey
  /// Per-epoch curves: `train_loss`, `train_error`, `test_error`, `lr`, and whatever the hooks add
  /// (one value per epoch each).
  public var curves: [String: [Double]] = [:]
  /// The test-set logits of the latest evaluation [N_test, C].
  public let testLogits = Tensor(shape: [0])
  /// Receives a line per epoch.
  public var log: (String) -> Void = { _ in }

  /// The gradient of the loss with respect to the logits, reused by ``standardStep(_:labels:)``.
  public let lossGradient = Tensor(shape: [0])
  private let batchInputs = Tensor(shape: [0])
  private var batchLabels: [Int] = []

  /// A trainer; nothing runs until ``run()``.
  public init(
    model: Classifier, loss: ClassificationLoss, optimizer: SGD, schedule: LearningRateSchedule,
    train: BatchSource, test: BatchSource, validation: BatchSource? = nil, epochs: Int, batchSize: Int, augment: Bool,
    hooks: TrainingHooks = NoHooks(), key: RandomKey
  ) {
    self.validation = validation
    self.model = model
    self.loss = loss
    self.optimizer = optimizer
    self.schedule = schedule
    self.train = train
    self.test = test
    self.epochs = epochs
    self.batchSize = batchSize
    self.augment = augment
    self.hooks = hooks
    self.key = key
  }

  /// Trains for all epochs; throws ``JobFailure`` with `.nonFiniteLoss` when the loss diverges.
  public func run() throws {
    let parameters = model.parameters
    for epoch in 0..<epochs {
      let lr = schedule.rate(epoch: epoch)
      optimizer.learningRate = Float(lr)
      try hooks.epochStart(self, epoch: epoch)
      let order =
        hooks.epochOrder(self, epoch: epoch, key: key.split("data-order").fold(epoch))
        ?? {
          var s = key.split("data-order").fold(epoch).stream()
          return s.permutation(train.count)
        }()
      var augmentStream: RandomStream? = augment ? key.split("augment").fold(epoch).stream() : nil
      var lossSum = 0.0
      var seen = 0
      var wrong = 0
      var step = 0
      var start = 0
      while start < order.count {
        let end = Swift.min(start + batchSize, order.count)
        train.fill(order[start..<end], into: batchInputs, labels: &batchLabels, augment: &augmentStream)
        let batch = TrainingBatch(
          epoch: epoch, step: step, positions: order[start..<end], inputs: batchInputs, labels: batchLabels)
        let (value, logits) =
          try hooks.trainStep(self, batch).map { ($0.loss, $0.logits) }
          ?? standardStep(batchInputs, labels: batchLabels, parameters: parameters)
        guard value.isFinite else {
          throw JobFailure(.nonFiniteLoss, "loss is \(value) at epoch \(epoch), step \(step)")
        }
        wrong += misclassified(logits, batchLabels)
        try hooks.afterStep(
          self,
          StepState(epoch: epoch, step: step, inputs: batchInputs, labels: batchLabels, logits: logits, loss: value))
        lossSum += value * Double(end - start)
        seen += end - start
        step += 1
        start = end
      }
      let evaluated = epoch == epochs - 1 || hooks.evaluatesTest(self, epoch: epoch)
      let testError = evaluated ? evaluate(test, into: testLogits) : .nan
      curves["train_loss", default: []].append(lossSum / Double(Swift.max(seen, 1)))
      curves["train_error", default: []].append(100 * Double(wrong) / Double(Swift.max(seen, 1)))
      curves["test_error", default: []].append(testError)
      curves["lr", default: []].append(lr)
      log(
        "epoch \(epoch + 1)/\(epochs) lr \(formatG(lr)) train_loss \(formatG(lossSum / Double(Swift.max(seen, 1)))) test_error \(evaluated ? formatG(testError) : "-")"
      )
      try hooks.epochEnd(self, epoch: epoch)
    }
    if try hooks.afterTraining(self) { evaluate(test, into: testLogits) }
  }

  /// The standard step: forward in training mode, the loss (``loss``, or `criterion` when given: a
  /// component's own, e.g. CDB's) and its logit gradient, backward, one optimiser step over `parameters`
  /// (default: all of the model's). Returns the loss and the logits (the model's output buffer, valid
  /// until its next forward).
  @discardableResult
  public func standardStep(
    _ inputs: Tensor, labels: [Int], parameters: [Parameter]? = nil, criterion: ClassificationLoss? = nil
  ) -> (Double, Tensor) {
    let logits = model.forward(inputs, training: true)
    let value = (criterion ?? loss).loss(logits: logits, targets: labels, gradient: lossGradient)
    guard value.isFinite else { return (value, logits) }
    _ = model.backward(lossGradient)
    optimizer.step(parameters ?? model.parameters)
    return (value, logits)
  }

  /// Computes the logits of every example of `source` in evaluation mode into `out`; returns the
  /// top-1 error in percent.
  @discardableResult
  public func evaluate(_ source: BatchSource, into out: Tensor) -> Double {
    let c = model.classes
    out.resize([source.count, c])
    var none: RandomStream? = nil
    var wrong = 0
    let evalBatch = Swift.max(batchSize, 256)
    var start = 0
    let all = Array(0..<source.count)
    while start < source.count {
      let end = Swift.min(start + evalBatch, source.count)
      source.fill(all[start..<end], into: batchInputs, labels: &batchLabels, augment: &none)
      let logits = model.forward(batchInputs, training: false)
      (out.pointer + start * c).update(from: logits.pointer, count: (end - start) * c)
      wrong += misclassified(logits, batchLabels)
      start = end
    }
    return 100 * Double(wrong) / Double(Swift.max(source.count, 1))
  }
}

extension Trainer {
  /// The final model's predictions on its own training set, the quantities degeneracy is judged on
  /// (DESIGN.md, Verdicts: never the test set, so the rule does not select on the outcome it judges).
  public struct TrainingPredictions: Sendable, Equatable {
    /// How many distinct classes the model predicts on the training set.
    public var predictedClasses: Int
    /// The balanced error in percent against the labels the loss saw (noisy where noise was injected):
    /// 100 − the mean over classes with examples of the per-class accuracy.
    public var balancedError: Double
  }

  /// ``TrainingPredictions`` of the current model: one pass over the training source in evaluation mode,
  /// without augmentation, arg-max ties to the lower index. Draws no random numbers and changes no state
  /// but the model's output buffers.
  public func trainingPredictions() -> TrainingPredictions {
    let c = model.classes
    var predicted = [Int](repeating: 0, count: c)
    var correct = [Int](repeating: 0, count: c)
    var present = [Int](repeating: 0, count: c)
    var none: RandomStream? = nil
    let evalBatch = Swift.max(batchSize, 256)
    let all = Array(0..<train.count)
    var start = 0
    while start < train.count {
      let end = Swift.min(start + evalBatch, train.count)
      train.fill(all[start..<end], into: batchInputs, labels: &batchLabels, augment: &none)
      let logits = model.forward(batchInputs, training: false)
      for r in 0..<(end - start) {
        let row = logits.pointer + r * c
        var best = 0
        for j in 1..<Swift.max(c, 1) where row[j] > row[best] { best = j }
        let label = batchLabels[r]
        predicted[best] += 1
        present[label] += 1
        if best == label { correct[label] += 1 }
      }
      start = end
    }
    var accuracySum = 0.0
    var classesWithExamples = 0
    for k in 0..<c where present[k] > 0 {
      accuracySum += 100 * Double(correct[k]) / Double(present[k])
      classesWithExamples += 1
    }
    return TrainingPredictions(
      predictedClasses: predicted.filter { $0 > 0 }.count,
      balancedError: 100 - accuracySum / Double(Swift.max(classesWithExamples, 1)))
  }
}

/// The number of rows of `logits` whose arg-max (ties to the lower index) is not the label; no allocation.
func misclassified(_ logits: Tensor, _ labels: [Int]) -> Int {
  let c = logits.rowSize
  var wrong = 0
  for r in 0..<logits.rows {
    let row = logits.pointer + r * c
    var best = 0
    for j in 1..<Swift.max(c, 1) where row[j] > row[best] { best = j }
    if best != labels[r] { wrong += 1 }
  }
  return wrong
}

/// A number with up to 4 significant digits, for log lines.
func formatG(_ x: Double) -> String {
  if x == 0 || !x.isFinite { return "\(x)" }
  let digits = Swift.max(0, 3 - Int((log64(Swift.abs(x)) / log64(10)).rounded(.down)))
  let p = pow64(10, Double(Swift.min(digits, 8)))
  return "\((x * p).rounded() / p)"
}
