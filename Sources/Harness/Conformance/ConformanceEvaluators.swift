import Engine
import Methods
import NN

/// One evaluator per method: reads the case's params and inputs, runs the project's implementation
/// and returns every value it computes, by the vector file's key names.
enum ConformanceEvaluators {
  typealias Evaluator = @Sendable (ConformanceCase) throws -> [String: Computed]

  static let table: [String: Evaluator] = [
    "ce": ce, "focal": focal, "ldam": ldam, "vs": vs, "logit-adjusted": logitAdjusted, "bayias": bayias,
    "alpha": alpha, "logitclip": logitClip, "linf-dist-objective": linfDistObjective, "cals": cals,
    "absgd-loss": absgdLoss, "effective-number": effectiveNumber, "absgd": absgd,
    "randomized-smoothing": randomizedSmoothing, "randomized-smoothing-predict": randomizedSmoothingPredict,
    "linf-dist": linfDist, "unimix": unimix, "unimix-factor": unimixFactor, "average-k": averageK,
  ]

  // MARK: Helpers

  /// Throws a wrong-type error at `key` unless `condition` holds.
  static func require(_ condition: Bool, _ c: ConformanceCase, _ key: String, _ message: String) throws {
    if !condition { throw c.error(.wrongType, key, message) }
  }

  /// The logits [N, C] and targets [N] of a loss case.
  static func batch(_ c: ConformanceCase, logits key: String = "logits") throws -> (Tensor, [Int]) {
    let z = try c.tensor(key)
    return (z, try c.labels("targets", count: z.rows, classes: z.rowSize))
  }

  /// Runs a loss and reports `loss` and `grad_logits`.
  static func run(_ loss: ClassificationLoss, _ z: Tensor, _ t: [Int]) -> [String: Computed] {
    let g = Tensor(shape: [0])
    let value = loss.loss(logits: z, targets: t, gradient: g)
    return ["loss": .real(value), "grad_logits": .matrix(g)]
  }

  // MARK: kind loss

  static func ce(_ c: ConformanceCase) throws -> [String: Computed] {
    let (z, t) = try batch(c)
    return run(CrossEntropyLoss(classWeights: try c.classWeights(classes: z.rowSize)), z, t)
  }

  static func focal(_ c: ConformanceCase) throws -> [String: Computed] {
    let (z, t) = try batch(c)
    let gamma = try c.double("gamma")
    try require(gamma >= 0, c, "params.gamma", "expected gamma ≥ 0")
    return run(FocalLoss(gamma: gamma, classWeights: try c.classWeights(classes: z.rowSize)), z, t)
  }

  static func ldam(_ c: ConformanceCase) throws -> [String: Computed] {
    let (z, t) = try batch(c)
    let s = try c.double("s")
    try require(s > 0, c, "params.s", "expected s > 0")
    let loss = LDAMLoss(
      classCounts: try c.classCounts(classes: z.rowSize), maxMargin: try c.double("max_m"), scale: s,
      classWeights: try c.classWeights(classes: z.rowSize))
    return run(loss, z, t)
  }

  static func vs(_ c: ConformanceCase) throws -> [String: Computed] {
    let (z, t) = try batch(c)
    let loss = VSLoss(
      classCounts: try c.classCounts(classes: z.rowSize), gamma: try c.double("gamma"), tau: try c.double("tau"),
      classWeights: try c.classWeights(classes: z.rowSize))
    return run(loss, z, t)
  }

  static func logitAdjusted(_ c: ConformanceCase) throws -> [String: Computed] {
    let (z, t) = try batch(c)
    let loss = LogitAdjustedLoss(
      classCounts: try c.classCounts(classes: z.rowSize), tau: try c.double("tau"),
      classWeights: try c.classWeights(classes: z.rowSize))
    return run(loss, z, t)
  }

  static func bayias(_ c: ConformanceCase) throws -> [String: Computed] {
    let (z, t) = try batch(c)
    var q: [Double]? = nil
    if c.has("inf_label_distribution", in: .params) {
      let v = try c.doubles("inf_label_distribution")
      try require(
        v.count == z.rowSize && v.allSatisfy { $0 > 0 }, c, "params.inf_label_distribution",
        "expected \(z.rowSize) positive numbers")
      q = v
    }
    let loss = BayiasLoss(classCounts: try c.classCounts(classes: z.rowSize), inferenceDistribution: q)
    guard c.has("targets_2", in: .inputs) || c.has("lam", in: .inputs) else { return run(loss, z, t) }
    let t2 = try c.labels("targets_2", count: z.rows, classes: z.rowSize)
    let lam = try c.doubles("lam", in: .inputs)
    try require(lam.count == z.rows, c, "inputs.lam", "expected \(z.rows) factors")
    let g = Tensor(shape: [0])
    let value = loss.loss(logits: z, targets: t, partnerTargets: t2, lambdas: lam.map { Float($0) }, gradient: g)
    return ["loss": .real(value), "grad_logits": .matrix(g)]
  }

