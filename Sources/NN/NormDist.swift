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
/// 1. u_nm = ‖x_n − w_m‖_p, evaluated as M_nm·(Σ_d (|x_nd − w_md|/M_nm)^p)^{1/p} with M_nm = max_d |x_nd − w_md|
///    (the pure-PyTorch path's normalisation by the max); u_nm = M_nm for p = ∞;
/// 2. with ``meanShift`` in training: y = u − mean_n u (the batch mean is part of the graph), and
///    running_mean ← (1 − momentum)·running_mean + momentum·mean_n u; in evaluation y = u − running_mean;
/// 3. y += bias when a bias is given.
/// Hidden layers use the mean shift and no bias; the final layer a bias and no mean shift.
/// Gradients: ∂u_nm/∂x_nd = sign(d)·(|d|/u)^{p−1} with d = x_nd − w_md, computed as
/// sign(d)·(|d|/M)^{p−1}·(M/u)^{p−1}, and ∂u/∂w = −∂u/∂x. For p = ∞ the gradient goes to the arg-max
/// coordinate, split evenly among exact ties as the repository's pure-PyTorch path does (its CUDA kernel
/// picks one index instead); the forward pass records the arg-max, so the backward pass of an untied
/// neuron costs O(1).
///
/// Arithmetic: float32, eight lanes at a time, with the powers by ``FastMath/pow01(_:_:)`` (the official
/// CUDA kernels also work in float32 with a fast `pow`); the scalar quantities (u from the sum, (M/u)^{p−1},
/// the batch mean) in double. Rows of x are taken in blocks of ``rowBlock`` against each weight row, so a
/// weight row is read from memory once per block. Work is split over ``Parallel/threads``: the forward
/// pass over rows of x (results independent of the split), the backward pass over weight rows, each
/// worker summing ∂x over its rows into its own buffer, added in worker order (deterministic for a given
/// thread count).
///
/// **References:**
/// - Zhang, Jiang, He, Wang, "Towards Certifying ℓ∞ Robustness using Neural Networks with ℓ∞-dist
///   Neurons", ICML 2021; "Boosting the Certified Robustness of L-infinity Distance Nets", ICLR 2022.
/// - zbh2047/L_inf-dist-net-v2 `core/modules/norm_dist.py` `NormDist`, `core/norm_dist.py`
///   `norm_dist(…, use_custom_cuda_func=False)`, `core/modules/basic_modules.py` `MeanShift`,
///   `core/cuda/norm_dist_cuda.cu` (float32, max-normalised sums).
public final class NormDistLayer {
  /// The distance order.
  public var order: DistanceOrder
  /// Whether the batch mean is subtracted (`MeanShift(affine=False)`).
  public let meanShift: Bool
  /// The running-mean momentum.
  public let momentum: Double
  /// Rows of x processed together against one weight row.
  public static let rowBlock = 8
  /// u [N·M], M [N·M] and, for finite p, s = Σ_d (|x_nd − w_md|/M)^p [N·M] of the last forward pass.
  private let distances = Tensor(shape: [0]), maxima = Tensor(shape: [0]), sums = Tensor(shape: [0])
  /// The batch means of ∂L/∂y per output under the training mean shift (zeros otherwise).
  private var meanGrad: [Double] = []
  private var x: Tensor?
  private var weight: Tensor?
  private var shapes = (n: 0, d: 0, m: 0)
  private var forwardOrder = DistanceOrder.infinity
  private var gradXParts: [Tensor] = []

  /// Creates the layer's math.
  public init(order: DistanceOrder, meanShift: Bool, momentum: Double = 0.1) {
    self.order = order
    self.meanShift = meanShift
    self.momentum = momentum
  }

