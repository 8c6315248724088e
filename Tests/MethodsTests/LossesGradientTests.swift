import Engine
import Methods
import NN
import Testing
import _ReplicateTestSupport

/// Every loss's written gradient equals finite differences of its value, over a sweep of shapes and
/// hyper-parameters (weighted and unweighted).
@Suite struct LossesGradientTests {
  static let counts = [500, 158, 50, 16, 5]
  static let weights: [Float] = [0.2, 0.5, 1.0, 1.4, 1.9]

  static func batch(_ seed: UInt64, rows: Int = 6, scale: Float = 2) -> (Tensor, [Int]) {
    let z = testMatrix(rows: rows, cols: counts.count, seed: seed, scale: scale)
    return (z, (0..<rows).map { ($0 * 3 + Int(seed)) % counts.count })
  }

  @Test(arguments: [false, true])
  func crossEntropy(weighted: Bool) {
    let (z, t) = Self.batch(1)
    expectLossGradient(CrossEntropyLoss(classWeights: weighted ? Self.weights : nil), z, t)
    expectLossGradient(CrossEntropyLoss(classWeights: weighted ? Self.weights : nil, reduction: .batchMean), z, t)
  }

  @Test(arguments: [0.0, 0.5, 1.0, 2.0])
  func focal(gamma: Double) {
    let (z, t) = Self.batch(2)
    expectLossGradient(FocalLoss(gamma: gamma), z, t, "γ \(gamma)")
    expectLossGradient(FocalLoss(gamma: gamma, classWeights: Self.weights), z, t, "γ \(gamma) weighted")
  }

  @Test(arguments: [(0.5, 30.0), (0.3, 10.0)])
  func ldam(maxMargin: Double, scale: Double) {
    // Cosine logits in [−1, 1], as LDAM-DRW's NormedLinear head gives.
    let (z, t) = Self.batch(3, scale: 1)
    expectLossGradient(LDAMLoss(classCounts: Self.counts, maxMargin: maxMargin, scale: scale), z, t)
    expectLossGradient(
      LDAMLoss(classCounts: Self.counts, maxMargin: maxMargin, scale: scale, classWeights: Self.weights), z, t)
  }

  @Test(arguments: [(0.3, 1.0), (0.2, 1.5), (0.5, 0.0), (0.0, 1.0)])
  func vs(gamma: Double, tau: Double) {
    let (z, t) = Self.batch(4)
    expectLossGradient(VSLoss(classCounts: Self.counts, gamma: gamma, tau: tau), z, t)
    expectLossGradient(VSLoss(classCounts: Self.counts, gamma: gamma, tau: tau, classWeights: Self.weights), z, t)
  }

  @Test func logitAdjustedAndBayias() {
    let (z, t) = Self.batch(5)
    expectLossGradient(LogitAdjustedLoss(classCounts: Self.counts, tau: 1.5, classWeights: Self.weights), z, t)
    expectLossGradient(BayiasLoss(classCounts: Self.counts, inferenceDistribution: [1, 2, 3, 2, 1]), z, t)
  }

  @Test func mixedTargets() {
    let (z, t) = Self.batch(6)
    let t2 = t.map { ($0 + 2) % Self.counts.count }
    let lam: [Float] = [0.1, 0.5, 0.9, 1.0, 0.0, 0.25]
    let scratch = Tensor(shape: [0])
    let losses: [MixedTargetLoss] = [
      BayiasLoss(classCounts: Self.counts), CrossEntropyLoss(classWeights: Self.weights),
    ]
    for loss in losses {
      let g = Tensor(shape: [0])
      _ = loss.loss(logits: z, targets: t, partnerTargets: t2, lambdas: lam, gradient: g)
      expectGradientMatchesFiniteDifferences(z, analytic: g.toArray(), "\(type(of: loss))") {
        loss.loss(logits: $0, targets: t, partnerTargets: t2, lambdas: lam, gradient: scratch)
      }
    }
  }

  @Test(arguments: [0.5, 0.8, 1.0, 1.01, 3.0])
  func alpha(alpha: Double) {
    let (z, t) = Self.batch(7)
    expectLossGradient(AlphaLoss(alpha: alpha), z, t, "α \(alpha)")
  }

  @Test(arguments: [(1.0, 1), (1.5, 2), (2.5, 3), (100.0, 2)])
  func logitClip(temp: Double, p: Int) {
    let (z, t) = Self.batch(8, scale: 3)
    expectLossGradient(LogitClipLoss(temp: temp, p: p), z, t, "temp \(temp) p \(p)")
  }

  @Test func absgdLoss() {
    let (z, t) = Self.batch(9)
    let criteria: [ABSGDLoss.Criterion] = [.crossEntropy, .focal(gamma: 2), .ldam(classCounts: Self.counts)]
    for criterion in criteria {
      for lambda in [5.0, -1.0, 200.0] {
        // The weights are constants for the gradient and u moves at each call: compare against a
        // fresh module per evaluation, frozen at the same state.
        let make = {
          ABSGDLoss(criterion: criterion, lambda: lambda, gamma: 0.7, alpha: 0.5, u: 0.3, classWeights: Self.weights)
        }
        let (_, g) = lossAndGradient(make(), z, t)
        let reference = make()
        let (_, _) = lossAndGradient(reference, z, t)
        let p = reference.weights
        // Σ_i p_i·ℓ_i with p fixed: the per-example losses of a module at λ = 200 are ℓ_i.
        let scratch = Tensor(shape: [0])
        expectGradientMatchesFiniteDifferences(z, analytic: g, "\(criterion) λ \(lambda)") { zz in
          let m = make()
          _ = m.loss(logits: zz, targets: t, gradient: scratch)
          return zip(p, m.perExampleLosses).reduce(0) { $0 + $1.0 * $1.1 }
        }
      }
    }
  }

