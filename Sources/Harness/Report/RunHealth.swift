import Foundation

extension Report {
  /// Why a run is degenerate: it diverged, or its final training predictions collapsed.
  ///
  /// The rule is stated once, here, and used by tables, failure lists and verdicts (DESIGN.md, Verdicts).
  /// It reads training quantities only, never the test set, so it cannot select on the outcome a claim
  /// judges. A run is degenerate when
  /// 1. its loss or a metric became non-finite (a failure file with code `non-finite-loss`, or a result
  ///    with a non-finite metric); crashes, bad data and bad specs are errors to rerun, not outcomes;
  /// 2. its final model predicts a single class on its training set (`train_predicted_classes` = 1 with
  ///    C > 1 classes);
  /// 3. its balanced training error is within ``chanceMargin`` points of chance, 100·(1 − 1/C);
  /// 4. **partial collapse:** its final model predicts fewer than half of the C classes on its training
  ///    set (`train_predicted_classes` < C/2, e.g. 4 of 10), whatever its error. No method of these papers
  ///    aims to never predict half of the classes it trains on, so such a run did not train as intended
  ///    even when it is far from chance.
  ///
  /// Unweighted training error is no test: re-weighting methods rightly trade majority accuracy away.
  /// A result written before training predictions were recorded (no `train_predicted_classes`) is judged
  /// by rule 1 only.
  public struct Degeneracy: Sendable, Equatable, CustomStringConvertible {
    /// The kind of degeneracy.
    public enum Kind: String, Sendable {
      /// The loss became non-finite (a `non-finite-loss` failure file).
      case diverged
      /// A metric of the result is not a finite number.
      case nonFiniteMetric = "non-finite-metric"
      /// One predicted class on the training set.
      case collapsed
      /// Fewer than half of the classes predicted on the training set.
      case partialCollapse = "partial-collapse"
      /// Balanced training error within ``Degeneracy/chanceMargin`` points of chance.
      case chance = "at-chance"
    }
    /// The kind.
    public var kind: Kind
    /// What was seen, for a person (`predicts 1 of 10 classes on the training set`).
    public var message: String

    /// Creates a degeneracy.
    public init(_ kind: Kind, _ message: String) {
      self.kind = kind
      self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }

    /// Points of balanced training error below chance that still count as chance.
    public static let chanceMargin = 2.0

    /// Failure codes that are outcomes of the spec (degenerate runs), as opposed to errors to rerun.
    public static let outcomeFailureCodes: Set<String> = ["non-finite-loss", "non-finite-metric"]

    /// The degeneracy of a result by rules 2–4 (rule 1 is the caller's: failure files and non-finite
    /// metrics), from `metrics.overall` and the number of classes `classes` (nil when unknown: only the
    /// single-class rule applies then).
    public static func judge(overall: [String: Double], classes: Int?) -> Degeneracy? {
      guard let predicted = overall["train_predicted_classes"], predicted.isFinite else { return nil }
      let k = Int(predicted)
      if k <= 1 && (classes ?? 2) > 1 {
        return Degeneracy(.collapsed, "predicts \(k) class\(k == 1 ? "" : "es") on the training set")
      }
      guard let c = classes, c > 1 else { return nil }
      let chance = 100 * (1 - 1 / Double(c))
      if let e = overall["train_balanced_error"], e.isFinite, e >= chance - chanceMargin {
        return Degeneracy(
          .chance,
          "balanced training error \(FixedDecimal.fixed(e, digits: 2)) within \(FixedDecimal.fixed(chanceMargin, digits: 0)) points of chance \(FixedDecimal.fixed(chance, digits: 2))"
        )
      }
      if 2 * k < c {
        return Degeneracy(.partialCollapse, "predicts \(k) of \(c) classes on the training set")
      }
      return nil
    }
  }
}

extension Report.Run {
  /// The number of classes: the length of `per_class.train_count` (or `per_class.accuracy`).
  public var classCount: Int? {
    (perClass["train_count"] ?? perClass["accuracy"]).map(\.count).flatMap { $0 > 0 ? $0 : nil }
  }
}

extension Report.FailedRun {
  /// Whether the failure is an outcome of the spec (a degenerate run: the loss or a metric went
  /// non-finite), rather than an error to rerun (a crash, bad data, an unreadable file).
  public var isDegenerate: Bool { Report.Degeneracy.outcomeFailureCodes.contains(code) }

  /// The degeneracy when ``isDegenerate``.
  public var degeneracy: Report.Degeneracy? {
    guard isDegenerate else { return nil }
    return Report.Degeneracy(code == "non-finite-loss" ? .diverged : .nonFiniteMetric, message)
  }
}
