/// LogitClip's selection rule as a component (`epoch-summary`): the paper reports the mean test accuracy
/// of the last 10 epochs, and its motivation (memorisation of noisy labels) is the gap between the best
/// epoch and those last epochs. The loss itself is ``LogitClipLoss`` (`logitclip` in ``LossRegistry``).
///
/// From the per-epoch `test_error` curve it adds, after training:
/// - `test_error_last_mean`: the mean test error of the last `last` epochs (all epochs if fewer);
/// - `test_error_best_epoch`: the lowest test error over epochs (chosen on the test set: a diagnostic,
///   also the "best test accuracy" ABSGD's code prints);
/// - `memorization_gap`: `test_error_last_mean − test_error_best_epoch` (≥ 0; smaller = less
///   memorisation of the noisy labels).
///
/// **References:** Wei, Zhuang, Xie, Feng, Niu, An, Li, "Mitigating Memorization of Noisy Labels by
/// Clipping the Model Prediction", ICML 2023 (arXiv 2212.04055), §5 "average test accuracy in the last
/// 10 epochs"; hongxin001/LogitClip `train.py` (per-epoch test accuracy written to CSV).
public final class EpochSummary: TrainingHooks {
  /// The registry entry: `epoch-summary`, `last` 10 (the paper's rule for 200 epochs).
  public static let definition = ComponentDefinition(name: "epoch-summary", version: 1, parameters: ["last": .number(10)]) {
    spec, _ in
    EpochSummary(last: try spec.integer("last", min: 1))
  }

  /// How many final epochs are averaged.
  public let last: Int

  /// A summary over the last `last` epochs.
  public init(last: Int) { self.last = last }

  /// The three summary values of a test-error curve (empty curve: nil).
  public static func summary(_ curve: [Double], last: Int) -> (lastMean: Double, best: Double, gap: Double)? {
    guard let best = curve.min() else { return nil }
    let tail = curve.suffix(Swift.max(last, 1))
    let mean = tail.reduce(0, +) / Double(tail.count)
    return (mean, best, mean - best)
  }

  public func finish(_ trainer: Trainer, output: inout JobOutput) throws {
    guard let s = Self.summary(trainer.curves["test_error"] ?? [], last: last) else { return }
    output.overall["test_error_last_mean"] = s.lastMean
    output.overall["test_error_best_epoch"] = s.best
    output.overall["memorization_gap"] = s.gap
  }
}
