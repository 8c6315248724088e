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
  public var order: DistanceOrder
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
