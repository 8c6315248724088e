import Engine
import Foundation

/// The order p of an ℓp-distance neuron: a finite p ≥ 1 or ∞.
public enum DistanceOrder: Hashable, Sendable, CustomStringConvertible {
  /// A finite order p.
  case finite(Double)
  /// p = ∞.
  case infinity

  public var description: String {
    switch self {
    case .finite(let p): return "\(p)"
    case .infinity: return "inf"
    }
  }
}

/// One ℓp-distance layer (`NormDist`) of the ℓ∞-dist net (Zhang, Jiang, He, Wang, ICML 2021 /
/// ICLR 2022), with an explicit forward and backward.
///
/// For inputs x [N, D] and weights w [M, D]:
/// 1. u_nm = ‖x_n − w_m‖_p   (max_d |x_nd − w_md| for p = ∞);
/// 2. with ``meanShift`` in training: y = u − mean_n u (the batch mean is part of the graph), and
///    running_mean ← (1 − momentum)·running_mean + momentum·mean_n u; in evaluation y = u − running_mean;
/// 3. y += bias when a bias is given.
/// Hidden layers use the mean shift and no bias; the final layer a bias and no mean shift.
/// Gradients: ∂u_nm/∂x_nd = sign(d)·(|d|/u)^{p−1} with d = x_nd − w_md, and ∂u/∂w = −∂u/∂x. For p = ∞
/// the gradient goes to the arg-max coordinate, split evenly among ties as the repository's
/// pure-PyTorch path does (its CUDA kernel picks one index instead). Distances are accumulated in Double.
///
/// **References:**
/// - Zhang, Jiang, He, Wang, "Towards Certifying ℓ∞ Robustness using Neural Networks with ℓ∞-dist
///   Neurons", ICML 2021; "Boosting the Certified Robustness of L-infinity Distance Nets", ICLR 2022.
/// - zbh2047/L_inf-dist-net-v2 `core/modules/norm_dist.py` `NormDist`, `core/norm_dist.py`
///   `norm_dist(…, use_custom_cuda_func=False)`, `core/modules/basic_modules.py` `MeanShift`.
public final class NormDistLayer {
  /// The distance order.
  public let order: DistanceOrder
  /// Whether the batch mean is subtracted (`MeanShift(affine=False)`).
  public let meanShift: Bool
  /// The running-mean momentum.
  public let momentum: Double
  private var distances: [Double] = []
  private var x: Tensor?
  private var weight: Tensor?
  private var shapes = (n: 0, d: 0, m: 0)

  /// Creates the layer's math.
  public init(order: DistanceOrder, meanShift: Bool, momentum: Double = 0.1) {
    self.order = order
    self.meanShift = meanShift
    self.momentum = momentum
  }

  /// ‖a − b‖_p over `count` entries, normalised by the max as the pure-PyTorch path.
  @inline(__always) private func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Double {
    var largest = 0.0
    for k in 0..<count { largest = Swift.max(largest, abs(Double(a[k]) - Double(b[k]))) }
    guard case .finite(let p) = order, largest > 0 else { return largest }
    var s = 0.0
    for k in 0..<count { s += pow(abs(Double(a[k]) - Double(b[k])) / largest, p) }
    return largest * pow(s, 1 / p)
  }

