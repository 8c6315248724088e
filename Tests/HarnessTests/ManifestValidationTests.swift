import Testing

@testable import Harness

/// One malformed manifest and the problem it must produce.
struct MalformedCase: CustomTestStringConvertible, Sendable {
  var name: String
  var yaml: String
  var code: ManifestError.Code
  var keyPath: String
  var line: Int
  var testDescription: String { name }
}

let malformedCases: [MalformedCase] = [
  MalformedCase(
    name: "unknown top-level key", yaml: baseManifest + "seed: 3\n", code: .unknownKey, keyPath: "seed", line: 32),
  MalformedCase(
    name: "unknown nested key", yaml: manifest(replacingLine: 15, with: "    weight_dacay: 2.0e-4"),
    code: .unknownKey, keyPath: "train.optimizer.weight_dacay", line: 15),
  MalformedCase(
    name: "string where an integer goes", yaml: manifest(replacingLine: 11, with: "  epochs: three"),
    code: .wrongType, keyPath: "train.epochs", line: 11),
  MalformedCase(
    name: "boolean where an integer goes", yaml: manifest(replacingLine: 12, with: "  batch_size: true"),
    code: .wrongType, keyPath: "train.batch_size", line: 12),
  MalformedCase(
    name: "non-integer seed", yaml: manifest(replacingLine: 25, with: "seeds: [0, 1.5, 2]"),
    code: .wrongType, keyPath: "seeds[1]", line: 25),
  MalformedCase(
    name: "unknown dataset", yaml: manifest(replacingLine: 4, with: "  name: imagenet"),
    code: .unknownName, keyPath: "dataset.name", line: 4),
  MalformedCase(
    name: "unknown model", yaml: manifest(replacingLine: 9, with: "  name: vgg16"),
    code: .unknownName, keyPath: "model.name", line: 9),
  MalformedCase(
    name: "unknown noise generator",
    yaml: manifest(replacingLine: 4, with: "  name: fashion-mnist\n  noise: {kind: symmetric, rate: 0.2, generator: torch}"),
    code: .unknownName, keyPath: "dataset.noise.generator", line: 5),
  MalformedCase(
    name: "unknown asymmetric noise map",
    yaml: manifest(replacingLine: 4, with: "  name: fashion-mnist\n  noise: {kind: asymmetric, rate: 0.2, map: svhn}"),
    code: .unknownName, keyPath: "dataset.noise.map", line: 5),
  MalformedCase(
    name: "unknown loss", yaml: manifest(replacingLine: 21, with: "    loss: hinge-squared"),
    code: .unknownName, keyPath: "methods[0].loss", line: 21),
  MalformedCase(
    name: "unknown loss parameter", yaml: manifest(replacingLine: 23, with: "    loss: {name: ce, gamma: 2}"),
    code: .unknownKey, keyPath: "methods[1].loss.gamma", line: 23),
  MalformedCase(
    name: "unknown reweighting hook", yaml: manifest(replacingLine: 24, with: "    reweight: {name: ldam-rw}"),
    code: .unknownName, keyPath: "methods[1].reweight.name", line: 24),
  MalformedCase(
    name: "unknown sampler", yaml: manifest(replacingLine: 24, with: "    sampler: {name: square-root}"),
    code: .unknownName, keyPath: "methods[1].sampler.name", line: 24),
  MalformedCase(
    name: "unknown imbalance profile", yaml: manifest(replacingLine: 6, with: "    profile: linear"),
    code: .unknownName, keyPath: "dataset.imbalance.profile", line: 6),
  MalformedCase(
    name: "unknown long-tail selection",
    yaml: manifest(replacingLine: 6, with: "    profile: exponential\n    selection: sorted"),
    code: .unknownName, keyPath: "dataset.imbalance.selection", line: 7),
  MalformedCase(
    name: "unknown validation selection",
    yaml: manifest(replacingLine: 4, with: "  name: fashion-mnist\n  validation_selection: first"),
    code: .unknownName, keyPath: "dataset.validation_selection", line: 5),
  MalformedCase(
    name: "empty grid", yaml: manifest(replacingLine: 7, with: "    ratio: []"),
    code: .emptyList, keyPath: "dataset.imbalance.ratio", line: 7),
  MalformedCase(
    name: "duplicate method id", yaml: manifest(replacingLine: 22, with: "  - id: erm"),
    code: .duplicate, keyPath: "methods[1].id", line: 22),
  MalformedCase(
    name: "overlay names a key the schema lacks", yaml: manifest(replacingLine: 29, with: "    train: {epoch: 1}"),
    code: .overlayUnknownKey, keyPath: "profiles.smoke.train.epoch", line: 29),
  MalformedCase(
    name: "overlay names a method the base lacks",
    yaml: manifest(replacingLine: 31, with: "    methods: {ldam: {reweight: {name: drw}}}"),
    code: .overlayUnknownKey, keyPath: "profiles.smoke.methods.ldam", line: 31),
  MalformedCase(
    name: "overlay changes a key no profile may change",
    yaml: manifest(replacingLine: 31, with: "    metrics: [ece]"),
    code: .overlayUnknownKey, keyPath: "profiles.smoke.metrics", line: 31),
  MalformedCase(
    name: "missing required top-level key", yaml: manifest(replacingLine: 2, with: "description: no paper"),
    code: .missingKey, keyPath: "paper", line: 1),
  MalformedCase(
    name: "missing required nested key", yaml: manifest(replacingLine: 14, with: "    momentum: 0.5"),
    code: .missingKey, keyPath: "train.optimizer.lr", line: 13),
  MalformedCase(
    name: "unknown profile", yaml: manifest(replacingLine: 28, with: "  smoek:"),
    code: .unknownName, keyPath: "profiles.smoek", line: 28),
  MalformedCase(
    name: "list where a mapping goes", yaml: manifest(replacingLine: 9, with: "  - cnn-small"),
    code: .wrongType, keyPath: "model", line: 9),
  MalformedCase(
    name: "grid inside a method", yaml: manifest(replacingLine: 21, with: "    loss: [ce, ce]"),
    code: .gridNotAllowed, keyPath: "methods[0].loss", line: 21),
  MalformedCase(
    name: "number out of range", yaml: manifest(replacingLine: 11, with: "  epochs: 0"),
    code: .invalidValue, keyPath: "train.epochs", line: 11),
  MalformedCase(
    name: "milestones not increasing", yaml: manifest(replacingLine: 18, with: "    milestones: [2, 1]"),
    code: .invalidValue, keyPath: "train.schedule.milestones", line: 18),
  MalformedCase(
    name: "empty seed list", yaml: manifest(replacingLine: 25, with: "seeds: []"),
    code: .emptyList, keyPath: "seeds", line: 25),
  MalformedCase(
    name: "repeated seed", yaml: manifest(replacingLine: 25, with: "seeds: [0, 1, 0]"),
    code: .duplicate, keyPath: "seeds[2]", line: 25),
  MalformedCase(
    name: "name is not the folder's", yaml: manifest(replacingLine: 1, with: "name: other"),
    code: .nameMismatch, keyPath: "name", line: 1),
  MalformedCase(
    name: "bad Slurm time", yaml: baseManifest + "slurm: {time: soon}\n",
    code: .invalidValue, keyPath: "slurm.time", line: 32),
  MalformedCase(
    name: "wrong type inside an overlay", yaml: manifest(replacingLine: 30, with: "    dataset: {max_train: many}"),
    code: .wrongType, keyPath: "profiles.smoke.dataset.max_train", line: 30),
  MalformedCase(
    name: "non-integer width", yaml: manifest(replacingLine: 9, with: "  name: mlp\n  widths: [64, wide]"),
    code: .wrongType, keyPath: "model.widths[1]", line: 10),
  MalformedCase(
    name: "duplicate key", yaml: manifest(replacingLine: 12, with: "  epochs: 4"),
    code: .duplicateKey, keyPath: "epochs", line: 11),
  MalformedCase(
    name: "YAML syntax error", yaml: manifest(replacingLine: 9, with: "  name: [cnn-small"),
    code: .syntax, keyPath: "", line: 10),
  MalformedCase(
    name: "unknown component", yaml: manifest(replacingLine: 24, with: "    components: [validation-prob]"),
    code: .unknownName, keyPath: "methods[1].components[0]", line: 24),
  MalformedCase(
    name: "unknown component parameter",
    yaml: manifest(replacingLine: 24, with: "    components: [{name: validation-probe, tau: 1}]"),
    code: .unknownKey, keyPath: "methods[1].components[0].tau", line: 24),
  MalformedCase(
    name: "components not a list", yaml: manifest(replacingLine: 24, with: "    components: validation-probe"),
    code: .wrongType, keyPath: "methods[1].components", line: 24),
]