  static func alpha(_ c: ConformanceCase) throws -> [String: Computed] {
    let (z, t) = try batch(c)
    let a = try c.double("alpha")
    try require(
      a > 0 && a.isFinite, c, "params.alpha", "expected a finite alpha > 0 (α = ∞ is not supported by the code)")
    return run(AlphaLoss(alpha: a), z, t)
  }

  static func logitClip(_ c: ConformanceCase) throws -> [String: Computed] {
    let (z, t) = try batch(c)
    let temp = try c.double("temp")
    let lp = try c.int("lp")
    try require(temp > 0, c, "params.temp", "expected temp > 0")
    try require(lp >= 1, c, "params.lp", "expected an integer lp ≥ 1")
    let loss = LogitClipLoss(temp: temp, p: lp)
    var out = run(loss, z, t)
    out["clipped"] = .list(loss.clipped.map { .boolean($0) })
    return out
  }

  static func linfDistObjective(_ c: ConformanceCase) throws -> [String: Computed] {
    let (d, t) = try batch(c, logits: "dist_out")
    let eps = try c.double("eps")
    try require(eps > 0, c, "params.eps", "expected eps > 0")
    let objective = LinfDistObjective(
      eps: eps, clip: try c.double("clip"), lam0: try c.double("lam0"), lamEnd: try c.double("lam_end"),
      ratio: try c.double("ratio"), scalar: try c.double("scalar"))
    let g = Tensor(shape: [0])
    let loss = objective.loss(logits: d, targets: t, gradient: g)
    let logits = d.toArray().map { -objective.scalar * Double($0) }
    return [
      "lam": .real(objective.lam), "loss": .real(loss), "logits": .matrix(logits, columns: d.rowSize),
      "worst_margin": .matrix(objective.worstMargins, columns: d.rowSize), "grad_dist_out": .matrix(g),
      "grad_scalar": .real(objective.scalarGradient),
    ]
  }

  static func cals(_ c: ConformanceCase) throws -> [String: Computed] {
    let z = try c.tensor("logits")
    let classes = z.rowSize
    let name = try c.string("penalty")
    guard let kind = CALSPenalty.Kind(rawValue: name) else {
      throw c.error(
        .wrongType, "params.penalty", "expected one of \(CALSPenalty.Kind.allCases.map(\.rawValue)), got '\(name)'")
    }
    let margin = try c.double("margin")
    try require(margin > 0, c, "params.margin", "expected margin > 0")
    let lambd = try c.doubles("lambd")
    let rho = try c.doubles("rho")
    try require(lambd.count == classes, c, "params.lambd", "expected \(classes) multipliers")
    try require(
      rho.count == classes && rho.allSatisfy { $0 > 0 }, c, "params.rho", "expected \(classes) positive values")
    let penalty = CALSPenalty(
      classes: classes, margin: margin, kind: kind, normalize: try c.bool("normalize"),
      lambdaMin: try c.double("lambd_min"), lambdaMax: try c.double("lambd_max"))
    penalty.lambdas = lambd
    penalty.rhos = rho
    let g = Tensor(shape: [0])
    let (p, h) = penalty.penalty(logits: z, gradient: g)
    penalty.resetMultiplierUpdate()
    penalty.accumulateMultiplierUpdate(logits: z)
    return [
      "penalty": .real(p), "constraint": .real(h), "grad_logits": .matrix(g),
      "lambd_next": .reals(penalty.nextMultipliers()),
    ]
  }

