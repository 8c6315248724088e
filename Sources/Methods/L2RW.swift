import Engine
import NN

/// L2RW: learning to re-weight examples by a one-step look-ahead meta-gradient on a small clean set
/// (Ren, Zeng, Yang, Urtasun, ICML 2018), as the official code computes it.
///
/// Algorithm (per step; noisy or imbalanced batch of n examples, clean batch of m):
/// 1. ε ∈ ℝⁿ, ε = 0; look-ahead θ̂(ε) = θ − α ∇_θ Σ_i ε_i ℓ_i(θ)  (a sum, not a mean).
/// 2. g_i = −∂L_val(θ̂(ε))/∂ε_i at ε = 0, with L_val the mean loss of the clean batch.
/// 3. w̃_i = max(g_i, 0); w_i = w̃_i / Σ_k w̃_k, or w = 0 when Σ_k w̃_k = 0 (the divisor is set to 1).
/// 4. One optimiser step on Σ_i w_i ℓ_i(θ), w held constant.
///
/// The exact meta-gradient (derived; checked against finite differences of the look-ahead in the tests):
/// ∂θ̂/∂ε_i = −α ∇ℓ_i(θ) and θ̂(0) = θ, so g_i = α·⟨∇_θ ℓ_i(θ), ∇_θ L_val(θ)⟩. α > 0 cancels in the
/// normalisation (the official MNIST code uses α = 1, the CIFAR code the plain dot product), so the
/// method has no step size. The dot product is computed without per-example gradients: for a linear
/// layer with inputs A [n, in], output gradients Δ [n, out] of the per-example losses (rows independent
/// without BatchNorm) and clean-set gradients V_W [in, out], v_b [out],
///   ⟨∇_W ℓ_i, V_W⟩ + ⟨∇_b ℓ_i, v_b⟩ = Σ_k (A·V_W + 1·v_bᵀ)_ik Δ_ik,
/// one GEMM per layer (equivalently Σ_j (a_i·a_j)(δ_i·δ_j) over the clean examples j). Models whose
/// parameters are all in `Linear` layers (`mlp`) are supported; others are refused with `bad-spec`.
///
/// Code details followed (uber-research/learning-to-reweight-examples @ 0b616c99):
/// - `models/reweight_model.py` `_reweight` (CIFAR, default mode): g_i = ⟨∇ℓ_i, ∇cost_b⟩ with cost_b
///   the clean loss **plus** the L2 decay term, so v = ∇L_val + wd·W for decayed weights (not biases):
///   `val_weight_decay: official`; `none` gives the textbook form.
/// - `mnist/reweight.py`: ε = 0, weights clipped at 0 and normalised by the sum, divisor 1 when it is
///   0 (`eps = 0`), clean batch = the whole clean set (10 images); CIFAR: clean batches of 100.
/// - The real step uses the loss Σ_i w_i ℓ_i; the baseline's mean loss is the same with w_i = 1/n.
/// - The last partial batch of an epoch is re-weighted like the others (this trainer does not drop it;
///   the official code counts steps, not epochs). Clean batches cycle through the validation split in
///   a seeded shuffled order (stream `l2rw-clean`), dropping a remainder smaller than a batch.
///
/// Curves: `l2rw_zero_weight_fraction` (share of examples with w = 0 per epoch) and, when labels were
/// noised, `l2rw_noisy_weight_mass` (share of the total weight on mislabelled examples).
///
/// **References:**
/// - Ren, Zeng, Yang, Urtasun, "Learning to Reweight Examples for Robust Deep Learning", ICML 2018
///   (arXiv 1803.09050), Algorithm 1.
/// - uber-research/learning-to-reweight-examples `models/reweight_model.py`, `mnist/reweight.py`.
public final class LearningToReweight: TrainingHooks {
  /// The registry entry: `l2rw` with `clean_batch` (100, as the CIFAR code) and `val_weight_decay`
  /// (`official`: add wd·W to the clean gradient as the CIFAR code; `none`).
  public static let definition = ComponentDefinition(
    name: "l2rw", version: 1, parameters: ["clean_batch": .number(100), "val_weight_decay": .text("official")],
    choices: ["val_weight_decay": ["official", "none"]]
  ) { spec, context in
    let validation = try context.requireValidation(for: "l2rw")
    let batch = try spec.integer("clean_batch", min: 1)
    let decay = try spec.text("val_weight_decay") == "official" ? context.spec.train.optimizer.weightDecay : 0
    guard context.spec.method.loss.name == "ce" else {
      throw JobFailure(.badSpec, "component 'l2rw' re-weights the cross-entropy: set loss: ce")
    }
    let train = context.data.train
    let noisy = train.labels != train.trueLabels ? zip(train.labels, train.trueLabels).map { $0 != $1 } : nil
    return LearningToReweight(
      validation: validation, cleanBatch: batch, valWeightDecay: Float(decay), noisy: noisy,
      key: context.key.split("l2rw-clean"))
  }

