import Engine
import Foundation
import Methods
import Testing
import _ReplicateTestSupport

/// Loss values against hand-computed numbers and the worked examples of the method specs
/// (../shared/methods/*.md), and their edge cases.
@Suite struct LossesValueTests {
  @Test(arguments: [2, 3, 10])
  func allEqualLogitsGiveLogC(classes: Int) {
    let z = Tensor(shape: [3, classes], repeating: 0.75)
    let (loss, g) = lossAndGradient(CrossEntropyLoss(), z, [0, 1, classes - 1])
    expectApprox(loss, log(Double(classes)), abs: 1e-12)
    // ∂/∂z_ij = (1/C − [j = t])/N.
    expectApprox(Double(g[0]), (1 / Double(classes) - 1) / 3, abs: 1e-7)
    expectApprox(Double(g[1]), 1 / Double(classes) / 3, abs: 1e-7)
  }

  @Test func weightedCrossEntropyDividesByTheTargetsWeights() {
    let z = Tensor(shape: [2, 2], values: [0, 0, 0, 0])
    // ℓ_i = log 2 each; Σ w ℓ / Σ w = log 2 whatever the weights, but ÷ N gives (w0 + w1)/2·log 2.
    let w: [Float] = [3, 1]
    expectApprox(lossAndGradient(CrossEntropyLoss(classWeights: w), z, [0, 1]).0, log(2.0), abs: 1e-12)
    expectApprox(
      lossAndGradient(CrossEntropyLoss(classWeights: w, reduction: .batchMean), z, [0, 1]).0, 2 * log(2.0), abs: 1e-12)
  }

  @Test func focalWithGammaZeroIsCrossEntropyUnweightedOnly() {
    let z = testMatrix(rows: 5, cols: 4, seed: 21)
    let t = [0, 1, 2, 3, 1]
    let w: [Float] = [0.5, 1, 2, 4]
    expectApprox(lossAndGradient(FocalLoss(gamma: 0), z, t).0, lossAndGradient(CrossEntropyLoss(), z, t).0, abs: 1e-12)
    // Weighted: focal divides by N, CE by Σ w[t_i] (the upstream quirk).
    let focal = lossAndGradient(FocalLoss(gamma: 0, classWeights: w), z, t).0
    let ce = lossAndGradient(CrossEntropyLoss(classWeights: w), z, t).0
    let sumW = t.reduce(0.0) { $0 + Double(w[$1]) }
    expectApprox(focal, ce * sumW / 5, abs: 1e-9)
  }

  @Test func focalHandComputed() {
    // p_y = 0.7, γ = 2: (1 − 0.7)²·(−log 0.7).
    let z = logitsWithProbabilities([0.7, 0.2, 0.1])
    expectApprox(lossAndGradient(FocalLoss(gamma: 2), z, [0]).0, 0.09 * -log(0.7), abs: 1e-7)
  }

  @Test func ldamMargins() {
    // CIFAR-10 exp-100 counts (ldam-drw.md §1).
    let counts = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    let m = LDAMLoss.margins(classCounts: counts, maxMargin: 0.5)
    expectApprox(m, [0.158, 0.180, 0.204, 0.232, 0.264, 0.300, 0.341, 0.387, 0.441, 0.500], abs: 6e-4)
    // A class of count 1 gets exactly max_m.
    #expect(LDAMLoss.margins(classCounts: [100, 1, 10], maxMargin: 0.3)[1] == 0.3)
  }

  @Test func ldamMarginThenScale() {
    // One row z = (0.2, −0.1), target 0, margin m_0, scale s: CE of s·(0.2 − m_0, −0.1).
    let loss = LDAMLoss(classCounts: [16, 1], maxMargin: 0.5, scale: 30)
    let m0 = 0.5 * pow(1.0 / 16, 0.25)
    let a = 30 * (Double(Float(0.2)) - m0)
    let b = 30 * Double(Float(-0.1))
    let expected = log(exp(a) + exp(b)) - a
    let z = Tensor(shape: [1, 2], values: [0.2, -0.1])
    expectApprox(lossAndGradient(loss, z, [0]).0, expected, abs: 1e-9)
  }

  @Test func vsWorkedExample() {
    // vs-loss.md §6: counts (100, 10), γ = 0.2, τ = 1.2, z = (1.0, 0.5).
    let loss = VSLoss(classCounts: [100, 10], gamma: 0.2, tau: 1.2)
    expectApprox(loss.temperatures.map { 1 / $0 }, [1, 0.630957], abs: 1e-6)
    expectApprox(loss.offsets, [-0.114372, -2.877474], abs: 1e-6)
    let z = Tensor(shape: [1, 2], values: [1.0, 0.5])
    expectApprox(lossAndGradient(loss, z, [0]).0, 0.031325, abs: 1e-6)
    expectApprox(lossAndGradient(loss, z, [1]).0, 3.478949, abs: 1e-6)
  }

