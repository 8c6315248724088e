import Engine

/// Model selection on the held-out validation split, as the papers' code picks its checkpoint.
///
/// After every epoch the validation split is evaluated (eval mode) and scored by `criterion`:
/// - `top1` — the validation top-1 error; the first epoch with the lowest one wins (by-liu/CALS
///   `best_acc` checkpoint). Curve `validation_error`.
/// - `mean-class` — the mean per-class validation accuracy; the first epoch with a strictly greater one
///   than every earlier epoch wins, starting from 0 (hitachi-rd-cv/CDB-loss `cifar_train.py` saving
///   `best_cifar*.pth`). Curve `validation_balanced_error` (100 − mean class accuracy).
///
/// What the selection does is `use`:
/// - `restore` — the selected epoch's parameters and running statistics are restored after training, so
///   every final metric (error, ECE, per-class, reliability) is that checkpoint's; adds `selected_epoch`
///   (1-based), `validation_error` (the selected score) and the fact `epoch_rule`.
/// - `report` — the final metrics stay the last epoch's, and the selected epoch's test metrics are added
///   beside them: `best_validation_top1_error`, `best_validation_balanced_error`, `best_validation_epoch`
///   (0-based). The trainer evaluates the test set before the epoch-end hooks with the same weights, so
///   these are the metrics of the checkpoint the official code would test.
///
/// Both add the test set's classwise ECE (`classwise_ece`, percent; ``classwiseECE(logits:labels:bins:)``).
public final class BestValidationSelection: TrainingHooks {
  /// How an epoch is scored.
  public enum Criterion: String, Sendable {
    /// Validation top-1 error, lower is better.
    case top1
    /// Mean per-class validation accuracy, higher is better (strictly).
    case meanClass = "mean-class"
  }

  /// What the selected epoch is used for.
  public enum Use: String, Sendable {
    /// Restore its weights: the final metrics are its metrics.
    case restore
    /// Report its test metrics beside the final epoch's.
    case report
  }

  /// The registry entry `best-validation`: `criterion` `top1` | `mean-class`, `use` `restore` | `report`.
  public static let definition = ComponentDefinition(
    name: "best-validation", version: 1, parameters: ["criterion": .text("top1"), "use": .text("restore")],
    choices: ["criterion": ["top1", "mean-class"], "use": ["restore", "report"]]
  ) { spec, context in
    BestValidationSelection(
      validation: try context.requireValidation(for: "best-validation"),
      criterion: Criterion(rawValue: try spec.text("criterion"))!, use: Use(rawValue: try spec.text("use"))!)
  }

  private let validation: BatchSource
  private let criterion: Criterion
  private let use: Use
  private let logits = Tensor(shape: [0])
  /// The selected epoch (0-based), its score as recorded in the curve, its test metrics (report) and its
  /// weights (restore).
  private var best: (epoch: Int, curveValue: Double, top1: Double, balanced: Double, snapshot: ModelSnapshot?)?
  private var bestScore = -Double.infinity

  /// Selection on `validation` by `criterion`, used as `use`.
  public init(validation: BatchSource, criterion: Criterion = .top1, use: Use = .restore) {
    self.validation = validation
    self.criterion = criterion
    self.use = use
  }

  public func epochEnd(_ trainer: Trainer, epoch: Int) throws {
    let error = trainer.evaluate(validation, into: logits)
    let score: Double
    let curveValue: Double
    switch criterion {
    case .top1:
      score = -error
      curveValue = error
      trainer.curves["validation_error", default: []].append(error)
    case .meanClass:
      let accuracy = ClassDifficulty.perClassAccuracy(
        logits: logits, labels: validation.labels, classes: trainer.model.classes)
      let mean = accuracy.reduce(0, +) / Double(accuracy.count)
      score = mean
      curveValue = 100 * (1 - mean)
      trainer.curves["validation_balanced_error", default: []].append(curveValue)
    }
    // top1: the first epoch with the lowest error; mean-class: strictly greater than 0 and every earlier.
    let improves = criterion == .top1 ? (best == nil || score > bestScore) : score > Swift.max(bestScore, 0)
    guard improves else { return }
    bestScore = score
    var top1 = Double.nan
    var balanced = Double.nan
    if use == .report {
      let test = ClassificationMetrics(logits: trainer.testLogits, labels: trainer.test.labels)
      (top1, balanced) = (test.top1Error, test.balancedError)
    }
    best = (epoch, curveValue, top1, balanced, use == .restore ? ModelSnapshot(trainer.model) : nil)
  }

  public func afterTraining(_ trainer: Trainer) throws -> Bool {
    guard let snapshot = best?.snapshot else { return false }
    snapshot.restore(trainer.model)
    return true
  }

  public func finish(_ trainer: Trainer, output: inout JobOutput) throws {
    if let best {
      switch use {
      case .restore:
        output.overall["selected_epoch"] = Double(best.epoch + 1)
        output.overall["validation_error"] = best.curveValue
        output.data["epoch_rule"] = "best validation \(criterion.rawValue) (epoch \(best.epoch + 1))"
      case .report:
        output.overall["best_validation_epoch"] = Double(best.epoch)
        output.overall["best_validation_top1_error"] = best.top1
        output.overall["best_validation_balanced_error"] = best.balanced
      }
    }
    output.overall["classwise_ece"] = 100 * classwiseECE(logits: trainer.testLogits, labels: trainer.test.labels)
  }
}