  private let validation: BatchSource
  private let cleanBatchSize: Int
  private let valWeightDecay: Float
  private let noisy: [Bool]?
  private var cleanStream: RandomStream
  private var cleanOrder: [Int] = []
  private var cleanCursor = 0

  private var layers: [Linear] = []
  private var cleanWeightGrad: [Tensor] = [], cleanBiasGrad: [Tensor?] = []
  private let cleanInputs = Tensor(shape: [0])
  private var cleanLabels: [Int] = []
  private let gradient = Tensor(shape: [0])
  private let product = Tensor(shape: [0])
  /// The latest batch's meta-gradients g (α = 1) and weights w.
  public private(set) var metaGradients: [Double] = [], weights: [Double] = []
  private var zeroCount = 0, seenCount = 0, noisyMass = 0.0, totalMass = 0.0

  /// L2RW over clean batches of `cleanBatch` examples from `validation`.
  public init(
    validation: BatchSource, cleanBatch: Int, valWeightDecay: Float = 0, noisy: [Bool]? = nil, key: RandomKey
  ) {
    self.validation = validation
    cleanBatchSize = Swift.min(cleanBatch, validation.count)
    self.valWeightDecay = valWeightDecay
    self.noisy = noisy
    cleanStream = key.stream()
  }

  /// The model's `Linear` layers, or a failure when some parameter lives elsewhere.
  private func linearLayers(_ model: Classifier) throws -> [Linear] {
    if !layers.isEmpty { return layers }
    let found = (model.features.layers + [model.head]).compactMap { $0 as? Linear }
    guard found.reduce(0, { $0 + $1.parameters.count }) == model.parameters.count else {
      throw JobFailure(
        .badSpec, "component 'l2rw' needs a model whose parameters are all in Linear layers (model: mlp)")
    }
    layers = found
    cleanWeightGrad = found.map { Tensor(shape: $0.weight.value.shape) }
    cleanBiasGrad = found.map { $0.bias.map { Tensor(shape: $0.value.shape) } }
    return found
  }

  private func nextCleanBatch() {
    if cleanCursor + cleanBatchSize > cleanOrder.count {
      cleanOrder = cleanStream.permutation(validation.count)
      cleanCursor = 0
    }
    var none: RandomStream? = nil
    validation.fill(
      cleanOrder[cleanCursor..<(cleanCursor + cleanBatchSize)], into: cleanInputs, labels: &cleanLabels,
      augment: &none)
    cleanCursor += cleanBatchSize
  }

