import Methods

/// A job's place in its experiment's grid: the grid axes' key paths and the job's values.
public struct Setting: Hashable, Sendable {
  /// One axis of the grid and the job's value on it.
  public struct Axis: Hashable, Sendable {
    /// The dotted key path into the spec, e.g. `dataset.imbalance.ratio`.
    public var key: String
    /// The job's resolved value at that key.
    public var value: JSON
  }

  /// The axes in manifest order.
  public var axes: [Axis]

  /// Creates a setting.
  public init(axes: [Axis]) { self.axes = axes }

  /// The setting as the result file's `setting` object (key path → value, axis order).
  public var json: JSON { .object(axes.map { ($0.key, $0.value) }) }

  /// A short label for tables, one part per axis joined by spaces: the imbalance profile, dataset name,
  /// model name, noise kind and profile variant (``Variants``) print as their value (`exponential`), the
  /// ratio as `ρ=100`, the noise rate as `noise=0.4`, any other axis as `key=value` with the path's last
  /// key. Empty without axes.
  public var label: String {
    axes.map { axis in
      let value = axis.value.stringValue ?? axis.value.canonical
      switch axis.key {
      case "dataset.imbalance.profile", "dataset.name", "model.name", "dataset.noise.kind", "variant": return value
      case "dataset.imbalance.ratio": return "ρ=\(value)"
      case "dataset.noise.rate": return "noise=\(value)"
      default: return "\(axis.key.split(separator: ".").last.map(String.init) ?? axis.key)=\(value)"
      }
    }.joined(separator: " ")
  }
}

/// Expansion of one (overlaid) manifest document into jobs: grid × methods × seeds.
enum Expansion {
  struct Result {
    var jobs: [ExpandedJob]
    var slurm: SlurmOptions
  }

  /// A grid axis found in the document: its key path and its values' nodes.
  struct Axis {
    var path: [String]
    var values: [ManifestNode]
  }

  static func expand(_ document: ManifestNode, experiment: String, reader: ManifestReader) -> Result {
    guard let root = reader.object(document, path: "", schema: nil) else {
      return Result(jobs: [], slurm: Registry.defaultSlurm)
    }
    let axes = findAxes(document, reader: reader)
    let methods = reader.methodSpecs(root)
    let seeds = reader.seeds(root)
    let slurm = reader.slurm(root)

    var jobs: [ExpandedJob] = []
    for combination in product(axes.map(\.values.count)) {
      var substituted = document
      for (axis, index) in zip(axes, combination) {
        substituted = substituted.replacing(axis.path[...], with: axis.values[index])
      }
      guard let point = reader.object(substituted, path: "", schema: nil) else { continue }
      let dataset = reader.datasetSpec(point)
      let model = reader.modelSpec(point)
      let train = reader.trainSpec(point)
      var setting: Setting?
      for method in methods {
        for seed in seeds {
          let spec = JobSpec(
            experiment: experiment, dataset: dataset, model: model, train: train, method: method, seed: seed)
          if setting == nil {
            setting = resolvedSetting(spec, axes: axes, combination: combination)
          }
          jobs.append(ExpandedJob(spec: spec, setting: setting ?? Setting(axes: [])))
        }
      }
    }
    return Result(jobs: jobs, slurm: slurm)
  }

  /// The setting with each axis's value read back from the resolved spec's JSON (so `1e2` and `100`
  /// give the same setting).
  private static func resolvedSetting(_ spec: JobSpec, axes: [Axis], combination: [Int]) -> Setting {
    let json = try? JSON(encoding: spec)
    return Setting(
      axes: zip(axes, combination).map { axis, index in
        var value: JSON? = json
        for key in axis.path { value = value?[key] }
        return Setting.Axis(key: axis.path.joined(separator: "."), value: value ?? axis.values[index].json)
      })
  }

  /// Every grid axis in document order: a list at a scalar key of `dataset`, `model` or `train`.
  static func findAxes(_ document: ManifestNode, reader: ManifestReader) -> [Axis] {
    var axes: [Axis] = []
    func walk(_ node: ManifestNode, _ path: [String]) {
      for entry in node.entries ?? [] {
        let childPath = path + [entry.key]
        let dotted = childPath.joined(separator: ".")
        if let items = entry.value.items, !Schema.listValued.contains(dotted) {
          if items.isEmpty {
            reader.report(.emptyList, at: entry.value, path: dotted, "empty grid", expected: "at least one value")
          } else {
            axes.append(Axis(path: childPath, values: items))
          }
        } else if entry.value.entries != nil {
          walk(entry.value, childPath)
        }
      }
    }
    for entry in document.entries ?? [] where Schema.gridSections.contains(entry.key) {
      walk(entry.value, [entry.key])
    }
    return axes
  }

  /// Indices of the Cartesian product of `counts`, first axis outermost (one empty combination if none).
  static func product(_ counts: [Int]) -> [[Int]] {
    counts.reduce([[]]) { partial, count in partial.flatMap { prefix in (0..<count).map { prefix + [$0] } } }
  }
}
