import Foundation
import Methods
import Testing

@testable import Harness

@Suite("Manifest expansion")
struct ManifestExpansionTests {
  @Test("jobs = grid settings × methods × seeds, first axis outermost, then methods, then seeds")
  func countsAndOrder() throws {
    let jobs = try plannedJobs()
    #expect(jobs.count == 2 * 2 * 3)
    let rows = jobs.map { "\($0.spec.dataset.imbalance?.ratio ?? 0)/\($0.methodId)/\($0.seed)" }
    #expect(
      Array(rows.prefix(7)) == [
        "100.0/erm/0", "100.0/erm/1", "100.0/erm/2", "100.0/erm-drw/0", "100.0/erm-drw/1", "100.0/erm-drw/2",
        "10.0/erm/0",
      ])
    #expect(Set(jobs.map(\.id)).count == jobs.count)
  }

  @Test("two grid axes multiply in manifest order and label the setting")
  func twoAxes() throws {
    let yaml = manifest(replacingLine: 6, with: "    profile: [exponential, step]")
    let jobs = try plannedJobs(yaml)
    #expect(jobs.count == 2 * 2 * 2 * 3)
    let labels = jobs.map(\.settingLabel).reduce(into: [String]()) { if $0.last != $1 { $0.append($1) } }
    #expect(labels == ["exponential ρ=100", "exponential ρ=10", "step ρ=100", "step ρ=10"])
    #expect(
      jobs[0].setting.json.canonical == #"{"dataset.imbalance.profile":"exponential","dataset.imbalance.ratio":100}"#)
    #expect(jobs[0].setting.axes.map(\.key) == ["dataset.imbalance.profile", "dataset.imbalance.ratio"])
  }

  @Test("a grid over a train value and over the dataset seed")
  func otherAxes() throws {
    var yaml = manifest(replacingLine: 11, with: "  epochs: [3, 5]")
    yaml = yaml.replacingOccurrences(of: "  name: fashion-mnist", with: "  name: fashion-mnist\n  seed: [0, 1]")
    let jobs = try plannedJobs(yaml)
    #expect(jobs.count == 2 * 2 * 2 * 2 * 3)
    #expect(jobs[0].setting.axes.map(\.key) == ["dataset.seed", "dataset.imbalance.ratio", "train.epochs"])
    #expect(jobs[0].settingLabel == "seed=0 ρ=100 epochs=3")
  }

  @Test("lists at list-typed keys are values, not grid axes")
  func listValues() throws {
    let yaml = manifest(replacingLine: 18, with: "    milestones: [1, 2]")
      .replacingOccurrences(of: "  name: cnn-small", with: "  name: mlp\n  widths: [32, 16]")
    let jobs = try plannedJobs(yaml)
    #expect(jobs.count == 12)
    #expect(jobs[0].spec.train.schedule.milestones == [1, 2])
    #expect(jobs[0].spec.model.widths == [32, 16])
  }

  @Test("dataset.classes is a value (kept classes in order), not a grid axis; absent, the spec leaves it out")
  func datasetClasses() throws {
    let yaml = baseManifest.replacingOccurrences(
      of: "  name: fashion-mnist", with: "  name: fashion-mnist\n  classes: [4, 2]")
    let jobs = try plannedJobs(yaml)
    #expect(jobs.count == 12)
    #expect(jobs[0].spec.dataset.classes == [4, 2])
    let plain = try plannedJobs()
    #expect(plain[0].spec.dataset.classes == nil)
    let json = String(decoding: try JSONEncoder().encode(plain[0].spec.dataset), as: UTF8.self)
    #expect(!json.contains("classes"))
  }

  @Test("the smoke overlay deep-merges: changed keys replaced, the rest kept")
  func overlay() throws {
    let jobs = try plannedJobs(profile: "smoke")
    #expect(jobs.count == 2 * 2 * 1)
    let spec = jobs[0].spec
    #expect(spec.train.epochs == 1)
    #expect(spec.train.batchSize == 64)
    #expect(spec.train.optimizer.lr == 0.1)
    #expect(spec.dataset.maxTrain == 200)
    #expect(spec.dataset.imbalance == ImbalanceSpec(profile: "exponential", ratio: 100))
    #expect(jobs.allSatisfy { $0.profile == "smoke" && $0.seed == 0 })
    // A profile the manifest does not overlay runs the base.
    #expect(try plannedJobs(profile: "paper").map(\.id) == plannedJobs(profile: "default").map(\.id))
  }

  @Test("an overlay refines a method by id, replaces a grid with a value, and removes a value with null")
  func overlayMethodsAndGrid() throws {
    let yaml = baseManifest.replacingOccurrences(
      of: "    dataset: {max_train: 200}\n    seeds: [0]",
      with: """
            seeds: [0]
            methods: {erm-drw: {reweight: {start_epoch: 0}}}
            dataset: {imbalance: {ratio: 50}, max_train: null}
        """)
    let jobs = try plannedJobs(yaml, profile: "smoke")
    #expect(jobs.count == 2)
    #expect(jobs.map(\.spec.method.reweight?.startEpoch) == [nil, 0])
    #expect(jobs[1].spec.method.reweight?.beta == 0.9999)
    #expect(jobs[0].spec.dataset.imbalance?.ratio == 50)
    #expect(jobs[0].spec.dataset.maxTrain == nil)
    #expect(jobs[0].setting.axes.isEmpty && jobs[0].settingLabel == "")
  }

  @Test("an overlay may add an optional block the base lacks; a partial one is reported")
  func overlayAddsBlock() throws {
    let ok = manifest(replacingLine: 30, with: "    dataset: {noise: {kind: symmetric, rate: 0.2}}")
    #expect(try plannedJobs(ok, profile: "smoke")[0].spec.dataset.noise == NoiseSpec(kind: "symmetric", rate: 0.2))
    let partial = manifest(replacingLine: 30, with: "    dataset: {noise: {rate: 0.2}}")
    let found = problems(partial)
    #expect(found.map(\.keyPath) == ["profiles.smoke.dataset.noise.kind"], "\(found)")
    #expect(found.first?.line == 30)
  }

  @Test("every optional value is filled, so the resolved spec is complete")
  func defaults() throws {
    let spec = try plannedJobs()[0].spec
    #expect(
      spec.train.optimizer == OptimizerSpec(name: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 2e-4, nesterov: false))
    #expect(spec.train.schedule == ScheduleSpec(name: "step", warmupEpochs: 0, milestones: [2], gamma: 0.1))
    #expect(spec.model == ModelSpec(name: "cnn-small", widths: nil, initialization: "torch-default"))
    #expect(spec.dataset.augment == "none" && spec.dataset.seed == 0)
    #expect(spec.method.classifier == "linear")
    #expect(spec.method.loss == LossSpec(name: "ce", params: [:]))
    #expect(spec.experiment == "demo")
    let sampler = manifest(replacingLine: 24, with: "    sampler: {name: effective-number}")
    #expect(
      try plannedJobs(sampler)[3].spec.method.sampler
        == SamplerSpec(name: "effective-number", startEpoch: 0, beta: 0.9999))
    let mlp = manifest(replacingLine: 9, with: "  name: mlp")
    #expect(try plannedJobs(mlp)[0].spec.model.widths == Registry.defaultMLPWidths)
    // Widths do not shape other models, so they do not enter their specs.
    let stale = manifest(replacingLine: 9, with: "  name: cnn-small\n  widths: [8]")
    #expect(try plannedJobs(stale)[0].spec.model.widths == nil)
  }

  @Test("every expanded job's spec round-trips through JSON into JobSpec")
  func decodes() throws {
    for profile in Registry.profiles {
      for job in try plannedJobs(profile: profile) {
        let data = try JSONEncoder().encode(job.spec)
        #expect(try JSONDecoder().decode(JobSpec.self, from: data) == job.spec)
      }
    }
  }

  @Test("the schema lists every key of an encoded JobSpec")
  func schemaMirrorsJobSpec() throws {
    let spec = JobSpec(
      experiment: "x",
      dataset: DatasetSpec(
        name: "mnist", imbalance: ImbalanceSpec(profile: "step", ratio: 10),
        noise: NoiseSpec(kind: "symmetric", rate: 0.1),
        maxTrain: 1, maxTest: 1, validationPerClass: 1, augment: "none", seed: 0),
      model: ModelSpec(name: "mlp", widths: [1]),
      train: TrainSpec(epochs: 1, batchSize: 1, optimizer: OptimizerSpec(lr: 1), schedule: ScheduleSpec(name: "step")),
      method: MethodSpec(
        id: "m", loss: LossSpec(name: "ce"), reweight: ReweightSpec(name: "cb"),
        sampler: SamplerSpec(name: "sqrt", beta: 0.5), classifier: "linear"),
      seed: 0)
    let json = try JSON(encoding: spec)
    func check(_ value: JSON, _ schemaPath: String) {
      guard let pairs = value.objectValue else { return }
      let keys = schemaPath.isEmpty ? Schema.top + ["experiment", "method", "seed"] : Schema.objects[schemaPath] ?? []
      for (key, child) in pairs where !(schemaPath == "method" && key == "loss") {
        #expect(keys.contains(key), "JobSpec key \(schemaPath).\(key) is not in the manifest schema")
        let childPath = schemaPath.isEmpty ? (key == "method" ? "method" : key) : "\(schemaPath).\(key)"
        check(child, childPath)
      }
    }
    check(json, "")
  }

  @Test("a numeric grid value prints as the resolved spec has it (1e2 and 100 are one setting)")
  func settingValuesResolved() throws {
    let a = try plannedJobs(manifest(replacingLine: 7, with: "    ratio: [1.0e2]"))
    let b = try plannedJobs(manifest(replacingLine: 7, with: "    ratio: [100]"))
    #expect(a[0].setting == b[0].setting)
    #expect(a.map(\.id) == b.map(\.id))
  }
}

