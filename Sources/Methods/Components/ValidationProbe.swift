import Engine

/// Records the top-1 error on the held-out validation split after every epoch, as the curve
/// `validation_error`, and the final one as the metric `validation_error` (percent). It changes
/// nothing in training; methods that select or weight by validation accuracy (CDB, L2RW, CALS) show
/// the same curve beside their own.
public final class ValidationProbe: TrainingHooks {
  /// The registry entry: `validation-probe`, no parameters.
  public static let definition = ComponentDefinition(name: "validation-probe", version: 1) { _, context in
    ValidationProbe(validation: try context.requireValidation(for: "validation-probe"))
  }

  private let validation: BatchSource
  private let logits = Tensor(shape: [0])

  /// A probe of `validation`.
  public init(validation: BatchSource) { self.validation = validation }

  public func epochEnd(_ trainer: Trainer, epoch: Int) throws {
    trainer.curves["validation_error", default: []].append(trainer.evaluate(validation, into: logits))
  }

  public func finish(_ trainer: Trainer, output: inout JobOutput) throws {
    if let last = trainer.curves["validation_error"]?.last { output.overall["validation_error"] = last }
  }
}