  /// y [N, M] for x [N, D], weight [M, D]; updates `runningMean` [M] in training with mean shift.
  /// Keeps references to x and weight for ``backward(gradOutput:gradX:gradWeight:gradBias:training:)``.
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
    forwardOrder = order
    for buffer in [distances, maxima, sums] { buffer.resize([n, m]) }
    let order = self.order
    let (xp, wp) = (UnsafePointer(x.pointer), UnsafePointer(weight.pointer))
    let (u, mx, sp) = (distances.pointer, maxima.pointer, sums.pointer)
    let cut: Float = if case .finite(let p) = order { LpKernels.negligibleRatio(p: p, count: d) } else { 0 }
    let blocks = (n + Self.rowBlock - 1) / Self.rowBlock
    let workers = Parallel.chunkCount(blocks)
    Parallel.for(count: workers) { t in
      for block in Parallel.chunk(t, of: workers, count: blocks) {
        let rows = (block * Self.rowBlock)..<Swift.min(n, (block + 1) * Self.rowBlock)
        for j in 0..<m {
          let w = wp + j * d
          for i in rows {
            let xi = xp + i * d
            let k = i * m + j
            let largest = LpKernels.maxAbsDifference(xi, w, count: d)
            mx[k] = largest
            guard case .finite(let p) = order, largest > 0 else {
              u[k] = largest
              continue
            }
            let s = LpKernels.powerSum(xi, w, count: d, scale: 1 / largest, p: Float(p), cut: cut)
            sp[k] = s
            u[k] = Float(Double(largest) * Foundation.pow(Double(s), 1 / p))
          }
        }
      }
    }
    output.resize([n, m])
    for j in 0..<m {
      var shift = 0.0
      if meanShift {
        if training {
          var mean = 0.0
          for i in 0..<n { mean += Double(distances[i * m + j]) }
          mean /= Double(n)
          shift = mean
          if let r = runningMean { r[j] = Float((1 - momentum) * Double(r[j]) + momentum * mean) }
        } else if let r = runningMean {
          shift = Double(r[j])
        }
      }
      let b = bias.map { Double($0[j]) } ?? 0
      for i in 0..<n { output[i * m + j] = Float(Double(distances[i * m + j]) - shift + b) }
    }
  }

  /// Gradients of Σ gradOutput ⊙ y with respect to x, weight and bias (resized; overwritten), at the order
  /// of the last forward pass.
  public func backward(
    gradOutput: Tensor, gradX: Tensor, gradWeight: Tensor, gradBias: Tensor? = nil, training: Bool = true
  ) {
    guard let x, let weight else { preconditionFailure("backward before forward") }
    let (n, d, m) = shapes
    gradX.resize(x.shape)
    gradWeight.resize(weight.shape)
    gradWeight.fill(0)
    if let gb = gradBias {
      gb.resize([m])
      for j in 0..<m {
        var s = 0.0
        for i in 0..<n { s += Double(gradOutput[i * m + j]) }
        gb[j] = Float(s)
      }
    }
    // g_nm = ∂L/∂u_nm: gradOutput minus its batch mean under the training mean shift.
    meanGrad.removeAll(keepingCapacity: true)
    meanGrad.append(contentsOf: repeatElement(0, count: m))
    if meanShift && training {
      for i in 0..<n { for j in 0..<m { meanGrad[j] += Double(gradOutput[i * m + j]) } }
      for j in 0..<m { meanGrad[j] /= Double(n) }
    }
    let workers = Parallel.chunkCount(m)
    while gradXParts.count < workers { gradXParts.append(Tensor(shape: [0])) }
    for t in 1..<Swift.max(workers, 1) {
      gradXParts[t].resize(x.shape)
    }
    let parts = gradXParts.map { $0.pointer }
    let order = forwardOrder
    let cut: Float = if case .finite(let p) = order { LpKernels.negligibleRatio(p: p, count: d) } else { 0 }
    let (xp, wp, gop, gwp, gx0) = (
      UnsafePointer(x.pointer), UnsafePointer(weight.pointer), UnsafePointer(gradOutput.pointer),
      gradWeight.pointer, gradX.pointer
    )
    meanGrad.withUnsafeBufferPointer { mg in
      let mg = mg.baseAddress!
      let (u, mx, sp) = (distances.pointer, maxima.pointer, sums.pointer)
      Parallel.for(count: workers) { t in
        let gx = t == 0 ? gx0 : parts[t]
        gx.update(repeating: 0, count: n * d)
        let blocks = (n + Self.rowBlock - 1) / Self.rowBlock
        for block in 0..<blocks {
          let rows = (block * Self.rowBlock)..<Swift.min(n, (block + 1) * Self.rowBlock)
          for j in Parallel.chunk(t, of: workers, count: m) {
            let w = wp + j * d
            let gw = gwp + j * d
            for i in rows {
              let k = i * m + j
              let g = Double(gop[k]) - mg[j]
              guard g != 0, u[k] > 0 else { continue }
              let xi = xp + i * d
              let gxi = gx + i * d
              switch order {
              case .finite(let p):
                // (|d|/u)^{p−1} = (|d|/M)^{p−1}·(M/u)^{p−1}, and (M/u)^{p−1} = s^{−(p−1)/p} (from
                // u = M·s^{1/p}), which does not amplify the rounding of u by p − 1.
                let c = g * Foundation.pow(Double(sp[k]), (1 - p) / p)
                LpKernels.accumulatePowerGradient(
                  xi, w, count: d, scale: 1 / mx[k], q: Float(p - 1), factor: Float(c), cut: cut, gradX: gxi,
                  gradW: gw)
              case .infinity:
                LpKernels.accumulateArgmax(
                  xi, w, count: d, largest: u[k], gradient: Float(g), gradX: gxi, gradW: gw)
              }
            }
          }
        }
      }
    }
    for t in 1..<Swift.max(workers, 1) { Kernels.axpy(1, parts[t], gx0, count: n * d) }
  }
}