@Suite("Repository manifests")
struct RepositoryManifestTests {
  static let experiments = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("experiments").path

  @Test("every manifest under experiments/ validates, and every job of every profile decodes into JobSpec")
  func repositoryManifests() throws {
    let manifests = try ManifestLoader.loadAll(experimentsDir: Self.experiments)
    #expect(!manifests.isEmpty)
    for manifest in manifests {
      for profile in Registry.profiles {
        let jobs = try testIdentity.plan([manifest], profile: profile)
        #expect(!jobs.isEmpty, "\(manifest.name) has no \(profile) jobs")
        #expect(Set(jobs.map(\.id)).count == jobs.count, "\(manifest.name)/\(profile): duplicate job ids")
        for job in jobs {
          let decoded = try JSONDecoder().decode(JobSpec.self, from: JSONEncoder().encode(job.spec))
          #expect(decoded == job.spec)
        }
      }
    }
  }
}

@Suite("Method overlays")
struct MethodOverlayTests {
  @Test("a list of partial methods refines the base's methods by id and keeps the others")
  func listForm() throws {
    let yaml = baseManifest.replacingOccurrences(
      of: "    seeds: [0]\n", with: "    seeds: [0]\n    methods:\n      - {id: erm-drw, reweight: {start_epoch: 0}}\n")
    let jobs = try plannedJobs(yaml, profile: "smoke")
    #expect(jobs.map(\.methodId) == ["erm", "erm-drw", "erm", "erm-drw"])
    #expect(jobs[1].spec.method.reweight == ReweightSpec(name: "drw", beta: 0.9999, startEpoch: 0))
    #expect(jobs[0].spec.method.reweight == nil)
    #expect(try plannedJobs(yaml)[3].spec.method.reweight?.startEpoch == 2)
  }

