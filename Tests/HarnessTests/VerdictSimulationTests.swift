import Foundation
import Testing
import _ReplicateTestSupport

@testable import Harness

/// Simulated paired results judged by the real verdict code (``Diff/evaluate(_:experiment:results:design:)``):
/// the false `held` and false `contradicted` rates under no true difference stay at or below the stated 5%
/// per side, degenerate runs and the seeds a group-sequential design adds included; a true difference is
/// found.
@Suite struct VerdictSimulationTests {
  static let claim = Diff.Claim(
    id: "a-beats-b", text: "A beats B", kind: .better, better: "a", than: "b", metric: "top1_error",
    direction: .lower, per: [], along: nil, profiles: nil, setting: [], source: .paper, quote: "Table 1",
    minEffect: nil, margin: nil, line: 1)

  /// One run: error = 20 + seed effect + noise − (effect if A); degenerate (one predicted class on the
  /// training set) with probability `pDegenerate`.
  static func run(
    _ method: String, seed: Int, seedEffect: Double, effect: Double, pDegenerate: Double, _ g: inout TestNormals
  ) -> Report.Run {
    let error = 20 + seedEffect + g.nextNormal() - (method == "a" ? effect : 0)
    let collapsed = g.nextUniform() < pDegenerate
    return Report.Run(
      job: "\(method)\(seed)", spec: .object([("seed", .int(seed))]), setting: .object([]), settingLabel: "all",
      method: method, seed: seed,
      overall: [
        "top1_error": error, "train_predicted_classes": collapsed ? 1 : 10, "train_balanced_error": 10,
      ],
      perClass: ["train_count": Array(repeating: 100, count: 10)], reliability: [:], data: [:], curves: [:])
  }

  /// The final outcome of one simulated setting: judged at the first look, then, while inconclusive short
  /// of the last look, with the seeds `--resolve` would add (``Diff/seedList(base:count:)``).
  static func outcome(
    effect: Double, pDegenerate: Double, design: SequentialDesign?, _ g: inout TestNormals
  ) -> DiffReport.Outcome {
    var runs: [Report.Run] = []
    func addSeeds(_ seeds: [Int]) {
      for seed in seeds {
        let shared = 2 * g.nextNormal()  // init and data order shared by the pair
        runs.append(run("a", seed: seed, seedEffect: shared, effect: effect, pDegenerate: pDegenerate, &g))
        runs.append(run("b", seed: seed, seedEffect: shared, effect: effect, pDegenerate: pDegenerate, &g))
      }
    }
    addSeeds([0, 1, 2])
    while true {
      let results = Report.ExperimentResults(experiment: "sim", runs: runs, failures: [])
      let verdict = Diff.evaluate(claim, experiment: "sim", results: results, design: design)
      guard verdict.outcome == .inconclusive, let next = verdict.settings[0].nextLookSeeds else {
        return verdict.outcome
      }
      let have = Set(runs.map(\.seed))
      addSeeds(Diff.seedList(base: [0, 1, 2], count: next).filter { !have.contains($0) })
    }
  }

  static func rates(
    effect: Double, pDegenerate: Double, design: SequentialDesign?, replications: Int, seed: UInt64
  ) -> [DiffReport.Outcome: Double] {
    var g = TestNormals(seed: seed)
    var counts: [DiffReport.Outcome: Int] = [:]
    for _ in 0..<replications {
      counts[outcome(effect: effect, pDegenerate: pDegenerate, design: design, &g), default: 0] += 1
    }
    return counts.mapValues { Double($0) / Double(replications) }
  }

  static let replications = 3000
  /// Three Monte Carlo standard errors of a 5% rate.
  static let slack = 3 * (0.05 * 0.95 / Double(replications)).squareRoot()

  @Test(
    arguments: [
      (nil, 0.05), (SequentialDesign(looks: [3, 5, 8], boundary: .pocock), 0.0),
      (SequentialDesign(looks: [3, 5, 8], boundary: .pocock), 0.05),
      (SequentialDesign(looks: [3, 5, 8], boundary: .obrienFleming), 0.05),
    ] as [(SequentialDesign?, Double)])
  func noTrueDifferenceStaysWithinTheLevel(design: SequentialDesign?, pDegenerate: Double) {
    let r = Self.rates(effect: 0, pDegenerate: pDegenerate, design: design, replications: Self.replications, seed: 17)
    let held = r[.held, default: 0]
    let contradicted = r[.contradicted, default: 0]
    #expect(held <= 0.05 + Self.slack, "false held \(held)")
    #expect(contradicted <= 0.05 + Self.slack, "false contradicted \(contradicted)")
    // Degenerate comparators make settings invalid, never held.
    if pDegenerate > 0 { #expect(r[.invalid, default: 0] > 0) }
    print("null, design \(design?.summary ?? "fixed 90%"), degenerate \(pDegenerate): \(r)")
  }

  @Test(arguments: [nil, SequentialDesign(looks: [3, 5, 8], boundary: .pocock)] as [SequentialDesign?])
  func aTrueDifferenceIsFoundAndNeverContradicted(design: SequentialDesign?) {
    // Effect 3 noise standard deviations per run (the paired difference has sd √2: 2.1 sd of d).
    let r = Self.rates(effect: 3, pDegenerate: 0.02, design: design, replications: 500, seed: 29)
    #expect(r[.contradicted, default: 0] <= 0.005, "\(r)")
    #expect(r[.held, default: 0] > 0.6, "\(r)")
    print("effect 3, design \(design?.summary ?? "fixed 90%"): \(r)")
  }

  @Test func addedSeedsRaiseThePowerOfTheDesign() {
    let fixed = Self.rates(effect: 1, pDegenerate: 0, design: nil, replications: 500, seed: 31)[.held, default: 0]
    let sequential = Self.rates(
      effect: 1, pDegenerate: 0, design: SequentialDesign(looks: [3, 5, 8], boundary: .pocock), replications: 500,
      seed: 31)[.held, default: 0]
    #expect(sequential > fixed, "held: fixed \(fixed), sequential \(sequential)")
  }
}