  @Test func logitAdjustedIsVSWithGammaZero() {
    let counts = [300, 40, 7]
    let z = testMatrix(rows: 4, cols: 3, seed: 22)
    let t = [0, 1, 2, 2]
    let la = lossAndGradient(LogitAdjustedLoss(classCounts: counts, tau: 1.3), z, t)
    let vs = lossAndGradient(VSLoss(classCounts: counts, gamma: 0, tau: 1.3), z, t)
    expectApprox(la.0, vs.0, abs: 1e-12)
    expectApprox(la.1, vs.1, abs: 1e-7)
  }

  @Test func bayiasWorkedExampleAndItsEquivalenceToLogitAdjustment() {
    // unimix-bayias.md §2: counts (100, 10), z = (1.0, 0.5).
    let loss = BayiasLoss(classCounts: [100, 10])
    let z = Tensor(shape: [1, 2], values: [1.0, 0.5])
    expectApprox(lossAndGradient(loss, z, [0]).0, 0.058885, abs: 1e-6)
    expectApprox(lossAndGradient(loss, z, [1]).0, 2.861470, abs: 1e-6)
    let zz = testMatrix(rows: 6, cols: 2, seed: 23)
    let t = [0, 1, 1, 0, 1, 1]
    expectApprox(
      lossAndGradient(loss, zz, t).0, lossAndGradient(LogitAdjustedLoss(classCounts: [100, 10], tau: 1), zz, t).0,
      abs: 1e-12)
  }

  @Test func mixedTargetsWithLambdaOneIsTheUnmixedLoss() {
    let z = testMatrix(rows: 3, cols: 4, seed: 24)
    let loss = BayiasLoss(classCounts: [40, 30, 20, 10])
    let g = Tensor(shape: [0])
    let mixed = loss.loss(logits: z, targets: [0, 1, 2], partnerTargets: [3, 3, 3], lambdas: [1, 1, 1], gradient: g)
    expectApprox(mixed, lossAndGradient(loss, z, [0, 1, 2]).0, abs: 1e-12)
  }

  @Test(arguments: [(0.5, 0.428571), (1.0, 0.356675), (2.0, 0.326680), (4.0, 0.312953)])
  func alphaWorkedValues(alpha: Double, expected: Double) {
    // alpha-loss.md: p_y = 0.7.
    let z = logitsWithProbabilities([0.7, 0.3])
    expectApprox(lossAndGradient(AlphaLoss(alpha: alpha), z, [0]).0, expected, abs: 2e-6)
  }

  @Test func alphaOneCapsSaturatedRows() {
    let z = Tensor(shape: [1, 2], values: [-50, 50])
    let (loss, g) = lossAndGradient(AlphaLoss(alpha: 1), z, [0])
    expectApprox(loss, -log(1e-8), abs: 1e-6)
    #expect(g.allSatisfy { Swift.abs($0) < 1e-6 })
  }

  @Test func logitClipWorkedExample() {
    // logitclip.md: z = (3, 4, 0), y = 0, temp = 1.5 → clipped to norm 1/1.5.
    let z = Tensor(shape: [1, 3], values: [3, 4, 0])
    let clip = LogitClipLoss(temp: 1.5, p: 2)
    expectApprox(lossAndGradient(clip, z, [0]).0, 1.034234, abs: 1e-6)
    #expect(clip.clipped == [true])
    let noClip = LogitClipLoss(temp: 6, p: 2)
    expectApprox(lossAndGradient(noClip, z, [0]).0, 1.326563, abs: 1e-6)
    #expect(noClip.clipped == [false])
    // All-zero logits: norm 1e-7 < temp, not clipped, log C.
    let zero = LogitClipLoss(temp: 1, p: 2)
    expectApprox(lossAndGradient(zero, Tensor(shape: [1, 4]), [2]).0, log(4.0), abs: 1e-12)
    #expect(zero.clipped == [false])
  }

  @Test func absgdLossAtLambda200IsWeightedSumOverN() {
    let z = testMatrix(rows: 4, cols: 3, seed: 25)
    let t = [0, 1, 2, 1]
    let w: [Float] = [0.5, 1, 2]
    let loss = ABSGDLoss(criterion: .crossEntropy, lambda: 200, classWeights: w)
    let value = lossAndGradient(loss, z, t).0
    let expected = lossAndGradient(CrossEntropyLoss(classWeights: w, reduction: .batchMean), z, t).0
    expectApprox(value, expected, abs: 1e-12)
    #expect(loss.state.u == 0)
    #expect(loss.weights == [0.25, 0.25, 0.25, 0.25])
  }

