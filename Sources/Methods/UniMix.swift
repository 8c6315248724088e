import Engine
import Foundation

/// UniMix (Xu, Chai, Yuan, NeurIPS 2021): a tail-favouring partner sampler and mixing factor, as the
/// official code.
///
/// Per batch with labels y and training counts n:
/// 1. **Sampler.** Each example's partner is drawn i.i.d. with replacement from the same batch with
///    probability p_i = n[y_i]^τ / Σ_k n[y_k]^τ (τ = `unimix_tau`: −0.5 for the CIFAR-10 configs,
///    −0.1 for CIFAR-100; τ = 0 is uniform, τ = −1 balances the classes present in the batch).
/// 2. **Factor.** ξ = c + B with c = n[y2]/(n[y1] + n[y2]) (the partner's share) and
///    B ~ Beta(α, α) (α = `unimix_alp` = 0.8); if ξ > 1 then ξ ← ξ − 1. The inputs mix as
///    ξ·x1 + (1 − ξ)·x2, and the loss as ξ·ℓ(y1) + (1 − ξ)·ℓ(y2) (``MixedTargetLoss``).
/// The factor's law has a closed form with I the Beta(α, α) CDF: mean = c − 1/2 + I(1 − c), and with
/// m = 1 − I(1 − c) = P(ξ < c), the q-quantile is I⁻¹(q + I(1 − c)) − 1 + c for q ≤ m and
/// c + I⁻¹(q − m) otherwise. By the symmetry I(x) = 1 − I(1 − x) these are evaluated as
/// m = I(c), mean = c + 1/2 − I(c) and c − I⁻¹(m − q) for q ≤ m, which stays accurate where
/// q + I(1 − c) is close to 1 (the quantile function is steep there for α > 1).
///
/// **References:**
/// - Xu, Chai, Yuan, "Towards Calibrated Model for Long-Tailed Visual Recognition from Prior
///   Perspective", NeurIPS 2021 (arXiv 2111.03874).
/// - XuZhengzhuo/Prior-LT `core.py` `unimix_sampler`, `unimix_factor`, `unimix`.
public enum UniMix {
  /// The partner probabilities p_i = n[y_i]^τ / Σ_k n[y_k]^τ over the batch positions.
  public static func partnerProbabilities(labels: [Int], classCounts: [Int], tau: Double) -> [Double] {
    let raw = labels.map { pow(Double(classCounts[$0]), tau) }
    let total = raw.reduce(0, +)
    return raw.map { $0 / total }
  }

  /// The probability that a partner has class c: Σ_{i: y_i = c} p_i (0 for classes not in the batch).
  public static func classProbabilities(labels: [Int], classCounts: [Int], tau: Double) -> [Double] {
    var out = [Double](repeating: 0, count: classCounts.count)
    for (y, p) in zip(labels, partnerProbabilities(labels: labels, classCounts: classCounts, tau: tau)) {
      out[y] += p
    }
    return out
  }

  /// Draws one partner index per position from `probabilities` (inverse CDF on one uniform each).
  public static func samplePartners(probabilities: [Double], stream: inout RandomStream) -> [Int] {
    probabilities.indices.map { _ in
      let u = stream.nextDouble()
      var acc = 0.0
      for (i, p) in probabilities.enumerated() {
        acc += p
        if u < acc { return i }
      }
      return probabilities.count - 1
    }
  }

  /// The law of the mixing factor ξ for one pair.
  public struct Factor: Hashable, Sendable {
    /// c = n[y2]/(n[y1] + n[y2]).
    public var base: Double
    /// The Beta(α, α) parameter.
    public var alpha: Double

    /// The factor's law for a pair with counts n1 (the example) and n2 (its partner).
    public init(count1: Int, count2: Int, alpha: Double) {
      precondition(alpha > 0, "alpha must be positive")
      base = Double(count2) / Double(count1 + count2)
      self.alpha = alpha
    }

    /// I(x), the Beta(α, α) CDF.
    func cdf(_ x: Double) -> Double { Statistics.regularizedIncompleteBeta(x, alpha, alpha) }

    /// E[ξ] = c − 1/2 + I(1 − c) = c + 1/2 − I(c).
    public var mean: Double { base + 0.5 - cdf(base) }

    /// The q-quantile of ξ, q ∈ [0, 1].
    public func quantile(_ q: Double) -> Double {
      let m = cdf(base)  // P(ξ < c) = P(B > 1 − c) = I(c)
      if q <= m { return base - Statistics.inverseRegularizedIncompleteBeta(m - q, alpha, alpha) }
      return base + Statistics.inverseRegularizedIncompleteBeta(q - m, alpha, alpha)
    }

    /// One draw of ξ: c + B (minus 1 above 1), B drawn by inverting the Beta CDF at one uniform.
    public func sample(_ stream: inout RandomStream) -> Double {
      let b = Statistics.inverseRegularizedIncompleteBeta(stream.nextDouble(), alpha, alpha)
      let xi = base + b
      return xi > 1 ? xi - 1 : xi
    }
  }
}