  @Test func linfDistObjective() {
    let (d, t) = Self.batch(10, scale: 1)
    let objective = LinfDistObjective(eps: 0.3, clip: 1, lam0: 0.1, lamEnd: 0.001, ratio: 0.4, scalar: 2.5)
    expectLossGradient(objective, d, t)
    // ∂/∂scalar by finite differences in Double.
    let g = Tensor(shape: [0])
    _ = objective.loss(logits: d, targets: t, gradient: g)
    let analytic = objective.scalarGradient
    let h = 1e-5
    func at(_ s: Double) -> Double {
      objective.scalar = s
      return objective.loss(logits: d, targets: t, gradient: g)
    }
    let numeric = (at(2.5 + h) - at(2.5 - h)) / (2 * h)
    expectApprox(analytic, numeric, abs: 1e-7, rel: 1e-5)
  }

  @Test(arguments: CALSPenalty.Kind.allCases, [true, false])
  func calsPenalty(kind: CALSPenalty.Kind, normalize: Bool) {
    let z = testMatrix(rows: 4, cols: 5, seed: 11, scale: 8)
    let penalty = CALSPenalty(classes: 5, margin: 5, kind: kind, normalize: normalize)
    penalty.lambdas = [1e-6, 0.5, 2, 1, 0.1]
    penalty.rhos = [1, 2, 1, 1.5, 1]
    let g = Tensor(shape: [0])
    _ = penalty.penalty(logits: z, gradient: g)
    expectGradientMatchesFiniteDifferences(z, analytic: g.toArray(), "\(kind)") { penalty.penalty(logits: $0).penalty }
  }

  @Test(arguments: [DistanceOrder.finite(1), .finite(2.5), .finite(8), .infinity], [false, true])
  func normDistLayer(order: DistanceOrder, meanShift: Bool) {
    let x = testMatrix(rows: 4, cols: 6, seed: 12)
    let w = testMatrix(rows: 3, cols: 6, seed: 17)
    // Finite differences need the data away from the kinks x_nd = w_md (|·| for p = 1, max for ∞).
    let gaps = x.toArray().enumerated().flatMap { k, xv in (0..<3).map { Swift.abs(xv - w[$0 * 6 + k % 6]) } }
    #expect(gaps.min()! > 0.05)
    let bias = Tensor(shape: [3], values: [0.5, -1, 2])
    let gradOut = testMatrix(rows: 4, cols: 3, seed: 14)
    let layer = NormDistLayer(order: order, meanShift: meanShift)
    let y = Tensor(shape: [0])
    // Σ gradOut ⊙ y, in Double.
    func objective(_ xx: Tensor, _ ww: Tensor) -> Double {
      let probe = NormDistLayer(order: order, meanShift: meanShift)
      probe.forward(x: xx, weight: ww, bias: bias, output: y)
      return zip(y.toArray(), gradOut.toArray()).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }
    layer.forward(x: x, weight: w, bias: bias, output: y)
    let gx = Tensor(shape: [0])
    let gw = Tensor(shape: [0])
    let gb = Tensor(shape: [0])
    layer.backward(gradOutput: gradOut, gradX: gx, gradWeight: gw, gradBias: gb)
    // y is stored in Float32: a larger step keeps the rounding of y out of the difference.
    expectGradientMatchesFiniteDifferences(x, analytic: gx.toArray(), step: 1e-2, abs: 1e-3, rel: 1e-2, "x \(order)") {
      objective($0, w)
    }
    expectGradientMatchesFiniteDifferences(w, analytic: gw.toArray(), step: 1e-2, abs: 1e-3, rel: 1e-2, "w \(order)") {
      objective(x, $0)
    }
    expectApprox(gb.toArray(), (0..<3).map { j in (0..<4).reduce(0.0) { $0 + Double(gradOut[$1 * 3 + j]) } }, abs: 1e-5)
  }
}

extension LossesGradientTests {
  /// The v1 hinge `hinge(mix)` against finite differences, and its value by hand on one row.
  @Test func linfDistV1Hinge() {
    let (d, t) = Self.batch(10, scale: 1)
    expectLossGradient(LinfDistObjective(eps: 0.3, v1Mix: 0.25), d, t)
    // d = (1, 0.5, 2), target 0, eps 0.5: m = (0, (1 − 0.5 + 1)/1, (1 − 2 + 1)/1) = (0, 1.5, 0).
    let objective = LinfDistObjective(eps: 0.5, v1Mix: 0.25)
    let g = Tensor(shape: [0])
    let value = objective.loss(logits: Tensor(shape: [1, 3], values: [1, 0.5, 2]), targets: [0], gradient: g)
    expectApprox(value, 0.75 * 1.5 + 0.25 * 1.5 / 3)
    #expect(objective.scalarGradient == 0)
  }
}
