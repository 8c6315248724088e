import Engine
import Foundation
import NN
import Testing

@testable import Methods

/// A step that counts its calls and then runs the standard step.
final class CountingStep: TrainingHooks {
  var steps = 0
  var finished = false
  func trainStep(_ trainer: Trainer, _ batch: TrainingBatch) throws -> StepOutcome? {
    steps += 1
    let (loss, logits) = trainer.standardStep(batch.inputs, labels: batch.labels)
    return StepOutcome(loss: loss, logits: logits)
  }
  func finish(_ trainer: Trainer, output: inout JobOutput) throws {
    finished = true
    output.series["demo"] = ["x": [1, 2], "y": [3, 4]]
  }
}

@Suite("Components")
struct ComponentTests {
  /// A definition with a number, a word-or-number and a word parameter.
  let definition = ComponentDefinition(
    name: "demo", version: 1, parameters: ["lr": .number(0.1), "tau": .text("dynamic"), "mode": .text("cifar")],
    choices: ["tau": ["dynamic"], "mode": ["cifar", "imagenet"]], numberAllowed: ["tau"]
  ) { _, _ in NoHooks() }

  @Test func parameterTypesAndChoicesAreChecked() {
    func problem(_ key: String, _ value: ParameterValue) -> String? {
      ComponentRegistry.problem(of: value, key: key, default: definition.parameters[key]!, definition: definition)
    }
    #expect(problem("lr", .number(0.5)) == nil)
    #expect(problem("lr", .number(.nan)) != nil)
    #expect(problem("lr", .text("fast")) != nil)
    #expect(problem("tau", .number(1.5)) == nil)
    #expect(problem("tau", .text("dynamic")) == nil)
    #expect(problem("tau", .text("static")) != nil)
    #expect(problem("mode", .text("imagenet")) == nil)
    #expect(problem("mode", .number(1)) != nil)
  }

  @Test func resolveFillsDefaultsAndRejectsUnknownNames() throws {
    let probe = try ComponentRegistry.resolve(ComponentSpec(name: "validation-probe"))
    #expect(probe == ComponentSpec(name: "validation-probe"))
    #expect(throws: JobFailure.self) { try ComponentRegistry.resolve(ComponentSpec(name: "no-such")) }
    #expect(throws: JobFailure.self) {
      try ComponentRegistry.resolve(ComponentSpec(name: "validation-probe", params: ["x": .number(1)]))
    }
  }

  @Test func specEncodingOmitsAnEmptyComponentList() throws {
    let plain = MethodSpec(id: "erm", loss: LossSpec(name: "ce"))
    let json = String(decoding: try JSONEncoder().encode(plain), as: UTF8.self)
    #expect(!json.contains("components"))
    let withProbe = MethodSpec(
      id: "p", loss: LossSpec(name: "ce"),
      components: [ComponentSpec(name: "demo", params: ["tau": .text("dynamic"), "lr": .number(0.5)])])
    let decoded = try JSONDecoder().decode(MethodSpec.self, from: try JSONEncoder().encode(withProbe))
    #expect(decoded == withProbe)
  }

  @Test func aCustomStepReplacesTheStandardOneAndFinishAddsToTheOutput() throws {
    let hook = CountingStep()
    let trainer = try makeTrainer(seed: 3, hooks: HookChain([NoHooks(), hook]), epochs: 2)
    try trainer.run()
    #expect(hook.steps == 2 * 6)  // 96 examples, batch 16
    // The custom step ran the standard step, so training matches a plain run bitwise.
    let plain = try makeTrainer(seed: 3, epochs: 2)
    try plain.run()
    #expect(trainer.curves["train_loss"] == plain.curves["train_loss"])
    var output = JobOutput()
    try trainer.hooks.finish(trainer, output: &output)
    #expect(hook.finished && output.series["demo"]?["y"] == [3, 4])
  }

  @Test func validationProbeRecordsACurvePerEpoch() throws {
    let model = try ModelZoo.make("mlp", inputShape: [4, 4, 1], classes: 3, widths: [16])
    let key = RandomKey(seed: 5)
    model.initialize(.torchDefault, key: key.split("init"))
    let validation = BlobSource(count: 30, classes: 3, seed: 9)
    let probe = ValidationProbe(validation: validation)
    let trainer = Trainer(
      model: model, loss: CrossEntropyLoss(), optimizer: SGD(learningRate: 0.1, momentum: 0.9),
      schedule: .constant(base: 0.1, warmup: 0), train: BlobSource(count: 96, classes: 3, seed: 1),
      test: BlobSource(count: 60, classes: 3, seed: 2), validation: validation, epochs: 3, batchSize: 16,
      augment: false, hooks: probe, key: key)
    try trainer.run()
    let curve = try #require(trainer.curves["validation_error"])
    #expect(curve.count == 3)
    #expect(curve.allSatisfy { $0 >= 0 && $0 <= 100 })
    #expect(curve.last! < 50)  // the blobs are separable
    var output = JobOutput()
    try probe.finish(trainer, output: &output)
    #expect(output.overall["validation_error"] == curve.last)
  }
}