  @Test("a partial method without an id, or with an id the base lacks and no loss, is reported at its line")
  func listFormErrors() {
    let noID = baseManifest.replacingOccurrences(
      of: "    seeds: [0]\n", with: "    seeds: [0]\n    methods:\n      - {reweight: {start_epoch: 0}}\n")
    #expect(problems(noID).map { "\($0.line) \($0.keyPath)" } == ["33 profiles.smoke.methods[0].id"])
    let unknown = baseManifest.replacingOccurrences(
      of: "    seeds: [0]\n", with: "    seeds: [0]\n    methods:\n      - {id: ldam, reweight: {start_epoch: 0}}\n")
    #expect(problems(unknown).map { "\($0.line) \($0.code.rawValue)" } == ["33 overlay-unknown-key"])
  }

  @Test("a profile adds a complete new method (one with a loss) after the base's; other profiles do not run it")
  func profileAddsMethod() throws {
    let list = baseManifest.replacingOccurrences(
      of: "    seeds: [0]\n",
      with: "    seeds: [0]\n    methods:\n      - {id: erm-cb, loss: ce, reweight: {name: cb, beta: 0.999}}\n")
    let jobs = try plannedJobs(list, profile: "smoke")
    #expect(jobs.count == 2 * 3)
    #expect(jobs.prefix(3).map(\.methodId) == ["erm", "erm-drw", "erm-cb"])
    #expect(jobs[2].spec.method.reweight == ReweightSpec(name: "cb", beta: 0.999, startEpoch: 0))
    #expect(try plannedJobs(list).map(\.id) == plannedJobs().map(\.id))
    // The mapping form (id → method) adds it too, with its id.
    let mapping = baseManifest.replacingOccurrences(
      of: "    seeds: [0]\n", with: "    seeds: [0]\n    methods: {erm-cb: {loss: ce, reweight: {name: cb}}}\n")
    #expect(try plannedJobs(mapping, profile: "smoke").map(\.methodId).prefix(3) == ["erm", "erm-drw", "erm-cb"])
  }
}

