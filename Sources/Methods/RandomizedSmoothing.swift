import Foundation

/// Certification and prediction of a Gaussian-smoothed classifier (Cohen, Rosenfeld, Kolter,
/// ICML 2019), the statistics of `Smooth.certify` and `Smooth.predict`, in Double as SciPy.
///
/// CERTIFY: with n_A the count of the top class (chosen on a separate selection sample) among n
/// noisy predictions,
/// 1. p̲_A = the one-sided (1 − α) Clopper–Pearson lower bound = BetaInv(α; n_A, n − n_A + 1)
///    (statsmodels `proportion_confint(n_A, n, alpha=2α, method="beta")[0]`); 0 when n_A = 0,
///    α^{1/n} when n_A = n;
/// 2. abstain if p̲_A < 1/2 (radius 0), else radius R = σ·Φ⁻¹(p̲_A).
/// PREDICT: with the top-two counts n_A ≥ n_B, abstain when the two-sided exact binomial test of
/// n_A successes in n_A + n_B trials at p = 1/2 has p-value > α (SciPy's `binomtest`; upstream's
/// removed `binom_test` computes the same).
///
/// **References:**
/// - Cohen, Rosenfeld, Kolter, "Certified Adversarial Robustness via Randomized Smoothing",
///   ICML 2019, Alg. CERTIFY and PREDICT.
/// - jh-jeong/smoothmix `code/third_party/core.py` `Smooth.certify`, `Smooth.predict`,
///   `Smooth._lower_confidence_bound` (a copy of locuslab/smoothing `code/core.py`).
public enum RandomizedSmoothing {
  /// A certification outcome.
  public struct Certificate: Hashable, Sendable {
    /// The lower confidence bound p̲_A on the top class's probability.
    public var pLower: Double
    /// The certified ℓ2 radius σ·Φ⁻¹(p̲_A) (0 when abstaining).
    public var radius: Double
    /// Whether the smoothed classifier abstains (p̲_A < 1/2).
    public var abstain: Bool
  }

  /// A prediction test outcome.
  public struct PredictionTest: Hashable, Sendable {
    /// The two-sided binomial test's p-value.
    public var pValue: Double
    /// Whether the smoothed classifier abstains (p-value > α).
    public var abstain: Bool
  }

  /// The one-sided (1 − α) Clopper–Pearson lower bound on a binomial proportion from `successes`
  /// of `trials`: the α-quantile of Beta(successes, trials − successes + 1), and 0 for no successes.
  public static func lowerConfidenceBound(successes: Int, trials: Int, alpha: Double) -> Double {
    precondition(trials > 0 && successes >= 0 && successes <= trials, "need 0 ≤ successes ≤ trials, trials > 0")
    if successes == 0 { return 0 }
    return Statistics.inverseRegularizedIncompleteBeta(
      alpha, Double(successes), Double(trials - successes + 1))
  }

  /// CERTIFY's statistics for n_A top-class counts among n samples at noise level σ.
  public static func certify(nA: Int, n: Int, alpha: Double, sigma: Double) -> Certificate {
    let pLower = lowerConfidenceBound(successes: nA, trials: n, alpha: alpha)
    if pLower < 0.5 { return Certificate(pLower: pLower, radius: 0, abstain: true) }
    return Certificate(pLower: pLower, radius: sigma * Statistics.normalQuantile(pLower), abstain: false)
  }

  /// PREDICT's test for the top-two counts n_A ≥ n_B.
  public static func predict(nA: Int, nB: Int, alpha: Double) -> PredictionTest {
    let p = Statistics.binomialTestTwoSided(nA, nA + nB, 0.5)
    return PredictionTest(pValue: p, abstain: p > alpha)
  }
}
