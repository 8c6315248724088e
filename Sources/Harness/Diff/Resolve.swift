import Foundation

extension Diff {
  /// Seeds `replicate all --resolve` adds next: for every claim of an experiment whose manifest declares a
  /// group-sequential design for `profile` (`resolve:`), each inconclusive setting that has not reached its
  /// design's last look gets the two methods' seeds up to the next look, in every grid setting it compares.
  /// Seeds are the profile's own, then the integers after the largest, so A and B (and every claim that
  /// shares a method and setting) draw the same seeds and stay paired. Held, contradicted and invalid
  /// settings get nothing, nor do settings at their last look: the design caps the seeds.
  ///
  /// Returns, per experiment, its updated ``ResolveSeeds`` and one line per addition; empty when nothing is
  /// left to add.
  public static func resolveAdditions(
    profile: String, resultsDir: String, experimentsDir: String, plan: CurrentPlan? = nil
  ) throws
    -> [(experiment: String, file: String, seeds: ResolveSeeds, lines: [String])]
  {
    let files = try loadReferenceFiles(experimentsDir: experimentsDir)
    var out: [(String, String, ResolveSeeds, [String])] = []
    for (experiment, file) in files {
      let path = (experimentsDir as NSString).appendingPathComponent("\(experiment)/manifest.yaml")
      guard let manifest = try? ManifestLoader.load(file: path), let design = manifest.design(profile: profile) else {
        continue
      }
      let results = Report.ExperimentResults.load(
        experiment: experiment, profile: profile, resultsDir: resultsDir, plan: plan)
      let base = Set((manifest.expansions[profile] ?? []).map(\.spec.seed)).sorted()
      var seeds = manifest.addedSeeds
      var lines: [String] = []
      for claim in file.claims where claim.profiles?.contains(profile) ?? true {
        let result = evaluate(claim, experiment: experiment, results: results, design: design)
        guard result.outcome == .inconclusive else { continue }
        for setting in result.settings where setting.outcome == .inconclusive {
          guard let target = setting.nextLookSeeds else { continue }
          let wanted = seedList(base: base, count: target)
          let added = wanted.filter { !base.contains($0) }
          let before = seeds
          for grid in setting.gridSettings {
            seeds.add(profile: profile, methods: [claim.better, claim.than], setting: grid, seeds: added)
          }
          if seeds != before {
            lines.append(
              "\(experiment)/\(claim.id) [\(setting.label)]: \(claim.better) and \(claim.than) to \(target) seeds "
                + "(adds \(added.map(String.init).joined(separator: ", ")))")
          }
        }
      }
      if seeds != manifest.addedSeeds {
        out.append((experiment, ResolveSeeds.path(besideManifest: path), seeds, lines))
      }
    }
    return out
  }

  /// The first `count` seeds of a setting: the profile's seeds ascending, then the integers after the largest.
  static func seedList(base: [Int], count: Int) -> [Int] {
    var out = Array(base.prefix(count))
    var next = (base.max() ?? -1) + 1
    while out.count < count {
      out.append(next)
      next += 1
    }
    return out
  }
}
