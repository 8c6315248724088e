import Methods

/// Profile variants: a profile that lists `variants` runs several overlays of itself, each expanded on its
/// own and the jobs concatenated.
///
/// A grid is a Cartesian product over `dataset`/`model`/`train` keys, and a method's parameters are the
/// same at every grid point. A paper's table often pairs each setting with its own hyper-parameters
/// (ℓ∞-dist nets: ε_train, λ schedule and depth per dataset and ε; SmoothMix: T, α, η per σ), which no
/// product expresses. A variant is one such setting:
///
/// ```yaml
/// profiles:
///   paper:
///     seeds: [0]
///     variants:
///       - {name: mnist-eps0.1, dataset: {name: mnist}, methods: [{id: v2, components: [...]}]}
///       - {name: cifar10-eps8, dataset: {name: cifar10}, model: {widths: [...]}, methods: [...]}
/// ```
///
/// Each variant is a mapping with a unique `name` and any of `dataset`, `model`, `train`, `methods`,
/// `seeds`, merged (``Overlay``) into the profile's document (the base with the profile's other keys);
/// list-valued settings inside a variant still make a grid. Every job of a variant gets the leading
/// setting axis `variant` = its name (a result's `setting`, reference rows select it with
/// `setting: {variant: NAME}`), and two variants may not give the same job (a result has one setting).
enum Variants {
  /// The keys a variant may hold.
  static let keys = ["name", "dataset", "model", "train", "methods", "seeds"]

  /// One variant: its name and its overlay (without `name`).
  struct Variant {
    var name: String
    var overlay: ManifestNode
    var node: ManifestNode
    var path: String
  }

  /// The profile overlay without its `variants` key, and the variants it lists (empty without the key).
  static func split(_ overlay: ManifestNode, profile: String, reader: ManifestReader) -> (ManifestNode, [Variant]) {
    guard let entries = overlay.entries, let list = overlay["variants"] else { return (overlay, []) }
    let rest = ManifestNode(kind: .mapping(entries.filter { $0.key != "variants" }), line: overlay.line)
    let path = "profiles.\(profile).variants"
    guard let items = list.items, !items.isEmpty else {
      reader.report(
        .wrongType, at: list, path: path, "\(list.typeName) is not a non-empty list",
        expected: "a list of variants, each a mapping with a name")
      return (rest, [])
    }
    var variants: [Variant] = []
    for (i, item) in items.enumerated() {
      let itemPath = "\(path)[\(i)]"
      guard let itemEntries = item.entries else {
        reader.report(
          .wrongType, at: item, path: itemPath, "\(item.typeName) is not a mapping",
          expected: "a mapping with a name and keys of \(keys.joined(separator: ", "))")
        continue
      }
      for entry in itemEntries where !keys.contains(entry.key) {
        reader.report(
          .overlayUnknownKey, at: entry.value, path: "\(itemPath).\(entry.key)",
          "a variant cannot set '\(entry.key)'", expected: "one of: \(keys.joined(separator: ", "))",
          line: entry.keyLine)
      }
      guard let nameNode = item["name"], let name = reader.string(nameNode, path: "\(itemPath).name", what: "name")
      else {
        if item["name"] == nil {
          reader.report(.missingKey, at: item, path: "\(itemPath).name", "a variant needs a name", expected: "a name")
        }
        continue
      }
      if variants.contains(where: { $0.name == name }) {
        reader.report(
          .duplicate, at: nameNode, path: "\(itemPath).name", "variant name '\(name)' is used twice",
          expected: "distinct variant names")
        continue
      }
      let overlay = ManifestNode(
        kind: .mapping(itemEntries.filter { $0.key != "name" && keys.contains($0.key) }), line: item.line)
      variants.append(Variant(name: name, overlay: overlay, node: item, path: itemPath))
    }
    return (rest, variants)
  }

  /// The jobs of every variant of `document` (the profile's document without `variants`), in variant
  /// order, each setting prefixed with the `variant` axis.
  static func expand(
    _ variants: [Variant], document: ManifestNode, profile: String, experiment: String, reader: ManifestReader
  ) -> [ExpandedJob] {
    var jobs: [ExpandedJob] = []
    var owner: [JobSpec: String] = [:]
    for variant in variants {
      let merged = Overlay.apply(
        variant.overlay, to: document, profile: "\(profile).variants[\(variant.name)]", reader: reader)
      var reported = false
      for var job in Expansion.expand(merged, experiment: experiment, reader: reader).jobs {
        if let first = owner[job.spec] {
          if reported { continue }
          reported = true
          reader.report(
            .duplicate, at: variant.node, path: variant.path,
            "variant '\(variant.name)' gives the same job as variant '\(first)' (method \(job.spec.method.id), "
              + "seed \(job.spec.seed))", expected: "variants whose jobs differ (a result belongs to one setting)")
          continue
        }
        owner[job.spec] = variant.name
        job.setting.axes.insert(Setting.Axis(key: "variant", value: .string(variant.name)), at: 0)
        jobs.append(job)
      }
    }
    return jobs
  }
}
