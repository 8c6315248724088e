import Foundation

extension Diff {
  /// Claims that are the same test twice: two claims of one experiment, of the same kind, whose paired
  /// evidence is the same numbers (to nine significant digits) in every result of some profile — the same pairs (setting and seed) with
  /// identical values for both methods. This catches a claim restated on a metric that equals another on
  /// this data (top-1 and balanced error on a balanced test set) and two rows that are the same loss under
  /// two names. `replicate validate` reports each as a `duplicate` error (exit 2) naming both claims.
  public static func duplicateClaims(
    _ files: [(String, ReferenceFile)], resultsDir: String, profiles: [String], plans: [String: CurrentPlan] = [:]
  ) -> [ReferenceFileError] {
    var errors: [ReferenceFileError] = []
    for (experiment, file) in files {
      var reported: Set<String> = []
      for profile in profiles {
        let results = Report.ExperimentResults.load(
          experiment: experiment, profile: profile, resultsDir: resultsDir, plan: plans[profile])
        guard !results.runs.isEmpty else { continue }
        let applicable = file.claims.filter { $0.profiles?.contains(profile) ?? true }
        let signatures = applicable.map { evidenceSignature($0, results: results) }
        for i in applicable.indices {
          for j in applicable.indices where j > i {
            let (a, b) = (applicable[i], applicable[j])
            guard a.kind == b.kind, a.along == b.along, let sa = signatures[i], sa == signatures[j],
              reported.insert("\(a.id)\u{0}\(b.id)").inserted
            else { continue }
            errors.append(
              ReferenceFileError(
                .duplicate, file: file.path, keyPath: "claims (\(b.id))", line: b.line,
                "a claim that is not the same test as '\(a.id)' (line \(a.line)): on the \(profile) results both "
                  + "compare the same pairs with identical values (\(a.metric) vs \(b.metric)); keep the one the paper states"
              ))
          }
        }
      }
    }
    return errors
  }

  /// The sorted (pair key, A value, B value) triples a claim compares, values to nine significant digits, as
  /// text; nil when it has no pairs.
  static func evidenceSignature(_ claim: Claim, results: Report.ExperimentResults) -> String? {
    let obs = Observation.of(claim, results: results)
    var a: [String: Double] = [:]
    var b: [String: Double] = [:]
    for o in obs {
      guard let v = o.value else { continue }
      if o.method == claim.better { a[o.pairKey] = v } else { b[o.pairKey] = v }
    }
    let keys = Set(a.keys).intersection(b.keys).sorted()
    guard !keys.isEmpty else { return nil }
    // Nine significant digits: top-1 and balanced error on a balanced test set differ by ~1e-14 in rounding.
    func text(_ x: Double) -> String { String(format: "%.9g", x) }
    return keys.map { "\($0)=\(text(a[$0]!)),\(text(b[$0]!))" }.joined(separator: ";")
  }
}
