import Methods

/// Reading of the JobSpec sections from a (merged, grid-substituted) manifest document, with every
/// optional value filled in so the resolved spec is complete.
extension ManifestReader {
  func datasetSpec(_ root: ObjectReader) -> DatasetSpec {
    guard let o = root.object("dataset", required: true, schema: "dataset") else { return DatasetSpec(name: "") }
    let name = o.string("name", required: true, oneOf: Registry.datasets, what: "dataset") ?? ""
    let imbalance = o.object("imbalance", schema: "dataset.imbalance").map { i in
      ImbalanceSpec(
        profile: i.string("profile", required: true, oneOf: Registry.imbalanceProfiles, what: "imbalance profile")
          ?? "",
        ratio: i.double("ratio", required: true, valid: { $0 >= 1 }, rangeText: "≥ 1") ?? 1,
        selection: i.string("selection", oneOf: Registry.imbalanceSelections, what: "long-tail selection"))
    }
    let noise = o.object("noise", schema: "dataset.noise").map { n in
      NoiseSpec(
        kind: n.string("kind", required: true, oneOf: Registry.noiseKinds, what: "noise kind") ?? "",
        rate: n.double("rate", required: true, valid: { $0 >= 0 && $0 <= 1 }, rangeText: "in [0, 1]") ?? 0,
        generator: n.string("generator", oneOf: Registry.noiseGenerators, what: "noise generator") ?? "counter",
        seed: n.int("seed", min: 0),
        map: n.string("map", oneOf: Registry.noiseMaps, what: "asymmetric noise map"))
    }
    return DatasetSpec(
      name: name, imbalance: imbalance, noise: noise,
      maxTrain: o.int("max_train", min: 1), maxTest: o.int("max_test", min: 1),
      validationPerClass: o.int("validation_per_class", min: 0),
      validationSelection: o.string(
        "validation_selection", oneOf: Registry.validationSelections, what: "validation selection"),
      augment: o.string("augment", oneOf: Registry.augmentations, what: "augmentation") ?? "none",
      seed: o.int("seed", min: 0) ?? 0, classes: o.intList("classes", min: 0, nonEmpty: true))
  }

  func modelSpec(_ root: ObjectReader) -> ModelSpec {
    guard let o = root.object("model", required: true, schema: "model") else { return ModelSpec(name: "") }
    let name = o.string("name", required: true, oneOf: Registry.models, what: "model") ?? ""
    // Widths shape the mlp and the linf-dist net only (NN's `ModelZoo.make` ignores them otherwise), so
    // other models resolve without them: an overlay switching mlp → resnet32 does not carry stale widths.
    var widths = o.intList("widths", min: 1, nonEmpty: true)
    if name == "mlp" {
      if widths == nil && o.value("widths") == nil { widths = Registry.defaultMLPWidths }
    } else if name != "linf-dist" {
      widths = nil
    }
    return ModelSpec(
      name: name, widths: widths,
      initialization: o.string("init", oneOf: Registry.initializations, what: "initialisation") ?? "torch-default")
  }

  func trainSpec(_ root: ObjectReader) -> TrainSpec {
    let placeholder = TrainSpec(
      epochs: 0, batchSize: 0, optimizer: OptimizerSpec(lr: 0), schedule: ScheduleSpec(name: ""))
    guard let o = root.object("train", required: true, schema: "train") else { return placeholder }
    let epochs = o.int("epochs", required: true, min: 1) ?? 0
    let batchSize = o.int("batch_size", required: true, min: 1) ?? 0
    var optimizer = placeholder.optimizer
    if let p = o.object("optimizer", required: true, schema: "train.optimizer") {
      optimizer = OptimizerSpec(
        name: p.string("name", oneOf: Registry.optimizers, what: "optimizer") ?? "sgd",
        lr: p.double("lr", required: true, valid: { $0 > 0 }, rangeText: "> 0") ?? 0,
        momentum: p.double("momentum", valid: { $0 >= 0 && $0 < 1 }, rangeText: "in [0, 1)") ?? 0.9,
        weightDecay: p.double("weight_decay", valid: { $0 >= 0 }, rangeText: "≥ 0") ?? 0,
        nesterov: p.bool("nesterov") ?? false)
    }
    var schedule = placeholder.schedule
    if let s = o.object("schedule", required: true, schema: "train.schedule") {
      let milestones = s.intList("milestones", min: 0) ?? []
      if milestones != milestones.sorted() || Set(milestones).count != milestones.count,
        let node = s.value("milestones")
      {
        report(
          .invalidValue, at: node, path: join(s.path, "milestones"), "milestones \(milestones) are not increasing",
          expected: "strictly increasing epochs")
      }
      schedule = ScheduleSpec(
        name: s.string("name", required: true, oneOf: Registry.schedules, what: "schedule") ?? "",
        warmupEpochs: s.int("warmup_epochs", min: 0) ?? 0, milestones: milestones,
        gamma: s.double("gamma", valid: { $0 > 0 }, rangeText: "> 0") ?? 0.1)
    }
    return TrainSpec(epochs: epochs, batchSize: batchSize, optimizer: optimizer, schedule: schedule)
  }

