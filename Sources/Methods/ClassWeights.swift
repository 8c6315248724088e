import Foundation

/// Per-class loss weights computed from the training counts.
public enum ClassWeights {
  /// Class-balanced weights by effective number (Cui et al., CVPR 2019), as LDAM-DRW's code.
  ///
  /// 1. w_c = (1 − β)/(1 − β^{n_c})   (the inverse of the effective number (1 − β^n)/(1 − β))
  /// 2. w ← w / Σ_c w_c · C            (so Σ_c w_c = C)
  /// 3. rounded to Float32, as upstream stores them in a `torch.FloatTensor`.
  ///
  /// β = 0 gives all ones (DRW's first stage); β → 1 tends to inverse frequency. Steps 1–2 are in
  /// Double, as NumPy computes them.
  ///
  /// **References:**
  /// - Cui, Jia, Lin, Song, Belongie, "Class-Balanced Loss Based on Effective Number of Samples",
  ///   CVPR 2019.
  /// - kaidic/LDAM-DRW `cifar_train.py`, the `Reweight`/`DRW` branches of the epoch loop
  ///   (DRW: β = [0, 0.9999][epoch // 160]).
  public static func effectiveNumber(classCounts: [Int], beta: Double) -> [Float] {
    precondition(beta >= 0 && beta < 1, "beta must be in [0, 1)")
    precondition(classCounts.allSatisfy { $0 >= 1 }, "class counts must be ≥ 1")
    let raw = classCounts.map { (1 - beta) / (1 - pow(beta, Double($0))) }
    let total = raw.reduce(0, +)
    return raw.map { Float($0 / total * Double(classCounts.count)) }
  }

  /// DRW's weights at a 0-based epoch: all ones before `startEpoch`, then
  /// ``effectiveNumber(classCounts:beta:)`` with `beta` (LDAM-DRW: start 160, β = 0.9999).
  public static func deferred(classCounts: [Int], epoch: Int, startEpoch: Int, beta: Double = 0.9999) -> [Float] {
    effectiveNumber(classCounts: classCounts, beta: epoch < startEpoch ? 0 : beta)
  }
}