@Suite("Manifest validation")
struct ManifestValidationTests {
  @Test("the base test manifest is valid")
  func baseIsValid() {
    #expect(problems(baseManifest).isEmpty)
  }

  @Test("a malformed manifest names the problem's key path and line", arguments: malformedCases)
  func malformed(_ c: MalformedCase) {
    let found = problems(c.yaml)
    #expect(
      found.contains { $0.code == c.code && $0.keyPath == c.keyPath && $0.line == c.line },
      "got: \(found.map(\.description))")
    for problem in found {
      #expect(problem.description.hasPrefix("m.yaml:\(problem.line): "))
      #expect(problem.description.contains("(expected "))
    }
  }

  @Test("every problem of a manifest is reported at once, each once")
  func collectsAll() {
    var yaml = manifest(replacingLine: 4, with: "  name: imagenet")
    yaml = yaml.replacingOccurrences(of: "  epochs: 3", with: "  epochs: -1")
    yaml = yaml.replacingOccurrences(of: "    loss: ce\n  - id: erm-drw", with: "    loss: nope\n  - id: erm-drw")
    let found = problems(yaml)
    #expect(Set(found.map(\.keyPath)) == ["dataset.name", "train.epochs", "methods[0].loss"])
    #expect(found.count == 3, "\(found.map(\.description))")
  }

  @Test("the error text has the form file:line: key.path: what (expected …)")
  func errorText() {
    let found = problems(manifest(replacingLine: 9, with: "  name: vgg16"))
    #expect(
      found.map(\.description) == [
        "m.yaml:9: model.name: unknown model 'vgg16' (expected one of: mlp, cnn-small, resnet32, linf-dist)"
      ])
  }

  @Test("loading several files reports the problems of all of them")
  func loadAllCollects() throws {
    let dir = TempDir()
    try dir.writeManifest(manifest(replacingLine: 9, with: "  name: vgg16"), name: "demo")
    try dir.writeManifest(
      manifest(replacingLine: 1, with: "name: second").replacingOccurrences(of: "seeds: [0, 1, 2]", with: "seeds: [a]"),
      name: "second")
    #expect {
      try ManifestLoader.loadAll(experimentsDir: "\(dir.path)/experiments")
    } throws: { error in
      guard let errors = error as? ManifestErrors else { return false }
      return errors.errors.map(\.keyPath) == ["model.name", "seeds[0]"]
    }
  }
}
