import Foundation

extension Report {
  /// `replicate export`: every table cell and every claim of a profile's current plan, in a form other tools
  /// read (CSV or JSON), byte for byte the same for the same results.
  public enum Export {
    /// One cell: a method at a setting on a metric, over the healthy runs (as the report's tables).
    public struct Cell: Sendable {
      /// The experiment.
      public var experiment: String
      /// The method id.
      public var method: String
      /// The setting's label.
      public var setting: String
      /// The setting object (grid key paths and values).
      public var settingJSON: JSON
      /// The metric.
      public var metric: String
      /// Healthy runs with a finite value, by seed.
      public var seeds: [Int]
      /// Their values, in seed order.
      public var values: [Double]
      /// Their job ids, in seed order.
      public var jobs: [String]
      /// Runs left out as degenerate: job id, seed, why (``Report/Degeneracy``).
      public var degenerate: [(job: String, seed: Int?, why: String)]
      /// Runs that failed for another reason: job id, seed, code.
      public var failed: [(job: String, seed: Int?, code: String)]

      /// The statistics of ``values`` (nil when empty).
      public var statistics: SeedStatistics? { SeedStatistics(values) }
    }

    /// The cells of every experiment of `plan`, experiments by name, methods in manifest order, settings in
    /// grid order, metrics by name; only the plan's results are read.
    public static func cells(plan: CurrentPlan, resultsDir: String, experimentsDir: String) -> [Cell] {
      var out: [Cell] = []
      for experiment in plan.experiments {
        let results = ExperimentResults.load(
          experiment: experiment, profile: plan.profile, resultsDir: resultsDir, plan: plan)
        let manifest = ManifestSummary.load(
          experiment: experiment, profile: plan.profile, experimentsDir: experimentsDir)
        let layout = ExperimentLayout(results: results, manifest: manifest)
        // Every metric a run reports, and the manifest's (so a cell whose runs all failed still lists them).
        let metrics = Set(results.runs.flatMap { $0.overall.keys }).union(manifest.metrics).sorted()
        for method in layout.methods {
          for column in layout.columns {
            let runs = layout.runs(method: method, column: column).sorted { ($0.seed, $0.job) < ($1.seed, $1.job) }
            let failures = layout.failures(method: method, column: column)
              .sorted { ($0.seed ?? -1, $0.job) < ($1.seed ?? -1, $1.job) }
            guard !runs.isEmpty || !failures.isEmpty else { continue }
            let healthy = runs.filter { $0.degeneracy == nil }
            var degenerate = runs.compactMap { run in
              run.degeneracy.map { (run.job, Optional(run.seed), $0.description) }
            }
            degenerate += failures.compactMap { f in f.degeneracy.map { (f.job, f.seed, $0.description) } }
            let failed = failures.filter { !$0.isDegenerate }.map { ($0.job, $0.seed, $0.code) }
            for metric in metrics {
              let present = healthy.filter { $0.overall[metric]?.isFinite == true }
              guard !present.isEmpty || !degenerate.isEmpty || !failed.isEmpty else { continue }
              out.append(
                Cell(
                  experiment: experiment, method: method, setting: column.label, settingJSON: column.setting,
                  metric: metric, seeds: present.map(\.seed), values: present.map { $0.overall[metric]! },
                  jobs: present.map(\.job), degenerate: degenerate, failed: failed))
            }
          }
        }
      }
      return out
    }

    /// `{"profile", "cells": [...], "claims": [...]}`, the claims as `diff --format json` writes them.
    public static func json(profile: String, cells: [Cell], diff: DiffReport) -> String {
      let cellsJSON = cells.map { c -> JSON in
        let stats = c.statistics
        return .object([
          ("experiment", .string(c.experiment)), ("method", .string(c.method)), ("setting", .string(c.setting)),
          ("setting_values", c.settingJSON), ("metric", .string(c.metric)), ("n", .int(c.values.count)),
          ("mean", DiffReport.number(stats?.mean)), ("std", DiffReport.number(stats?.std)),
          ("values", .array(c.values.map(JSON.double))), ("seeds", .array(c.seeds.map(JSON.int))),
          ("jobs", .array(c.jobs.map(JSON.string))),
          (
            "degenerate_runs",
            .array(
              c.degenerate.map {
                .object([("job", .string($0.job)), ("seed", $0.seed.map(JSON.int) ?? .null), ("why", .string($0.why))])
              })
          ),
          (
            "failed_runs",
            .array(
              c.failed.map {
                .object([
                  ("job", .string($0.job)), ("seed", $0.seed.map(JSON.int) ?? .null), ("code", .string($0.code)),
                ])
              })
          ),
        ])
      }
      return JSON.object([
        ("profile", .string(profile)), ("cells", .array(cellsJSON)),
        ("claims", .array(diff.claims.map(DiffReport.claimJSON))),
      ]).pretty(indent: 2) + "\n"
    }

    /// The cells as CSV (RFC 4180; lists joined with `;`), header first.
    public static func cellsCSV(_ cells: [Cell]) -> String {
      var rows = [
        [
          "experiment", "method", "setting", "metric", "n", "mean", "std", "values", "seeds", "jobs", "degenerate_runs",
          "failed_runs",
        ]
      ]
      for c in cells {
        let stats = c.statistics
        rows.append([
          c.experiment, c.method, c.setting, c.metric, String(c.values.count), number(stats?.mean), number(stats?.std),
          c.values.map { number($0) }.joined(separator: ";"), c.seeds.map(String.init).joined(separator: ";"),
          c.jobs.joined(separator: ";"),
          c.degenerate.map { "\($0.job) seed \($0.seed.map(String.init) ?? "?"): \($0.why)" }.joined(separator: ";"),
          c.failed.map { "\($0.job) seed \($0.seed.map(String.init) ?? "?"): \($0.code)" }.joined(separator: ";"),
        ])
      }
      return csv(rows)
    }

    /// One row per claim setting with its statistics (the claim's own outcome repeated on each row).
    public static func claimsCSV(_ diff: DiffReport) -> String {
      var rows = [
        [
          "experiment", "claim", "source", "kind", "better", "than", "metric", "claim_outcome", "setting", "outcome",
          "n",
          "mean_d", "se", "ci_low", "ci_high", "level_per_side", "p_contradicted", "holm_rejected", "look",
          "mean_better", "mean_than", "degenerate_runs",
        ]
      ]
      for c in diff.claims {
        for s in c.settings {
          let i = s.interval
          rows.append([
            c.experiment, c.id, c.claim.source.rawValue, c.claim.kind.rawValue, c.claim.better, c.claim.than,
            c.claim.metric, c.outcome.rawValue, s.label, s.outcome.rawValue, String(i?.n ?? 0), number(i?.mean),
            number(i?.standardError), number(i?.low), number(i?.high), number(s.level), number(s.pContradicted),
            s.holmRejected ? "true" : "false", s.look.map { String($0 + 1) } ?? "", number(s.meanBetter),
            number(s.meanThan), s.degenerate.map(\.label).joined(separator: ";"),
          ])
        }
      }
      return csv(rows)
    }

    /// A number as canonical JSON prints it (shortest round-trip), empty when absent or not finite.
    static func number(_ x: Double?) -> String {
      guard let x, x.isFinite else { return "" }
      return JSON.canonicalNumber(x)
    }

    /// RFC 4180 text: fields with a comma, quote or line break quoted, quotes doubled, CRLF-free (LF).
    static func csv(_ rows: [[String]]) -> String {
      rows.map { row in
        row.map { field in
          guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
          return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }.joined(separator: ",")
      }.joined(separator: "\n") + "\n"
    }
  }
}
