/// The official Prior-LT headline selection: the test top-1 error of the best epoch and the ECE of that
/// same epoch (oracle selection on the test set, optimistic). Adds the metrics `best_epoch_top1_error`,
/// `best_epoch_ece` and `best_epoch` (1-based; the first epoch wins ties) and the curve `test_ece`;
/// training is unchanged, and the job's standard metrics stay those of the final epoch.
///
/// **References:** XuZhengzhuo/Prior-LT `train.py` (keeps `best_acc1` and the ECE logged with it),
/// `core.py` `validate` (ECE of the raw logits, 15 bins).
public final class BestEpoch: TrainingHooks {
  /// The registry entry `best-epoch`, no parameters.
  public static let definition = ComponentDefinition(name: "best-epoch", version: 1) { _, _ in BestEpoch() }

  private var best: (epoch: Int, error: Double, ece: Double)?

  /// Creates the tracker.
  public init() {}

  public func epochEnd(_ trainer: Trainer, epoch: Int) throws {
    let metrics = ClassificationMetrics(logits: trainer.testLogits, labels: trainer.test.labels)
    trainer.curves["test_ece", default: []].append(metrics.ece)
    if best == nil || metrics.top1Error < best!.error { best = (epoch, metrics.top1Error, metrics.ece) }
  }

  public func finish(_ trainer: Trainer, output: inout JobOutput) throws {
    guard let best else { return }
    output.overall["best_epoch_top1_error"] = best.error
    output.overall["best_epoch_ece"] = best.ece
    output.overall["best_epoch"] = Double(best.epoch + 1)
  }
}