  /// y [N, M] for x [N, D], weight [M, D]; updates `runningMean` [M] in training with mean shift.
  /// Keeps references to x and weight for ``backward(gradOutput:gradX:gradWeight:gradBias:)``.
  public func forward(
    x: Tensor, weight: Tensor, bias: Tensor? = nil, runningMean: Tensor? = nil, training: Bool = true,
    output: Tensor
  ) {
    let n = x.rows
    let d = x.rowSize
    let m = weight.rows
    precondition(weight.rowSize == d, "weight rows have \(weight.rowSize) entries, inputs \(d)")
    self.x = x
    self.weight = weight
    shapes = (n, d, m)
    distances.removeAll(keepingCapacity: true)
    for i in 0..<n {
      for j in 0..<m { distances.append(distance(x.pointer + i * d, weight.pointer + j * d, count: d)) }
    }
    output.resize([n, m])
    for j in 0..<m {
      var shift = 0.0
      if meanShift {
        if training {
          var mean = 0.0
          for i in 0..<n { mean += distances[i * m + j] }
          mean /= Double(n)
          shift = mean
          if let r = runningMean { r[j] = Float((1 - momentum) * Double(r[j]) + momentum * mean) }
        } else if let r = runningMean {
          shift = Double(r[j])
        }
      }
      let b = bias.map { Double($0[j]) } ?? 0
      for i in 0..<n { output[i * m + j] = Float(distances[i * m + j] - shift + b) }
    }
  }

  /// Gradients of Σ gradOutput ⊙ y with respect to x, weight and bias (resized; overwritten).
  public func backward(
    gradOutput: Tensor, gradX: Tensor, gradWeight: Tensor, gradBias: Tensor? = nil, training: Bool = true
  ) {
    guard let x, let weight else { preconditionFailure("backward before forward") }
    let (n, d, m) = shapes
    gradX.resize(x.shape)
    gradWeight.resize(weight.shape)
    gradX.fill(0)
    gradWeight.fill(0)
    if let gb = gradBias {
      gb.resize([m])
      for j in 0..<m {
        var s = 0.0
        for i in 0..<n { s += Double(gradOutput[i * m + j]) }
        gb[j] = Float(s)
      }
    }
    for j in 0..<m {
      var meanGrad = 0.0
      if meanShift && training {
        for i in 0..<n { meanGrad += Double(gradOutput[i * m + j]) }
        meanGrad /= Double(n)
      }
      let w = weight.pointer + j * d
      let gw = gradWeight.pointer + j * d
      for i in 0..<n {
        let g = Double(gradOutput[i * m + j]) - meanGrad
        let u = distances[i * m + j]
        guard g != 0, u > 0 else { continue }
        let xi = x.pointer + i * d
        let gx = gradX.pointer + i * d
        switch order {
        case .finite(let p):
          for k in 0..<d {
            let diff = Double(xi[k]) - Double(w[k])
            if diff == 0 { continue }
            let partial = (diff > 0 ? 1.0 : -1.0) * pow(abs(diff) / u, p - 1) * g
            gx[k] += Float(partial)
            gw[k] -= Float(partial)
          }
        case .infinity:
          var ties = 0
          for k in 0..<d where abs(Double(xi[k]) - Double(w[k])) == u { ties += 1 }
          for k in 0..<d {
            let diff = Double(xi[k]) - Double(w[k])
            guard abs(diff) == u else { continue }
            let partial = (diff > 0 ? 1.0 : -1.0) * g / Double(ties)
            gx[k] += Float(partial)
            gw[k] -= Float(partial)
          }
        }
      }
    }
  }
}

