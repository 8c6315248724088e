import Foundation

/// ABSGD's attentional per-example weights with their moving-average normaliser
/// (Qi, Xu, Yin, Jin, Yang, TMLR 2023), as the official code.
///
/// The state u (a scalar, 0 at the start, never reset) lives across steps and epochs. For a batch
/// of per-example losses ℓ_1…ℓ_B at the current λ:
/// - if λ ≥ 200 (the code's "plain mean" sentinel): p_i = 1/B and u is **not** updated;
/// - otherwise: e_i = exp(ℓ_i/λ), u ← (1 − γ)·u + γ·α·mean_i e_i, p_i = e_i/(u·B).
/// The batch loss is Σ_i p_i·ℓ_i with p treated as a constant (`detach_`), so ∂L/∂ℓ_i = p_i.
/// The weights are **not** normalised: starting from u = 0 the first batch's weights sum to
/// 1/(γ·α), and they tend to 1/α. λ > 0 up-weights large losses (imbalance), λ < 0 down-weights them
/// (label noise). Computed in Double (exp(ℓ/λ) would overflow Float32 past ℓ/λ ≈ 88.7).
///
/// **References:**
/// - Qi, Xu, Yin, Jin, Yang, "Attentional-Biased Stochastic Gradient Descent", TMLR 2023
///   (arXiv 2012.06951).
/// - qiqi-helloworld/ABSGD `mylosses.py` `ABSGD.forward` (`train.py`: `--drogamma` γ default 0.1,
///   `--abAlpha` α default 0.5; README runs λ = 5 after 160 epochs of λ = 200).
public struct ABSGDWeights: Sendable, Hashable {
  /// The moving-average parameter γ (`--drogamma`).
  public var gamma: Double
  /// The normalisation parameter α (`--abAlpha`).
  public var alpha: Double
  /// The moving average u of α·mean exp(ℓ/λ).
  public var u: Double

  /// The λ at and above which the code takes the plain mean.
  public static let plainMeanThreshold = 200.0

  /// Creates the state with u = `u` (0 as upstream).
  public init(gamma: Double, alpha: Double, u: Double = 0) {
    self.gamma = gamma
    self.alpha = alpha
    self.u = u
  }

  /// Updates u with this batch and writes its weights p into `weights`; returns Σ_i p_i·ℓ_i.
  public mutating func step(losses: [Double], lambda: Double, weights: inout [Double]) -> Double {
    let b = Double(losses.count)
    weights.removeAll(keepingCapacity: true)
    guard !losses.isEmpty else { return 0 }
    if lambda >= Self.plainMeanThreshold {
      for _ in losses { weights.append(1 / b) }
    } else {
      var meanExp = 0.0
      for l in losses { meanExp += exp(l / lambda) }
      meanExp /= b
      u = (1 - gamma) * u + gamma * alpha * meanExp
      for l in losses { weights.append(exp(l / lambda) / (u * b)) }
    }
    var total = 0.0
    for (p, l) in zip(weights, losses) { total += p * l }
    return total
  }
}