/// `baseManifest` with a `paper` profile that lists `variants` (given as YAML lines at the variants' indent).
func variantManifest(_ variants: String, profileLines: String = "") -> String {
  baseManifest + "  paper:\n    seeds: [0]\n" + profileLines + "    variants:\n" + variants
}

@Suite("Profile variants")
struct ProfileVariantTests {
  let twoVariants = variantManifest(
    """
          - name: small
            dataset: {max_train: 100}
            methods: [{id: erm-drw, reweight: {start_epoch: 1}}]
          - name: large
            dataset: {imbalance: {ratio: 50}}
            train: {epochs: 5}

    """, profileLines: "    methods:\n      - {id: erm-cb, loss: ce, reweight: {name: cb}}\n")

  @Test("each variant overlays the profile and expands on its own; jobs are concatenated in variant order")
  func expansion() throws {
    let jobs = try plannedJobs(twoVariants, profile: "paper")
    // small: ratio grid [100, 10] × 3 methods; large: ratio 50 × 3 methods; one seed.
    #expect(jobs.count == 2 * 3 + 3)
    #expect(
      jobs.map(\.settingLabel) == Array(repeating: "small ρ=100", count: 3) + Array(repeating: "small ρ=10", count: 3)
        + Array(repeating: "large", count: 3))
    #expect(jobs[0].setting.axes.map(\.key) == ["variant", "dataset.imbalance.ratio"])
    #expect(jobs[0].setting.json.compact == #"{"variant":"small","dataset.imbalance.ratio":100}"#)
    #expect(jobs[6].setting.json.compact == #"{"variant":"large"}"#)
    #expect(jobs[0].spec.dataset.maxTrain == 100 && jobs[0].spec.train.epochs == 3)
    #expect(jobs[1].spec.method.reweight?.startEpoch == 1)
    #expect(jobs[6].spec.dataset.maxTrain == nil && jobs[6].spec.train.epochs == 5)
    #expect(jobs[6].spec.dataset.imbalance?.ratio == 50)
    #expect(jobs[7].spec.method.reweight?.startEpoch == 2)
    #expect(jobs.map(\.methodId).prefix(3) == ["erm", "erm-drw", "erm-cb"])
    #expect(jobs.allSatisfy { $0.seed == 0 })
    #expect(Set(jobs.map(\.id)).count == jobs.count)
    // The other profiles are untouched.
    #expect(try plannedJobs(twoVariants).map(\.id) == plannedJobs().map(\.id))
    #expect(try plannedJobs(twoVariants, profile: "smoke").map(\.id) == plannedJobs(profile: "smoke").map(\.id))
  }

  @Test("reports list the methods a profile adds and order variant columns as the manifest lists them")
  func reportSummary() throws {
    let dir = TempDir()
    _ = try dir.writeManifest(twoVariants)
    let summary = Report.ManifestSummary.load(
      experiment: "demo", profile: "paper", experimentsDir: "\(dir.path)/experiments")
    #expect(summary.methods == ["erm", "erm-drw", "erm-cb"])
    #expect(summary.gridValues(at: "variant") == [.string("small"), .string("large")])
    let plain = Report.ManifestSummary.load(
      experiment: "demo", profile: "smoke", experimentsDir: "\(dir.path)/experiments")
    #expect(plain.methods == ["erm", "erm-drw"])
  }

  @Test("a reference row selects a variant through the result's setting")
  func diffSelectsVariant() throws {
    let job = try #require(plannedJobs(twoVariants, profile: "paper").last)
    let run = Report.Run(
      job: job.id, spec: try JSON(encoding: job.spec), setting: job.setting.json, settingLabel: job.setting.label,
      method: job.methodId, seed: 0, overall: ["top1_error": 10], perClass: [:], reliability: [:], data: [:],
      curves: [:])
    #expect(Diff.matches(run, [("variant", .string("large"))]))
    #expect(!Diff.matches(run, [("variant", .string("small"))]))
  }

  @Test("variant problems: duplicate names, identical jobs, keys a variant cannot set, no name, not a list")
  func problemsReported() {
    func found(_ yaml: String) -> [String] { problems(yaml).map { "\($0.code.rawValue) \($0.keyPath)" } }
    let same = "      - {name: a, dataset: {max_train: 100}}\n      - {name: b, dataset: {max_train: 100}}\n"
    #expect(found(variantManifest(same)) == ["duplicate profiles.paper.variants[1]"])
    let names = "      - {name: a, dataset: {max_train: 100}}\n      - {name: a, dataset: {max_train: 50}}\n"
    #expect(found(variantManifest(names)) == ["duplicate profiles.paper.variants[1].name"])
    let slurm = "      - {name: a, slurm: {mem: 2G}}\n"
    #expect(found(variantManifest(slurm)) == ["overlay-unknown-key profiles.paper.variants[0].slurm"])
    let unnamed = "      - {dataset: {max_train: 100}}\n"
    #expect(found(variantManifest(unnamed)) == ["missing-key profiles.paper.variants[0].name"])
    #expect(found(baseManifest + "  paper:\n    variants: {a: 1}\n") == ["wrong-type profiles.paper.variants"])
    let badValue = "      - {name: a, train: {epochs: 0}}\n"
    #expect(found(variantManifest(badValue)) == ["invalid-value profiles.paper.variants[a].train.epochs"])
  }
}

@Suite("Noise settings")
struct NoiseSettingTests {
  @Test("noise resolves with the counter generator by default and keeps a numpy-legacy seed")
  func noiseResolution() throws {
    let plain = manifest(replacingLine: 4, with: "  name: fashion-mnist\n  noise: {kind: symmetric, rate: 0.2}")
    let parity = manifest(
      replacingLine: 4, with: "  name: fashion-mnist\n  noise: {kind: asymmetric, rate: 0.4, generator: numpy-legacy, seed: 123}")
    let a = try ManifestLoader.parse(yaml: plain, file: "demo/manifest.yaml", folderName: "demo")
    let b = try ManifestLoader.parse(yaml: parity, file: "demo/manifest.yaml", folderName: "demo")
    let na = try #require(a.jobs(profile: "default").first?.spec.dataset.noise)
    let nb = try #require(b.jobs(profile: "default").first?.spec.dataset.noise)
    #expect(na == NoiseSpec(kind: "symmetric", rate: 0.2, generator: "counter"))
    #expect(nb == NoiseSpec(kind: "asymmetric", rate: 0.4, generator: "numpy-legacy", seed: 123))
  }
}