  /// The `methods` list; ids must be unique.
  func methodSpecs(_ root: ObjectReader) -> [MethodSpec] {
    guard let node = root.value("methods", required: true, expected: "a list of methods") else { return [] }
    guard let items = node.items else {
      report(.wrongType, at: node, path: "methods", "\(node.typeName) is not a list", expected: "a list of methods")
      return []
    }
    if items.isEmpty {
      report(.emptyList, at: node, path: "methods", "no methods", expected: "at least one method")
    }
    var methods: [MethodSpec] = []
    var seen: [String: Int] = [:]
    for (i, item) in items.enumerated() {
      let path = "methods[\(i)]"
      guard let o = object(item, path: path, schema: "method") else { continue }
      let id = o.string("id", required: true, what: "id") ?? ""
      if let idNode = o.value("id"), !id.isEmpty {
        if let first = seen[id] {
          report(
            .duplicate, at: idNode, path: join(path, "id"), "method id '\(id)' is already used by methods[\(first)]",
            expected: "unique method ids")
        } else {
          seen[id] = i
        }
      }
      let loss = lossSpec(o)
      let reweight = o.object("reweight", schema: "method.reweight").map { r in
        ReweightSpec(
          name: r.string("name", required: true, oneOf: Registry.reweights, what: "reweighting") ?? "",
          beta: r.double("beta", valid: { $0 >= 0 && $0 < 1 }, rangeText: "in [0, 1)") ?? 0.9999,
          startEpoch: r.int("start_epoch", min: 0) ?? 0)
      }
      let sampler = o.object("sampler", schema: "method.sampler").map { s in
        let name = s.string("name", required: true, oneOf: Registry.samplers, what: "sampler") ?? ""
        let beta = s.double("beta", valid: { $0 >= 0 && $0 < 1 }, rangeText: "in [0, 1)")
        return SamplerSpec(
          name: name, startEpoch: s.int("start_epoch", min: 0) ?? 0,
          beta: beta ?? (name == "effective-number" ? Registry.defaultSamplerBeta : nil))
      }
      let classifier =
        o.string("classifier", oneOf: Registry.classifiers, what: "classifier")
        ?? MethodSpec.defaultClassifier(forLoss: loss.name)
      methods.append(
        MethodSpec(
          id: id, loss: loss, reweight: reweight, sampler: sampler, classifier: classifier,
          components: componentSpecs(o)))
    }
    return methods
  }

  /// `components: [name, {name: …, key: number-or-word, …}, …]`, each checked against
  /// ``Methods/ComponentRegistry`` (name, parameter names, number or word, allowed words) and resolved
  /// with every parameter's default.
  private func componentSpecs(_ method: ObjectReader) -> [ComponentSpec] {
    let path = join(method.path, "components")
    let names = Registry.components
    let expected = "a list of components (each a name or a mapping with 'name'; \(oneOfText(names)))"
    guard let node = method.value("components") else { return [] }
    guard let items = node.items else {
      report(.wrongType, at: node, path: path, "\(node.typeName) is not a list", expected: expected)
      return []
    }
    var specs: [ComponentSpec] = []
    for (i, item) in items.enumerated() {
      let itemPath = "\(path)[\(i)]"
      if item.entries == nil {
        if let name = string(item, path: itemPath, oneOf: names, what: "component") {
          specs.append((try? ComponentRegistry.resolve(ComponentSpec(name: name))) ?? ComponentSpec(name: name))
        }
        continue
      }
      guard let o = object(item, path: itemPath, schema: nil),
        let name = o.string("name", required: true, oneOf: names, what: "component"),
        let definition = ComponentRegistry.definitions[name]
      else { continue }
      var params: [String: ParameterValue] = [:]
      for entry in item.entries ?? [] where entry.key != "name" {
        let keyPath = join(itemPath, entry.key)
        guard let defaultValue = definition.parameters[entry.key] else {
          let known = definition.parameters.keys.sorted()
          report(
            .unknownKey, at: entry.value, path: keyPath, "component '\(name)' has no parameter '\(entry.key)'",
            expected: known.isEmpty ? "no parameters" : "one of: name, \(known.joined(separator: ", "))",
            line: entry.keyLine)
          continue
        }
        guard let scalar = entry.value.scalar, scalar.kind != .bool else {
          report(
            .wrongType, at: entry.value, path: keyPath, "\(entry.value.typeName) is not a number or a word",
            expected: "a number or a word")
          continue
        }
        let value: ParameterValue = scalar.double.map { .number($0) } ?? .text(scalar.text)
        if let problem = ComponentRegistry.problem(
          of: value, key: entry.key, default: defaultValue, definition: definition)
        {
          report(
            .invalidValue, at: entry.value, path: keyPath, "component '\(name)': '\(entry.key)' \(problem)",
            expected: String(problem.trimmingPrefix("must be ")))
          continue
        }
        params[entry.key] = value
      }
      let spec = ComponentSpec(name: name, params: params)
      specs.append((try? ComponentRegistry.resolve(spec)) ?? spec)
    }
    return specs
  }

