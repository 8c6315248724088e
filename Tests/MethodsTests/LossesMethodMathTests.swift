import Engine
import Foundation
import Methods
import NN
import Testing
import _ReplicateTestSupport

/// The non-loss method math: class weights, ABSGD weights, CALS multipliers, certification
/// statistics, average-K, UniMix and the ℓp-distance layer. Reference numbers are hand-computed,
/// from the method specs' worked examples, or from SciPy 1.17 where stated.
@Suite struct LossesMethodMathTests {
  // MARK: Effective number

  @Test func effectiveNumberCIFAR10() {
    // NumPy + float32, as LDAM-DRW's cifar_train.py with β = 0.9999.
    let w = ClassWeights.effectiveNumber(
      classCounts: [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50], beta: 0.9999)
    let expected: [Float] = [
      0.05061136186122894, 0.07689979672431946, 0.12113387137651443, 0.19503666460514069, 0.31880536675453186,
      0.5245898365974426, 0.8683489561080933, 1.4426273107528687, 2.4092230796813965, 3.9927237033843994,
    ]
    #expect(w == expected)
  }

  @Test(arguments: [[3, 3, 3], [1, 7, 1000], [5000, 50]], [0.0, 0.9, 0.999, 0.9999])
  func effectiveNumberSumsToC(counts: [Int], beta: Double) {
    let w = ClassWeights.effectiveNumber(classCounts: counts, beta: beta)
    expectApprox(w.reduce(0.0) { $0 + Double($1) }, Double(counts.count), abs: 1e-5)
    if beta == 0 { #expect(w.allSatisfy { $0 == 1 }) }
    // Rarer classes weigh at least as much.
    for i in counts.indices { for j in counts.indices where counts[i] < counts[j] { #expect(w[i] >= w[j]) } }
  }

  @Test func drwSwitchesAtItsEpoch() {
    let counts = [100, 10]
    #expect(ClassWeights.deferred(classCounts: counts, epoch: 159, startEpoch: 160) == [1, 1])
    #expect(
      ClassWeights.deferred(classCounts: counts, epoch: 160, startEpoch: 160)
        == ClassWeights.effectiveNumber(classCounts: counts, beta: 0.9999))
  }

  // MARK: ABSGD

  @Test func absgdWorkedExample() {
    // absgd.md §1: γ = 0.7, α = 0.5, u₀ = 0, λ = 1, ℓ = (0.1, 0.5, 1, 2), the same batch twice.
    var state = ABSGDWeights(gamma: 0.7, alpha: 0.5)
    var p: [Double] = []
    let losses = [0.1, 0.5, 1, 2]
    var total = state.step(losses: losses, lambda: 1, weights: &p)
    expectApprox(state.u, 1.125358, abs: 1e-6)
    expectApprox(p, [0.245515, 0.366266, 0.603871, 1.641491], abs: 1e-6)
    expectApprox(p.reduce(0, +), 1 / (0.7 * 0.5), abs: 1e-12)
    expectApprox(total, 4.094537, abs: 1e-6)
    total = state.step(losses: losses, lambda: 1, weights: &p)
    expectApprox(state.u, 1.462965, abs: 1e-6)
    expectApprox(total, 3.149643, abs: 1e-6)
    var noisy = ABSGDWeights(gamma: 0.7, alpha: 0.5)
    expectApprox(noisy.step(losses: losses, lambda: -1, weights: &p), 1.464038, abs: 1e-6)
    expectApprox(noisy.u, 0.176276, abs: 1e-6)
  }

  @Test func absgdPlainMeanSentinelLeavesUAlone() {
    var state = ABSGDWeights(gamma: 0.5, alpha: 1, u: 0.25)
    var p: [Double] = []
    let total = state.step(losses: [1, 3], lambda: 200, weights: &p)
    #expect(p == [0.5, 0.5] && state.u == 0.25 && total == 2)
  }

  // MARK: CALS

  @Test func calsWorkedExample() {
    // cals.md: z = (5, 2, −10), m = 10, λ = (1e-6, 0.5, 2), ρ = 1, PHR: h = (−1, −0.7, 0.5),
    // P = (−5e-13, −0.125, 1.125), P′ = (0, 0, 2.5), mean P = 0.333333.
    let penalty = CALSPenalty(classes: 3, margin: 10, kind: .phr, normalize: true)
    penalty.lambdas = [1e-6, 0.5, 2]
    let z = Tensor(shape: [1, 3], values: [5, 2, -10])
    let (p, h) = penalty.penalty(logits: z)
    expectApprox(p, (-5e-13 - 0.125 + 1.125) / 3, abs: 1e-12)
    expectApprox(h, (-1 - 0.7 + 0.5) / 3, abs: 1e-12)
    penalty.resetMultiplierUpdate()
    penalty.accumulateMultiplierUpdate(logits: z)
    // P′ clamped to [λ_min, λ_max] per sample, then averaged.
    expectApprox(penalty.nextMultipliers(), [1e-6, 1e-6, 2.5], abs: 1e-15)
  }

  @Test func calsTiedMaximaShareTheGradient() {
    let penalty = CALSPenalty(classes: 3, margin: 10, kind: .p2, normalize: false)
    penalty.lambdas = [1, 1, 1]
    let z = Tensor(shape: [1, 3], repeating: 4)
    let g = Tensor(shape: [0])
    _ = penalty.penalty(logits: z, gradient: g)
    // h = −10 everywhere; P′ = λ/(1 + 10)²; ∂/∂x_k = (Σ_j P′)/3/3 − P′/3 = 0.
    expectApprox(g.toArray(), [0, 0, 0] as [Double], abs: 1e-9)
  }

  // MARK: Certification statistics

  @Test func clopperPearsonAndRadius() {
    // SciPy: beta.ppf(0.001, 990, 11) = 0.9760361871553114; norm.ppf(0.975) = 1.959963984540054.
    let r = RandomizedSmoothing.certify(nA: 990, n: 1000, alpha: 0.001, sigma: 0.25)
    expectApprox(r.pLower, 0.9760361871553114, abs: 0, rel: 1e-10)
    expectApprox(r.radius, 0.25 * Statistics.normalQuantile(r.pLower), abs: 0, rel: 1e-14)
    #expect(!r.abstain)
    expectApprox(Statistics.normalQuantile(0.975), 1.959963984540054, abs: 0, rel: 1e-13)
    expectApprox(Statistics.normalQuantile(1e-10), -6.361340902404056, abs: 0, rel: 1e-12)
    #expect(Statistics.normalQuantile(0.5) == 0)
    // Edge cases: all successes gives α^{1/n}, none gives 0 and abstains.
    expectApprox(
      RandomizedSmoothing.lowerConfidenceBound(successes: 100, trials: 100, alpha: 0.001), pow(0.001, 0.01), rel: 1e-12)
    let none = RandomizedSmoothing.certify(nA: 0, n: 100, alpha: 0.001, sigma: 0.5)
    #expect(none.pLower == 0 && none.radius == 0 && none.abstain)
  }

  @Test func incompleteBeta() {
    expectApprox(Statistics.regularizedIncompleteBeta(0.5, 2, 3), 11.0 / 16, abs: 1e-15)
    expectApprox(Statistics.regularizedIncompleteBeta(0.3, 2.5, 7), 0.6412224629717214, rel: 1e-12)  // SciPy
    expectApprox(Statistics.inverseRegularizedIncompleteBeta(0.2, 0.5, 0.5), 0.09549150281252627, rel: 1e-12)  // SciPy
    #expect(Statistics.regularizedIncompleteBeta(0.5, 7.5, 7.5) == 0.5)
    for p in [1e-12, 0.01, 0.3, 0.999] {
      let x = Statistics.inverseRegularizedIncompleteBeta(p, 3, 40)
      expectApprox(Statistics.regularizedIncompleteBeta(x, 3, 40), p, rel: 1e-10)
    }
  }

  @Test func binomialTestMatchesSciPy() {
    // scipy.stats.binomtest(k, n).pvalue.
    expectApprox(Statistics.binomialTestTwoSided(60, 100), 0.05688793364098089, rel: 1e-10)
    expectApprox(Statistics.binomialTestTwoSided(3, 10), 0.34375, rel: 1e-12)
    expectApprox(Statistics.binomialTestTwoSided(7, 20), 0.26317596435546875, rel: 1e-12)
    #expect(Statistics.binomialTestTwoSided(50, 100) == 1)
    let predict = RandomizedSmoothing.predict(nA: 60, nB: 40, alpha: 0.001)
    #expect(predict.abstain)
    #expect(!RandomizedSmoothing.predict(nA: 900, nB: 50, alpha: 0.001).abstain)
  }

  // MARK: Average-K

  @Test func averageKHandComputed() {
    let scores: [[Double]] = [[0.7, 0.2, 0.1], [0.4, 0.35, 0.25]]
    // k = 1.5: m = ⌈3⌉ = 3rd largest of (0.7, 0.4, 0.35, 0.25, 0.2, 0.1) = 0.35.
    let r = AverageK.evaluate(scores: scores, labels: [1, 1], k: 1.5)
    #expect(r.threshold == 0.35 && r.setSizes == [1, 2] && r.meanSetSize == 1.5)
    #expect(r.averageKError == 0.5)
    #expect(r.topKSets == nil && r.topKError == nil)
    let top = AverageK.evaluate(scores: scores, labels: [1, 2], k: 2)
    #expect(top.topKSets == [[0, 1], [0, 1]] && top.topKError == 0.5)
    #expect(AverageK.topK([0.2, 0.5, 0.5, 0.1], k: 2) == [1, 2])
  }

  // MARK: UniMix

  @Test func unimixSamplerExample() {
    // unimix-bayias.md §1: labels (0, 0, 0, 9), CIFAR-10-LT-100 counts, τ = −0.5.
    let counts = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    let p = UniMix.partnerProbabilities(labels: [0, 0, 0, 9], classCounts: counts, tau: -0.5)
    expectApprox(p, [1 / 13, 1 / 13, 1 / 13, 10 / 13] as [Double], abs: 1e-12)
    let classes = UniMix.classProbabilities(labels: [0, 0, 0, 9], classCounts: counts, tau: -0.5)
    expectApprox(classes[0], 3.0 / 13, abs: 1e-12)
    #expect(classes[1] == 0)
    var stream = RandomKey(seed: 1).stream()
    let partners = UniMix.samplePartners(probabilities: p, stream: &stream)
    #expect(partners.count == 4 && partners.allSatisfy { (0..<4).contains($0) })
  }

  @Test func unimixFactor() {
    let tailHead = UniMix.Factor(count1: 50, count2: 5000, alpha: 0.8)
    expectApprox(tailHead.base, 5000.0 / 5050, abs: 1e-15)
    // α = 1: B is uniform, so ξ = (c + U) mod 1 is uniform whatever c.
    let uniform = UniMix.Factor(count1: 500, count2: 5, alpha: 1)
    expectApprox(uniform.mean, 0.5, abs: 1e-12)
    for q in [0.05, 0.25, 0.5, 0.75, 0.95] { expectApprox(uniform.quantile(q), q, abs: 1e-12) }
    // Equal counts: c = 1/2, symmetric law, median 1/2 (also for α > 1, where the quantile is steep).
    let equal = UniMix.Factor(count1: 10, count2: 10, alpha: 5)
    expectApprox(equal.quantile(0.5), 0.5, abs: 1e-12)
    expectApprox(equal.mean, 0.5, abs: 1e-12)
    // Draws follow the law: the empirical median of 4000 draws is near the 0.5-quantile.
    var stream = RandomKey(seed: 2).stream()
    var draws = (0..<4000).map { _ in tailHead.sample(&stream) }
    draws.sort()
    #expect(draws.allSatisfy { $0 >= 0 && $0 <= 1 })
    expectApprox(draws[2000], tailHead.quantile(0.5), abs: 0.03)
  }

  // MARK: ℓp-distance layer

  @Test func normDistForwardByHand() {
    let x = Tensor(shape: [2, 2], values: [0, 0, 3, 4])
    let w = Tensor(shape: [1, 2], values: [0, 0])
    let y = Tensor(shape: [0])
    NormDistLayer(order: .finite(2), meanShift: false).forward(x: x, weight: w, output: y)
    expectApprox(y.toArray(), [0, 5] as [Double], abs: 1e-6)
    NormDistLayer(order: .infinity, meanShift: false).forward(
      x: x, weight: w, bias: Tensor(shape: [1], values: [1]), output: y)
    expectApprox(y.toArray(), [1, 5] as [Double], abs: 0)
    // Mean shift in training: columns sum to zero, running mean ← 0.9·r + 0.1·mean u.
    let running = Tensor(shape: [1], values: [1])
    NormDistLayer(order: .infinity, meanShift: true, momentum: 0.1).forward(
      x: x, weight: w, runningMean: running, output: y)
    expectApprox(y.toArray(), [-2, 2] as [Double], abs: 0)
    expectApprox(Double(running[0]), 0.9 + 0.1 * 2, abs: 1e-7)
  }
}
