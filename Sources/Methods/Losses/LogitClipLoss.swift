import Engine
import Foundation

/// Logit clipping (Wei et al., ICML 2023) followed by cross-entropy, as the official code.
///
/// Per row, with `norm_i = ‖z_i‖_p + 1e-7`:
/// 1. if norm_i > temp (strict): z̃_i = z_i / norm_i · (1/temp); otherwise z̃_i = z_i;
/// 2. loss = (1/N) Σ_i −log softmax(z̃_i)[t_i]   (unweighted `nn.CrossEntropyLoss`).
/// Code, not paper: the rule compares the norm with `temp` but clips to norm `1/temp` (they agree only
/// for temp = 1); the map is discontinuous. The gradient flows through norm_i:
/// ∂z̃/∂z = (I − z·∇‖z‖_pᵀ/norm)/(norm·temp), with ∇‖z‖_p = sign(z)·|z|^{p−1}/‖z‖_p^{p−1}.
/// Train-time only (`test()` uses raw logits).
///
/// **References:**
/// - Wei, Zhuang, Xie, Feng, Niu, An, Li, "Mitigating Memorization of Noisy Labels by Clipping the
///   Model Prediction", ICML 2023 (arXiv 2212.04055).
/// - hongxin001/LogitClip `algorithms/clip.py` `LogitClipping.train_batch` (`--temp` default 1.0,
///   `--lp` default 2, an integer).
public final class LogitClipLoss: ClassificationLoss {
  /// Ignored: the official loss is unweighted.
  public var classWeights: [Float]?
  /// The threshold temp; clipped rows get norm 1/temp.
  public let temp: Double
  /// The norm order p ≥ 1 (an integer in the code).
  public let p: Int
  /// Which rows of the last batch were clipped (a diagnostic).
  public private(set) var clipped: [Bool] = []
  private var row = SoftmaxRow()
  private var raw: [Double] = []

  /// Creates the loss.
  public init(temp: Double = 1.0, p: Int = 2) {
    precondition(temp > 0, "temp must be positive")
    precondition(p >= 1, "lp must be ≥ 1")
    self.temp = temp
    self.p = p
  }

  /// ‖x‖_p.
  static func norm(_ x: [Double], p: Int) -> Double {
    if p == 1 { return x.reduce(0) { $0 + abs($1) } }
    if p == 2 { return sqrt(x.reduce(0) { $0 + $1 * $1 }) }
    let m = x.reduce(0) { Swift.max($0, abs($1)) }
    if m == 0 { return 0 }
    var s = 0.0
    for v in x { s += pow(abs(v) / m, Double(p)) }
    return m * pow(s, 1 / Double(p))
  }

  public func loss(logits: Tensor, targets: [Int], gradient: Tensor) -> Double {
    let (n, c) = row.begin(logits, targets, gradient)
    if raw.count != c { raw = [Double](repeating: 0, count: c) }
    clipped.removeAll(keepingCapacity: true)
    let inv = n > 0 ? 1 / Double(n) : 0
    var total = 0.0
    for i in 0..<n {
      let t = targets[i]
      let z = logits.pointer + i * c
      for j in 0..<c { raw[j] = Double(z[j]) }
      let pNorm = Self.norm(raw, p: p)
      let norm = pNorm + 1e-7
      let clip = norm > temp
      clipped.append(clip)
      let k = clip ? 1 / (norm * temp) : 1
      for j in 0..<c { row.logits[j] = raw[j] * k }
      row.update()
      total += row.nll(t)
      let g = gradient.pointer + i * c
      if !clip {
        row.writeGradient(g, target: t, factor: inv)
        continue
      }
      // dL/dz = k·(g̃ − (z·g̃)/norm · ∇‖z‖_p), g̃ = softmax(z̃) − e_t.
      var dot = 0.0
      for j in 0..<c { dot += raw[j] * (row.probabilities[j] - (j == t ? 1 : 0)) }
      for j in 0..<c {
        let gt = row.probabilities[j] - (j == t ? 1 : 0)
        let dn = Self.normGradient(raw[j], norm: pNorm, p: p)
        g[j] = Float(inv * k * (gt - dot / norm * dn))
      }
    }
    return total * inv
  }

  /// ∂‖x‖_p/∂x_j = sign(x_j)·(|x_j|/‖x‖_p)^{p−1} (0 at x = 0).
  static func normGradient(_ x: Double, norm: Double, p: Int) -> Double {
    if norm == 0 || x == 0 { return 0 }
    let s: Double = x > 0 ? 1 : -1
    return p == 1 ? s : s * pow(abs(x) / norm, Double(p - 1))
  }
}