  static func absgdLoss(_ c: ConformanceCase) throws -> [String: Computed] {
    let (z, t) = try batch(c)
    let criterion: ABSGDLoss.Criterion
    switch try c.string("criterion") {
    case "ce": criterion = .crossEntropy
    case "focal":
      let g = c.has("focal_gamma", in: .params) ? try c.double("focal_gamma") : 1
      try require(g >= 0, c, "params.focal_gamma", "expected focal_gamma ≥ 0")
      criterion = .focal(gamma: g)
    case "ldam": criterion = .ldam(classCounts: try c.classCounts(classes: z.rowSize))
    case let other: throw c.error(.wrongType, "params.criterion", "expected ce, focal or ldam, got '\(other)'")
    }
    let lambda = try c.double("lambda")
    try require(lambda != 0, c, "params.lambda", "expected lambda ≠ 0")
    let loss = ABSGDLoss(
      criterion: criterion, lambda: lambda, gamma: try c.double("gamma"), alpha: try c.double("alpha"),
      u: try c.double("u_prev"), classWeights: try c.classWeights(classes: z.rowSize))
    var out = run(loss, z, t)
    out["per_example_loss"] = .reals(loss.perExampleLosses)
    out["weights"] = .reals(loss.weights)
    out["u"] = .real(loss.state.u)
    return out
  }

  // MARK: kind class-weights, sample-weights

  static func effectiveNumber(_ c: ConformanceCase) throws -> [String: Computed] {
    let beta = try c.double("beta")
    try require(beta >= 0 && beta < 1, c, "params.beta", "expected 0 ≤ beta < 1")
    return ["weights": .reals(ClassWeights.effectiveNumber(classCounts: try c.classCounts(), beta: beta))]
  }

  static func absgd(_ c: ConformanceCase) throws -> [String: Computed] {
    let batches = try c.doubleRows("losses")
    let lambda = try c.double("lambda")
    var lambdas = [Double](repeating: lambda, count: batches.count)
    if c.has("lambdas", in: .inputs) {
      lambdas = try c.doubles("lambdas", in: .inputs)
      try require(
        lambdas.count == batches.count, c, "inputs.lambdas", "expected one lambda per batch (\(batches.count))")
    }
    try require(lambdas.allSatisfy { $0 != 0 }, c, "params.lambda", "expected lambda ≠ 0")
    var state = ABSGDWeights(
      gamma: try c.double("gamma"), alpha: try c.double("alpha"),
      u: c.has("u_init", in: .params) ? try c.double("u_init") : 0)
    var weights: [Computed] = []
    var us: [Double] = []
    var totals: [Double] = []
    var p: [Double] = []
    for (losses, lambda) in zip(batches, lambdas) {
      totals.append(state.step(losses: losses, lambda: lambda, weights: &p))
      weights.append(.reals(p))
      us.append(state.u)
    }
    return ["weights": .list(weights), "u": .reals(us), "weighted_loss": .reals(totals)]
  }

  // MARK: kind certify

  static func randomizedSmoothing(_ c: ConformanceCase) throws -> [String: Computed] {
    let nA = try c.int("n_a", in: .inputs)
    let n = try c.int("n", in: .inputs)
    let alpha = try c.double("alpha", in: .inputs)
    let sigma = try c.double("sigma", in: .inputs)
    try require(n > 0 && nA >= 0 && nA <= n, c, "inputs.n_a", "expected 0 ≤ n_a ≤ n, n > 0")
    try require(alpha > 0 && alpha < 1, c, "inputs.alpha", "expected 0 < alpha < 1")
    let r = RandomizedSmoothing.certify(nA: nA, n: n, alpha: alpha, sigma: sigma)
    return ["p_lower": .real(r.pLower), "radius": .real(r.radius), "abstain": .boolean(r.abstain)]
  }

  static func randomizedSmoothingPredict(_ c: ConformanceCase) throws -> [String: Computed] {
    let nA = try c.int("n_a", in: .inputs)
    let nB = try c.int("n_b", in: .inputs)
    try require(nA >= 0 && nB >= 0, c, "inputs.n_b", "expected counts ≥ 0")
    let r = RandomizedSmoothing.predict(nA: nA, nB: nB, alpha: try c.double("alpha", in: .inputs))
    return ["p_value": .real(r.pValue), "abstain": .boolean(r.abstain)]
  }

  // MARK: kind layer