  /// Computes g_i = ⟨∇ℓ_i(θ), v⟩ (v = ∇L_val(θ) [+ wd·W]) for the batch and the weights w; leaves the
  /// per-example logit gradients in `gradient` and the model's caches at the training batch.
  /// Returns the batch's mean cross-entropy and its logits.
  public func computeWeights(model: Classifier, inputs: Tensor, labels: [Int]) throws -> (Double, Tensor) {
    let layers = try linearLayers(model)
    nextCleanBatch()
    // v = ∇_θ L_val(θ), L_val the mean clean loss.
    let cleanLogits = model.forward(cleanInputs, training: true)
    plainCrossEntropy(cleanLogits, cleanLabels, gradient: gradient, perRowScale: 1 / Double(cleanLabels.count))
    _ = model.backward(gradient)
    for (l, layer) in layers.enumerated() {
      let v = cleanWeightGrad[l]
      v.pointer.update(from: layer.weight.grad.pointer, count: v.count)
      if valWeightDecay != 0 {
        let w = layer.weight.value.pointer
        for k in 0..<v.count { v.pointer[k] += valWeightDecay * w[k] }
      }
      if let b = cleanBiasGrad[l], let bias = layer.bias { b.pointer.update(from: bias.grad.pointer, count: b.count) }
    }
    // Per-example output gradients of ℓ_i (unscaled), one backward pass.
    let logits = model.forward(inputs, training: true)
    let loss = plainCrossEntropy(logits, labels, gradient: gradient, perRowScale: 1)
    _ = model.backward(gradient)
    let n = labels.count
    if metaGradients.count != n { metaGradients = [Double](repeating: 0, count: n) }
    for i in 0..<n { metaGradients[i] = 0 }
    for (l, layer) in layers.enumerated() {
      guard let a = layer.lastInput, let delta = layer.lastOutputGradient else { continue }
      let (inSize, outSize) = (layer.inputSize, layer.outputSize)
      product.resize([n, outSize])
      BLAS.gemm(
        m: n, n: outSize, k: inSize, a.pointer, lda: inSize, cleanWeightGrad[l].pointer, ldb: outSize,
        product.pointer, ldc: outSize)
      let vb = cleanBiasGrad[l]?.pointer
      for i in 0..<n {
        let p = product.pointer + i * outSize
        let d = delta.pointer + i * outSize
        var s = 0.0
        for k in 0..<outSize { s += Double(p[k] + (vb?[k] ?? 0)) * Double(d[k]) }
        metaGradients[i] += s
      }
    }
    weights = Self.normalizedWeights(metaGradients)
    return (loss, logits)
  }

  /// w_i = max(g_i, 0)/Σ_k max(g_k, 0), all zero when the sum is 0 (clip first, then normalise).
  public static func normalizedWeights(_ g: [Double]) -> [Double] {
    let clipped = g.map { Swift.max($0, 0) }
    let sum = clipped.reduce(0, +)
    let divisor = sum == 0 ? 1 : sum
    return clipped.map { $0 / divisor }
  }

  public func trainStep(_ trainer: Trainer, _ batch: TrainingBatch) throws -> StepOutcome? {
    let (loss, logits) = try computeWeights(model: trainer.model, inputs: batch.inputs, labels: batch.labels)
    // The real step: ∂(Σ_i w_i ℓ_i)/∂z_i = w_i·∂ℓ_i/∂z_i; the caches still hold the training batch.
    let c = gradient.rowSize
    for (i, w) in weights.enumerated() {
      let row = gradient.pointer + i * c
      for j in 0..<c { row[j] *= Float(w) }
    }
    _ = trainer.model.backward(gradient)
    trainer.optimizer.step(trainer.model.parameters)
    for (i, w) in weights.enumerated() {
      if w == 0 { zeroCount += 1 }
      if let noisy, noisy[batch.positions[batch.positions.startIndex + i]] { noisyMass += w }
      totalMass += w
    }
    seenCount += weights.count
    return StepOutcome(loss: loss, logits: logits)
  }

  public func epochEnd(_ trainer: Trainer, epoch: Int) throws {
    trainer.curves["l2rw_zero_weight_fraction", default: []].append(Double(zeroCount) / Double(Swift.max(seenCount, 1)))
    if noisy != nil {
      trainer.curves["l2rw_noisy_weight_mass", default: []].append(totalMass > 0 ? noisyMass / totalMass : 0)
    }
    (zeroCount, seenCount, noisyMass, totalMass) = (0, 0, 0, 0)
  }

  public func finish(_ trainer: Trainer, output: inout JobOutput) throws {
    if let last = trainer.curves["l2rw_zero_weight_fraction"]?.last {
      output.overall["l2rw_zero_weight_fraction"] = last
    }
    if let last = trainer.curves["l2rw_noisy_weight_mass"]?.last { output.overall["l2rw_noisy_weight_mass"] = last }
  }
}