/// The inner loops of ``NormDistLayer`` over one pair of rows (a: a row of x, b: a row of w), eight
/// lanes at a time with a scalar tail.
enum LpKernels {
  typealias Lanes = FastMath.Lanes

  /// max_k |a_k − b_k|.
  @inline(__always)
  static func maxAbsDifference(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var best = Lanes(repeating: 0)
    var k = 0
    while k + 8 <= count {
      let diff = load(a + k) - load(b + k)
      best = FastMath.max(best, abs(diff))
      k += 8
    }
    var largest = best.max()
    while k < count {
      largest = Swift.max(largest, Swift.abs(a[k] - b[k]))
      k += 1
    }
    return largest
  }

  @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Lanes { Lanes(loading: p) }

  @inline(__always) static func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) { v.store(to: p) }

  @inline(__always) static func abs(_ v: Lanes) -> Lanes {
    unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: Lanes.self)
  }

  /// Σ_k (|a_k − b_k|·scale)^p.
  @inline(__always)
  static func powerSum(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, scale: Float, p: Float, cut: Float
  ) -> Float {
    var sum = Lanes(repeating: 0)
    var k = 0
    while k + 8 <= count {
      let r = abs(load(a + k) - load(b + k)) * scale
      if any(r .> cut) { sum += FastMath.pow01(r, p) }
      k += 8
    }
    var total = sum.sum()
    while k < count {
      let r = Swift.abs(a[k] - b[k]) * scale
      if r > cut { total += FastMath.pow01(r, p) }
      k += 1
    }
    return total
  }

  /// The ratio r = |a_k − b_k|/max below which r^p < 2⁻²⁴/count: the terms of ``powerSum`` (at least 1, the
  /// maximum's) that cannot reach the float32 rounding of the sum even all together, and gradient terms
  /// below 2⁻²⁴/count of the largest one. Eight lanes at or under it skip the powers (at p = 100 and
  /// count = 784 that is r ≤ 0.79, most coordinates); their terms count as 0.
  static func negligibleRatio(p: Double, count: Int) -> Float {
    Float(Foundation.pow(Foundation.exp2(-24) / Double(Swift.max(count, 1)), 1 / p))
  }

  /// gradX_k += v_k, gradW_k −= v_k with v_k = sign(a_k − b_k)·(|a_k − b_k|·scale)^q·factor.
  @inline(__always)
  static func accumulatePowerGradient(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, scale: Float, q: Float, factor: Float,
    cut: Float, gradX: UnsafeMutablePointer<Float>, gradW: UnsafeMutablePointer<Float>
  ) {
    var k = 0
    while k + 8 <= count {
      let diff = load(a + k) - load(b + k)
      let r = abs(diff) * scale
      guard any(r .> cut) else {
        k += 8
        continue
      }
      let magnitude = FastMath.pow01(r, q) * factor
      let signBits = unsafeBitCast(diff, to: SIMD8<UInt32>.self) & 0x8000_0000
      let v = unsafeBitCast(unsafeBitCast(magnitude, to: SIMD8<UInt32>.self) ^ signBits, to: Lanes.self)
      store(load(gradX + k) + v, gradX + k)
      store(load(gradW + k) - v, gradW + k)
      k += 8
    }
    while k < count {
      let diff = a[k] - b[k]
      let r = Swift.abs(diff) * scale
      guard r > cut else {
        k += 1
        continue
      }
      let magnitude = FastMath.pow01(r, q) * factor
      let v = diff < 0 ? -magnitude : magnitude
      gradX[k] += v
      gradW[k] -= v
      k += 1
    }
  }

  /// The p = ∞ gradient: gradX_k += sign(a_k − b_k)·gradient, gradW_k −= the same, at the k with
  /// |a_k − b_k| = largest, split evenly when several k tie. One vectorised scan finds the matches (a
  /// second, only on a tie, shares the gradient).
  @inline(__always)
  static func accumulateArgmax(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, largest: Float, gradient: Float,
    gradX: UnsafeMutablePointer<Float>, gradW: UnsafeMutablePointer<Float>
  ) {
    var first = -1
    var ties = 0
    var k = 0
    while k + 8 <= count {
      let hit = abs(load(a + k) - load(b + k)) .== largest
      if any(hit) {
        for l in 0..<8 where hit[l] {
          if first < 0 { first = k + l }
          ties += 1
        }
      }
      k += 8
    }
    while k < count {
      if Swift.abs(a[k] - b[k]) == largest {
        if first < 0 { first = k }
        ties += 1
      }
      k += 1
    }
    guard ties > 0 else { return }
    if ties == 1 {
      let v = a[first] > b[first] ? gradient : -gradient
      gradX[first] += v
      gradW[first] -= v
      return
    }
    let share = gradient / Float(ties)
    for k in first..<count where Swift.abs(a[k] - b[k]) == largest {
      let v = a[k] > b[k] ? share : -share
      gradX[k] += v
      gradW[k] -= v
    }
  }

  /// Bounds of ‖x − w‖_∞ over the box l ≤ x ≤ u: (max_k max(l_k − w_k, w_k − u_k, 0), max_k max(w_k − l_k, u_k − w_k)).
  @inline(__always)
  static func intervalBound(
    _ w: UnsafePointer<Float>, lower l: UnsafePointer<Float>, upper u: UnsafePointer<Float>, count: Int
  ) -> (lower: Float, upper: Float) {
    var hi = Lanes(repeating: 0)
    var lo = Lanes(repeating: 0)
    var k = 0
    while k + 8 <= count {
      let (wk, lk, uk) = (load(w + k), load(l + k), load(u + k))
      hi = FastMath.max(hi, FastMath.max(wk - lk, uk - wk))
      lo = FastMath.max(lo, FastMath.max(lk - wk, wk - uk))
      k += 8
    }
    var (low, high) = (lo.max(), hi.max())
    while k < count {
      high = Swift.max(high, Swift.max(w[k] - l[k], u[k] - w[k]))
      low = Swift.max(low, Swift.max(l[k] - w[k], w[k] - u[k]))
      k += 1
    }
    return (low, high)
  }
}