  /// `loss: name` or `loss: {name: …, param: number, …}`, resolved with every parameter's default.
  private func lossSpec(_ method: ObjectReader) -> LossSpec {
    let path = join(method.path, "loss")
    let losses = Registry.losses
    guard let node = method.value("loss", required: true, expected: lossExpectation(losses)) else {
      return LossSpec(name: "")
    }
    var name: String?
    var params: [String: Double] = [:]
    if node.entries == nil {
      name = string(node, path: path, oneOf: losses, what: "loss")
    } else if let o = object(node, path: path, schema: nil) {
      name = o.string("name", required: true, oneOf: losses, what: "loss")
      let known = name.flatMap { LossRegistry.parameters[$0] } ?? [:]
      for entry in node.entries ?? [] where entry.key != "name" {
        let keyPath = join(path, entry.key)
        if let name, known[entry.key] == nil {
          report(
            .unknownKey, at: entry.value, path: keyPath, "loss '\(name)' has no parameter '\(entry.key)'",
            expected: known.isEmpty ? "no parameters" : "one of: name, \(known.keys.sorted().joined(separator: ", "))",
            line: entry.keyLine)
        } else if let v = double(entry.value, path: keyPath) {
          params[entry.key] = v
        }
      }
    }
    guard let name else { return LossSpec(name: "") }
    return (try? LossRegistry.resolve(LossSpec(name: name, params: params))) ?? LossSpec(name: name, params: params)
  }

  private func lossExpectation(_ names: [String]) -> String {
    "a loss name (\(oneOfText(names))) or a mapping with 'name'"
  }

  /// The `seeds` list: integers, at least one, no repeats.
  func seeds(_ root: ObjectReader) -> [Int] {
    guard let node = root.value("seeds", required: true, expected: "a list of integer seeds") else { return [] }
    guard let items = node.items else {
      report(.wrongType, at: node, path: "seeds", "\(node.typeName) is not a list", expected: "a list of integer seeds")
      return []
    }
    if items.isEmpty { report(.emptyList, at: node, path: "seeds", "no seeds", expected: "at least one integer seed") }
    var seeds: [Int] = []
    for (i, item) in items.enumerated() {
      guard let seed = int(item, path: "seeds[\(i)]", min: 0) else { continue }
      if seeds.contains(seed) {
        report(.duplicate, at: item, path: "seeds[\(i)]", "seed \(seed) is listed twice", expected: "distinct seeds")
      } else {
        seeds.append(seed)
      }
    }
    return seeds
  }

  /// The `resolve` block: the group-sequential design under which `replicate all --resolve` adds seeds to
  /// inconclusive settings, declared before the first look. `looks` are cumulative paired seeds, the first
  /// equal to the profile's number of seeds (the first look is the base run); `boundary` is `pocock` or
  /// `obrien-fleming`; 5% per side over all looks.
  func resolve(_ root: ObjectReader, seedCount: Int) -> SequentialDesign? {
    guard let o = root.object("resolve", schema: "resolve") else { return nil }
    let names = SequentialDesign.Boundary.allCases.map(\.rawValue)
    let boundary = o.string("boundary", required: true, oneOf: names, what: "boundary").flatMap(
      SequentialDesign.Boundary.init(rawValue:))
    guard let looks = o.intList("looks", required: true, min: 2, nonEmpty: true), let boundary else { return nil }
    let node = o.value("looks")!
    if let problem = SequentialDesign.problem(looks: looks, alpha: 0.05) {
      report(.invalidValue, at: node, path: join(o.path, "looks"), problem, expected: "strictly increasing seed counts")
      return nil
    }
    if looks[0] != seedCount {
      report(
        .invalidValue, at: node, path: join(o.path, "looks"),
        "the first look is \(looks[0]) paired seeds but the profile runs \(seedCount) seeds",
        expected: "looks starting at the number of seeds (\(seedCount)): the first look is the base run")
      return nil
    }
    return SequentialDesign(looks: looks, boundary: boundary)
  }

  /// The `slurm` block: every field optional, defaults from ``Registry/defaultSlurm``.
  func slurm(_ root: ObjectReader) -> SlurmOptions {
    var options = Registry.defaultSlurm
    guard let o = root.object("slurm", schema: "slurm") else { return options }
    if let cpus = o.int("cpus_per_task", min: 1) { options.cpusPerTask = cpus }
    if let node = o.value("time") {
      if let text = node.scalar?.text, SlurmOptions.seconds(ofTime: text) != nil {
        options.time = text
      } else {
        report(
          .invalidValue, at: node, path: join(o.path, "time"), "\(node.typeName) is not a Slurm time",
          expected: "minutes, MM:SS, HH:MM:SS or D-HH[:MM[:SS]] (quote it: \"04:00:00\")")
      }
    }
    if let node = o.value("mem") {
      if let text = node.scalar?.text, SlurmOptions.megabytes(ofMemory: text) != nil {
        options.mem = text
      } else {
        report(
          .invalidValue, at: node, path: join(o.path, "mem"), "\(node.typeName) is not a Slurm memory size",
          expected: "megabytes or a size with a unit K, M, G or T (4G, 500M)")
      }
    }
    return options
  }
}