/// The ℓ∞-dist net's `mixture` training objective on the last layer's outputs.
///
/// Inputs are the final ℓ∞-dist layer's outputs d [N, K] (distance plus bias) and targets t:
/// 1. logits = −scalar·d (the learnable `scalar` of `MLPModel(scalar=True)`);
/// 2. worst-case margin for j ≠ t_i: m_ij = (d_{i,t_i} − d_ij + 2·eps)/(2·eps), and m_{i,t_i} = 0
///    (MLPModel's training branch, which bounds the outputs by ±eps; eps in normalised input units);
/// 3. lam = lam0·exp(ln(lam_end/lam0)·ratio), ratio the schedule's progress in [0, 1];
/// 4. loss = mean_i max_j clamp(m_ij, 0, clip) + lam·CE(logits, t)   (unweighted mean).
/// The hinge uses the **unscaled** outputs, the CE term the **scaled** logits. Subgradients:
/// `max(dim=1)` sends the gradient to the first maximal index, and the clamp passes it for
/// 0 ≤ m < clip. At m = clip exactly (all-equal outputs) the official-code vectors carry no hinge
/// gradient (linf-dist-objective-005), although FORMAT.md describes PyTorch's clamp as passing it at
/// the bound; this follows the vectors.
/// ``loss(logits:targets:gradient:)`` takes d as `logits`; ``scalarGradient`` is ∂loss/∂scalar.
///
/// **References:**
/// - zbh2047/L_inf-dist-net-v2 `ell_inf_models.py` `MLPModel.forward`, `main.py` `mixture`
///   (`lam0=0.1`, `lam_end=0.001`, `clip=1` defaults; `update(ratio)`).
public final class LinfDistObjective: ClassificationLoss {
  /// Ignored: the objective is unweighted.
  public var classWeights: [Float]?
  /// The ℓ∞ radius ε of the worst-case margin.
  public var eps: Double
  /// The hinge's clip.
  public let clip: Double
  /// The CE weight's start and end.
  public let lam0: Double, lamEnd: Double
  /// The schedule's progress in [0, 1] (set by the trainer).
  public var ratio: Double
  /// The output scale (`scalar`).
  public var scalar: Double
  /// ∂loss/∂scalar of the last call.
  public private(set) var scalarGradient = 0.0
  /// The last call's worst-case margins m [N·K] (before the clamp), row-major.
  public private(set) var worstMargins: [Double] = []
  private var row = SoftmaxRow()

  /// Creates the objective.
  public init(
    eps: Double, clip: Double = 1, lam0: Double = 0.1, lamEnd: Double = 0.001, ratio: Double = 0, scalar: Double = 1
  ) {
    precondition(eps > 0, "eps must be positive")
    self.eps = eps
    self.clip = clip
    self.lam0 = lam0
    self.lamEnd = lamEnd
    self.ratio = ratio
    self.scalar = scalar
  }

  /// The CE weight lam0·exp(ln(lam_end/lam0)·ratio).
  public var lam: Double { lam0 * exp(log(lamEnd / lam0) * ratio) }

  public func loss(logits dist: Tensor, targets: [Int], gradient: Tensor) -> Double {
    let n = dist.rows
    let k = dist.rowSize
    precondition(targets.count == n, "\(targets.count) targets for \(n) rows")
    gradient.resize(dist.shape)
    row.resize(k)
    worstMargins.removeAll(keepingCapacity: true)
    let inv = n > 0 ? 1 / Double(n) : 0
    let lam = self.lam
    var hinge = 0.0
    var ce = 0.0
    var dScalar = 0.0
    for i in 0..<n {
      let t = targets[i]
      let d = dist.pointer + i * k
      let g = gradient.pointer + i * k
      // Cross-entropy of −scalar·d: ∂/∂d = −scalar·(p − e_t), ∂/∂scalar = Σ_j (p − e_t)_j·(−d_j).
      for j in 0..<k { row.logits[j] = -scalar * Double(d[j]) }
      row.update()
      ce += row.nll(t)
      for j in 0..<k {
        let r = row.probabilities[j] - (j == t ? 1 : 0)
        dScalar -= r * Double(d[j])
        g[j] = Float(inv * lam * -scalar * r)
      }
      // Hinge on the worst-case margin: first maximal index of clamp(m, 0, clip).
      var best = 0
      var bestValue = -Double.infinity
      for j in 0..<k {
        let m = j == t ? 0 : (Double(d[t]) - Double(d[j]) + 2 * eps) / (2 * eps)
        worstMargins.append(m)
        let clamped = Swift.min(Swift.max(m, 0), clip)
        if clamped > bestValue { (best, bestValue) = (j, clamped) }
      }
      hinge += bestValue
      let m = worstMargins[i * k + best]
      if best != t && m >= 0 && m < clip {
        let s = inv / (2 * eps)
        g[t] = Float(Double(g[t]) + s)
        g[best] = Float(Double(g[best]) - s)
      }
    }
    scalarGradient = inv * lam * dScalar
    return inv * hinge + lam * inv * ce
  }
}
