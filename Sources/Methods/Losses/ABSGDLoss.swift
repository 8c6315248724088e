import Engine
import Foundation

/// ABSGD's loss module: a per-example base loss re-weighted by ``ABSGDWeights`` (the official
/// `abce`, `abfocal` and `abldam` loss types).
///
/// Per batch:
/// 1. per-example losses ℓ_i by ``criterion``, with class weights w inside (1 when unset):
///    `ce`: w[t_i]·nll_i; `focal`: (1 − e^{−c})^{γ_f}·c with c = w[t_i]·nll_i; `ldam`: w[t_i]·ℓ^{LDAM}_i
///    with max_m = 0.5, s = 30 fixed;
/// 2. weights p = ``ABSGDWeights/step(losses:lambda:weights:)`` at the current ``lambda``
///    (moving-average state u carried across calls);
/// 3. loss = Σ_i p_i·ℓ_i, with p constant for the gradient: ∂loss/∂z_i = p_i·∂ℓ_i/∂z_i.
/// Code quirk: at λ ≥ 200, loss = Σ_i w[t_i]·nll_i / N, not the weighted mean of plain `ce`.
/// `uniformFloor` (registered as `abce-noisy`) is the noisy-label `ABLoss` of `noisy_label/loss.py`:
/// p_i + 1/B in the weighted branch.
/// A two-stage schedule (λ = 200 until `lamda_shots`, then λ) sets ``lambda`` at an epoch.
///
/// **References:**
/// - Qi, Xu, Yin, Jin, Yang, "Attentional-Biased Stochastic Gradient Descent", TMLR 2023.
/// - qiqi-helloworld/ABSGD `mylosses.py` `ABSGD.forward`, `CBCELoss`, `FocalLoss`, `LDAMLoss`.
public final class ABSGDLoss: ClassificationLoss {
  /// The base per-example loss.
  public enum Criterion: Sendable, Hashable {
    /// Weighted cross-entropy (`abce`).
    case crossEntropy
    /// Focal loss with exponent γ_f (`abfocal`, `--gamma`).
    case focal(gamma: Double)
    /// LDAM with the training counts, max_m = 0.5, s = 30 (`abldam`).
    case ldam(classCounts: [Int])
  }

  public var classWeights: [Float]? {
    didSet { ldam?.classWeights = classWeights }
  }
  /// The base loss.
  public let criterion: Criterion
  /// The current λ (≥ 200: plain mean).
  public var lambda: Double
  /// The weighting state (u).
  public var state: ABSGDWeights
  /// The last batch's per-example losses ℓ_i.
  public private(set) var perExampleLosses: [Double] = []
  /// The last batch's weights p_i.
  public private(set) var weights: [Double] = []
  private var row = SoftmaxRow()
  private let ldam: LDAMLoss?

  /// Creates the loss module with state u = `u`.
  public init(
    criterion: Criterion, lambda: Double, gamma: Double = 0.1, alpha: Double = 0.5, u: Double = 0,
    classWeights: [Float]? = nil, uniformFloor: Bool = false
  ) {
    self.criterion = criterion
    self.lambda = lambda
    self.state = ABSGDWeights(gamma: gamma, alpha: alpha, u: u, uniformFloor: uniformFloor)
    if case .ldam(let counts) = criterion {
      ldam = LDAMLoss(classCounts: counts, maxMargin: 0.5, scale: 30, classWeights: classWeights)
    } else {
      ldam = nil
    }
    self.classWeights = classWeights
  }

  public func loss(logits: Tensor, targets: [Int], gradient: Tensor) -> Double {
    let n = logits.rows
    let c = logits.rowSize
    if let ldam {
      ldam.perExample(logits: logits, targets: targets, gradient: gradient, into: &perExampleLosses)
    } else {
      _ = row.begin(logits, targets, gradient)
      perExampleLosses.removeAll(keepingCapacity: true)
      for i in 0..<n {
        let t = targets[i]
        let w = classWeight(classWeights, t)
        row.load(logits, row: i)
        var l = w * row.nll(t)
        var dl = 1.0
        if case .focal(let gamma) = criterion { (l, dl) = FocalLoss.modulate(l, gamma: gamma) }
        perExampleLosses.append(l)
        row.writeGradient(gradient.pointer + i * c, target: t, factor: dl * w)
      }
    }
    let total = state.step(losses: perExampleLosses, lambda: lambda, weights: &weights)
    for i in 0..<n {
      Kernels.scale(gradient.pointer + i * c, by: Float(weights[i]), count: c)
    }
    return total
  }
}
