import Foundation
import Methods

extension Report {
  /// A one-line description of the protocol a profile runs, derived from the manifest's expanded jobs so it
  /// cannot drift from them: `fashion-mnist LT exponential/step ρ 10/100; mlp 256-256; 20 epochs; 3 seeds`.
  public enum ProtocolSummary {
    /// The protocol of `profile` and of the `paper` profile (nil when the manifest has no paper jobs or
    /// does not load; the strict loader's errors belong to `validate`).
    public static func describe(experiment: String, profile: String, experimentsDir: String) -> (
      run: String, paper: String?
    ) {
      let path = (experimentsDir as NSString).appendingPathComponent("\(experiment)/manifest.yaml")
      return describe(manifest: try? ManifestLoader.load(file: path), profile: profile)
    }

    /// ``describe(experiment:profile:experimentsDir:)`` of a manifest already loaded (nil: it does not load).
    static func describe(manifest: Manifest?, profile: String) -> (run: String, paper: String?) {
      guard let manifest else { return ("—", nil) }
      // The manifest's own jobs: seeds `--resolve` added to some settings are noted, not counted.
      var run = describe((manifest.expansions[profile] ?? []).map(\.spec))
      if manifest.addedSeeds.entries.contains(where: { $0.profile == profile }) {
        run += " (more where `--resolve` added seeds)"
      }
      let paper = profile == "paper" ? nil : describe((manifest.expansions["paper"] ?? []).map(\.spec))
      return (run.isEmpty ? "—" : "\(profile): \(run)", paper.flatMap { $0.isEmpty ? nil : "paper: \($0)" })
    }

    /// The description of a set of job specs; empty when there are none.
    public static func describe(_ specs: [JobSpec]) -> String {
      guard !specs.isEmpty else { return "" }
      func distinct<T: Hashable>(_ f: (JobSpec) -> T?) -> [T] {
        var seen: Set<T> = []
        var out: [T] = []
        for s in specs { if let v = f(s), seen.insert(v).inserted { out.append(v) } }
        return out
      }
      var data = distinct { $0.dataset.name }.joined(separator: "/")
      let profiles = distinct { $0.dataset.imbalance?.profile }
      if !profiles.isEmpty {
        let ratios = distinct { $0.dataset.imbalance?.ratio }.sorted().map { FixedDecimal.compact($0) }
        data += "-LT \(profiles.joined(separator: "/")) ρ \(ratios.joined(separator: "/"))"
      }
      let noise = distinct { s in s.dataset.noise.map { "\($0.kind) \(FixedDecimal.compact(100 * $0.rate))%" } }
      if !noise.isEmpty { data += ", noise \(noise.joined(separator: "/"))" }
      if let n = distinct({ $0.dataset.maxTrain }).first, distinct({ $0.dataset.maxTrain }).count == 1 {
        data += ", ≤ \(n) training images"
      }
      let models = distinct { s in
        s.model.name + (s.model.widths.map { w in " " + w.map(String.init).joined(separator: "-") } ?? "")
      }
      let epochs = distinct { $0.train.epochs }.sorted().map(String.init)
      let seeds = distinct { $0.seed }.count
      return
        "\(data); \(models.joined(separator: "/")); \(epochs.joined(separator: "/")) epochs; \(seeds) seed\(seeds == 1 ? "" : "s")"
    }
  }
}