  @Test func linfDistObjectiveAllEqualOutputs() {
    // Every non-target margin is (0 + 2ε)/(2ε) = 1 = clip; loss = 1 + lam·log K.
    let d = Tensor(shape: [2, 3], repeating: 2.25)
    let objective = LinfDistObjective(eps: 0.5, clip: 1, lam0: 0.1, lamEnd: 0.0005, ratio: 0)
    let (loss, g) = lossAndGradient(objective, d, [0, 2])
    expectApprox(loss, 1 + 0.1 * log(3.0), abs: 1e-9)
    expectApprox(objective.worstMargins, [0, 1, 1, 1, 1, 0] as [Double], abs: 0)
    // Only the CE term has a gradient: −lam·scalar·(1/3 − [j = t])/N.
    expectApprox(g, [1 / 30, -1 / 60, -1 / 60, -1 / 60, -1 / 60, 1 / 30] as [Double], abs: 1e-8)
    expectApprox(objective.scalarGradient, 0, abs: 1e-12)
    // lam schedule: lam0·exp(ln(lam_end/lam0)·ratio) reaches lam_end at ratio 1.
    objective.ratio = 1
    expectApprox(objective.lam, 0.0005, rel: 1e-12)
  }

  @Test func registryBuildsEveryLossWithItsDefaults() throws {
    let counts = [50, 20, 5]
    let z = testMatrix(rows: 3, cols: 3, seed: 26)
    for name in LossRegistry.parameters.keys.sorted() {
      let resolved = try LossRegistry.resolve(LossSpec(name: name))
      #expect(resolved.params == LossRegistry.parameters[name])
      let loss = try LossRegistry.make(LossSpec(name: name), classCounts: counts)
      let value = lossAndGradient(loss, z, [0, 1, 2]).0
      #expect(value.isFinite && value >= 0, "\(name): \(value)")
    }
    #expect(LossRegistry.parameters["ldam"] == ["max_m": 0.5, "s": 30])
    #expect(LossRegistry.parameters["vs"] == ["gamma": 0.3, "tau": 1])
    #expect(LossRegistry.parameters["focal"] == ["gamma": 1])
    let ldam = try #require(
      try LossRegistry.make(LossSpec(name: "ldam", params: ["max_m": 0.3]), classCounts: counts) as? LDAMLoss)
    #expect(ldam.margins.max() == 0.3 && ldam.scale == 30)
  }

  @Test func registryRejectsBadSpecs() {
    #expect(throws: LossRegistry.Error.self) { try LossRegistry.make(LossSpec(name: "nope"), classCounts: [1]) }
    #expect(throws: LossRegistry.Error.self) {
      try LossRegistry.make(LossSpec(name: "ldam", params: ["margin": 1]), classCounts: [1, 2])
    }
    #expect(throws: LossRegistry.Error.self) {
      try LossRegistry.make(LossSpec(name: "logitclip", params: ["lp": 1.5]), classCounts: [1, 2])
    }
    #expect(throws: LossRegistry.Error.self) {
      try LossRegistry.make(LossSpec(name: "focal", params: ["gamma": -1]), classCounts: [1, 2])
    }
    #expect(throws: LossRegistry.Error.self) { try LossRegistry.make(LossSpec(name: "vs"), classCounts: [0, 2]) }
  }

  @Test func repeatedCallsReuseTheGradientStorageAndAreDeterministic() {
    let z = testMatrix(rows: 8, cols: 5, seed: 27)
    let t = [0, 1, 2, 3, 4, 0, 1, 2]
    let losses: [ClassificationLoss] = [
      CrossEntropyLoss(), FocalLoss(gamma: 1), LDAMLoss(classCounts: [9, 8, 7, 6, 5]),
      VSLoss(classCounts: [9, 8, 7, 6, 5]), AlphaLoss(alpha: 2), LogitClipLoss(),
    ]
    for loss in losses {
      let g = Tensor(shape: [0])
      let first = loss.loss(logits: z, targets: t, gradient: g)
      let firstGradient = g.toArray()
      let storage = g.pointer
      let second = loss.loss(logits: z, targets: t, gradient: g)
      #expect(first == second && g.toArray() == firstGradient && g.pointer == storage, "\(type(of: loss))")
    }
  }
}