  static func linfDist(_ c: ConformanceCase) throws -> [String: Computed] {
    let order: DistanceOrder
    if case .string("inf")? = c.params["p"] {
      order = .infinity
    } else {
      let p = try c.double("p")
      try require(p >= 1, c, "params.p", "expected p ≥ 1 or \"inf\"")
      order = .finite(p)
    }
    let x = try c.tensor("x")
    let w = try c.tensor("weight")
    let gradOut = try c.tensor("grad_out")
    try require(w.rowSize == x.rowSize, c, "inputs.weight", "expected rows of \(x.rowSize) entries")
    try require(gradOut.shape == [x.rows, w.rows], c, "inputs.grad_out", "expected shape [\(x.rows)][\(w.rows)]")
    let meanShift = try c.bool("mean_shift")
    let momentum = c.has("momentum", in: .params) ? try c.double("momentum") : 0.1
    func vector(_ key: String) throws -> Tensor? {
      guard c.has(key, in: .inputs) else { return nil }
      let v = try c.doubles(key, in: .inputs)
      try require(v.count == w.rows, c, "inputs.\(key)", "expected \(w.rows) values")
      return Tensor(shape: [v.count], values: v.map { Float($0) })
    }
    let bias = try vector("bias")
    // MeanShift's buffer starts at zeros when the case gives none.
    let running = try vector("running_mean") ?? (meanShift ? Tensor(shape: [w.rows]) : nil)
    let layer = NormDistLayer(order: order, meanShift: meanShift, momentum: momentum)
    let y = Tensor(shape: [0])
    layer.forward(x: x, weight: w, bias: bias, runningMean: running, training: true, output: y)
    let gx = Tensor(shape: [0])
    let gw = Tensor(shape: [0])
    let gb = bias == nil ? nil : Tensor(shape: [0])
    layer.backward(gradOutput: gradOut, gradX: gx, gradWeight: gw, gradBias: gb)
    var out: [String: Computed] = ["y": .matrix(y), "grad_x": .matrix(gx), "grad_weight": .matrix(gw)]
    if let gb { out["grad_bias"] = .reals(gb.toArray()) }
    if let running, meanShift { out["running_mean_next"] = .reals(running.toArray()) }
    return out
  }

  // MARK: kind sampler

  static func unimix(_ c: ConformanceCase) throws -> [String: Computed] {
    let counts = try c.classCounts()
    let labels = try c.labels("labels", classes: counts.count)
    let tau = try c.double("tau")
    return [
      "index_probabilities": .reals(UniMix.partnerProbabilities(labels: labels, classCounts: counts, tau: tau)),
      "class_probabilities": .reals(UniMix.classProbabilities(labels: labels, classCounts: counts, tau: tau)),
    ]
  }

  static func unimixFactor(_ c: ConformanceCase) throws -> [String: Computed] {
    let counts = try c.classCounts()
    let l1 = try c.labels("labels_1", classes: counts.count)
    let l2 = try c.labels("labels_2", count: l1.count, classes: counts.count)
    let levels = try c.doubles("levels", in: .inputs)
    try require(levels.allSatisfy { $0 >= 0 && $0 <= 1 }, c, "inputs.levels", "expected levels in [0, 1]")
    let alpha = try c.double("alpha")
    try require(alpha > 0, c, "params.alpha", "expected alpha > 0")
    let factors = zip(l1, l2).map { UniMix.Factor(count1: counts[$0], count2: counts[$1], alpha: alpha) }
    return [
      "base": .reals(factors.map(\.base)), "mean": .reals(factors.map(\.mean)),
      "quantiles": .list(factors.map { f in .reals(levels.map { f.quantile($0) }) }),
    ]
  }

  // MARK: kind set-prediction

  static func averageK(_ c: ConformanceCase) throws -> [String: Computed] {
    let probs = try c.doubleRows("probs")
    let classes = probs.first?.count ?? 0
    try require(
      !probs.isEmpty && classes > 0 && probs.allSatisfy { $0.count == classes }, c, "inputs.probs",
      "expected a non-empty rectangular matrix")
    let labels = try c.labels("labels", count: probs.count, classes: classes)
    let k = try c.double("k")
    try require(k > 0, c, "params.k", "expected k > 0")
    let r = AverageK.evaluate(scores: probs, labels: labels, k: k)
    var out: [String: Computed] = [
      "threshold": .real(r.threshold), "set_sizes": .list(r.setSizes.map { .integer($0) }),
      "mean_set_size": .real(r.meanSetSize), "average_k_error": .real(r.averageKError),
    ]
    if let sets = r.topKSets { out["top_k_sets"] = .list(sets.map { .list($0.map { .integer($0) }) }) }
    if let e = r.topKError { out["top_k_error"] = .real(e) }
    return out
  }
}
