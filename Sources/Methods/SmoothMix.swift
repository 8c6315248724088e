import Engine
import Foundation
import NN

/// SmoothMix training (Jeong, Park, Kim, Lee, Shin, NeurIPS 2021), one optimiser step per batch.
///
/// F(x) = (1/m) Σ_i softmax(f(x + δ_i)) is the smoothed soft prediction over m fixed noises. For a
/// batch (x, y) of b examples:
/// 1. draw δ_1..δ_m ~ N(0, σ²I) (pixel units), kept for the whole step;
/// 2. adversarial search in evaluation mode, from adv = x, for t = 0..T−1: if t = mix_step,
///    x₀ ← adv; g = ∇_adv Σ_j −log max(F(adv_j)_{y_j}, 1e−20); adv ← clamp_[0,1](adv + α·g/(‖g‖₂ + 1e−8))
///    (per-sample pixel-space ℓ2 norm; no ε-ball: `maxnorm` is None). x₁ = adv. x₀ (x itself when
///    mix_step = 0) is renormed to ‖x₀ − x‖₂ ≤ α·mix_step·w_e around x and clamped;
/// 3. training mode, clean branch: logits of [x + δ_1; …; x + δ_m]; L_ce = mean CE over the m·b rows;
///    p̂_j = mean_i softmax (not detached, as the code);
/// 4. λ_j ~ U(0, ½): x_mix = (1 − λ)x₀ + λx₁, target t = (1 − λ)p̂ + λ·u (u uniform over K classes);
///    KL_row = Σ_k t_k(log t_k − log softmax(f(x_mix + δ_i))_k) with the same δ's;
/// 5. c_j = [argmax p̂_j = y_j] (no gradient);
/// 6. loss = L_ce + η·w_e·mean over the m·b rows of c·KL_row (masked rows count in the mean),
///    with the warm-up w_e = min(1, (e + 1)/warmup) in epoch e (0-based); one SGD step.
///
/// Differences from the official loop, on purpose:
/// - The official loader batch B is split into m chunks of B/m examples, one optimiser step each; here
///   one trainer batch is one chunk, so set the manifest's `batch_size` to B/m (CIFAR: 256/2 = 128).
/// - The clean and mixed branches run as ONE forward pass over 2·m·b rows (one backward). Without batch
///   normalisation (the MLP / small CNN here, LeNet on MNIST) this is exactly the official two forward
///   passes; with batch normalisation the statistics would pool both branches.
///
/// **References:**
/// - Jeong et al., "SmoothMix: Training Confidence-calibrated Smoothed Classifiers for Certified
///   Robustness", NeurIPS 2021; jh-jeong/smoothmix `code/train.py` (`_mixup_data`, `_avg_softmax`,
///   the `train` loop), `code/train_utils.py` `SmoothMix_PGD`.
public final class SmoothMixTraining: TrainingHooks {
  /// The registry entry: `smoothmix` with the argparse defaults of `code/train.py`.
  public static let definition = ComponentDefinition(
    name: "smoothmix", version: 1,
    parameters: [
      "sigma": .number(0.25), "copies": .number(1), "steps": .number(8), "step_size": .number(1.0),
      "eta": .number(1.0), "mix_step": .number(0), "warmup": .number(10),
    ]
  ) { spec, context in
    let hook = SmoothMixTraining(
      noise: PixelNoise(sigma: try spec.number("sigma", { $0 >= 0 }), normalization: context.normalization),
      copies: try spec.integer("copies", min: 1), steps: try spec.integer("steps", min: 1),
      stepSize: try spec.number("step_size", { $0 >= 0 }), eta: try spec.number("eta", { $0 >= 0 }),
      mixStep: try spec.integer("mix_step"), warmup: try spec.integer("warmup", min: 1),
      key: context.key.split("smoothmix"))
    guard hook.mixStep < hook.steps else {
      throw JobFailure(
        .badSpec, "component 'smoothmix': mix_step (\(hook.mixStep)) must be below steps (\(hook.steps))")
    }
    return hook
  }

  /// The noise (σ).
  public let noise: PixelNoise
  /// m noises per example, T attack steps, α (pixel-space ℓ2 step), η and mix_step.
  public let copies: Int, steps: Int, stepSize: Double, eta: Double, mixStep: Int
  /// Warm-up epochs of η and of x₀'s radius.
  public let warmup: Int
  private let key: RandomKey

  // Buffers reused across steps.
  /// The fixed noises δ (rows i·b + j, normalised units) of the current step.
  let deltas = Tensor(shape: [0])
  /// The attack's x₁ (`adv`), x₀ (`start`) and input gradient of the current step.
  let adv = Tensor(shape: [0]), start = Tensor(shape: [0]), gradient = Tensor(shape: [0])
  private let noisy = Tensor(shape: [0])
  private let averaged = Tensor(shape: [0]), mixed = Tensor(shape: [0]), both = Tensor(shape: [0])
  private let dLogits = Tensor(shape: [0])
  private var probabilities: [Double] = []
  private var labels: [Int] = []

  /// Creates the hook.
  public init(
    noise: PixelNoise, copies: Int, steps: Int, stepSize: Double, eta: Double, mixStep: Int, warmup: Int,
    key: RandomKey
  ) {
    self.noise = noise
    self.copies = copies
    self.steps = steps
    self.stepSize = stepSize
    self.eta = eta
    self.mixStep = mixStep
    self.warmup = warmup
    self.key = key
  }

  /// The warm-up factor w_e = min(1, (e + 1)/warmup).
  public func warmupFactor(epoch: Int) -> Double { Swift.min(1, Double(epoch + 1) / Double(warmup)) }

  /// rows [x + δ_1; …; x + δ_m] of the fixed noises into `out`.
  private func addDeltas(_ x: Tensor, into out: Tensor) {
    let b = x.rows
    let d = x.rowSize
    out.resize(deltas.shape)
    for copy in 0..<copies {
      for j in 0..<b {
        let o = out.pointer + (copy * b + j) * d
        let dl = deltas.pointer + (copy * b + j) * d
        let xj = x.pointer + j * d
        for k in 0..<d { o[k] = xj[k] + dl[k] }
      }
    }
  }

  /// The loss Σ_j −log max(F(adv_j)_{y_j}, 1e−20) and its gradient with respect to adv (normalised
  /// units) in `gradient` [b, D]; evaluation mode.
  func smoothedNLLGradient(_ model: Classifier, _ x: Tensor, labels y: [Int]) -> Double {
    let b = x.rows
    let d = x.rowSize
    let m = copies
    addDeltas(x, into: noisy)
    let logits = model.forward(noisy, training: false)
    let c = logits.rowSize
    if probabilities.count != m * b * c { probabilities = [Double](repeating: 0, count: m * b * c) }
    dLogits.resize(logits.shape)
    var loss = 0.0
    for j in 0..<b {
      var fy = 0.0
      for i in 0..<m {
        let r = i * b + j
        let lse = Kernels.logSumExp(logits.pointer + r * c, cols: c)
        for k in 0..<c { probabilities[r * c + k] = exp(Double(logits[r * c + k]) - lse) }
        fy += probabilities[r * c + y[j]] / Double(m)
      }
      loss -= log(Swift.max(fy, 1e-20))
      // ∂/∂z_{(i,j),k} of −log F_y = −(1/(m F_y))·p_y·([k = y] − p_k); clamp_min passes no gradient below 1e-20.
      let factor = fy > 1e-20 ? -1 / (Double(m) * fy) : 0
      for i in 0..<m {
        let r = i * b + j
        let py = probabilities[r * c + y[j]]
        for k in 0..<c {
          dLogits[r * c + k] = Float(factor * py * ((k == y[j] ? 1 : 0) - probabilities[r * c + k]))
        }
      }
    }
    let dInput = model.backward(dLogits)
    gradient.resize(x.shape)
    gradient.fill(0)
    for i in 0..<m {
      for j in 0..<b {
        let g = gradient.pointer + j * d
        let s = dInput.pointer + (i * b + j) * d
        for k in 0..<d { g[k] += s[k] }
      }
    }
    return loss
  }

  /// adv ← clamp(adv + α·g/(‖g‖₂ + 1e−8)), with g and the norm in pixel space.
  private func ascend(_ x: Tensor) {
    let d = x.rowSize
    let c = noise.channels
    for j in 0..<x.rows {
      let g = gradient.pointer + j * d
      // Pixel-space gradient: ∂L/∂pixel = (∂L/∂normalised)/s_c.
      var sq = 0.0
      for k in 0..<d {
        let p = Double(g[k]) / Double(noise.channelStd[k % c])
        sq += p * p
      }
      let scale = stepSize / (sq.squareRoot() + 1e-8)
      let a = x.pointer + j * d
      for k in 0..<d {
        let s = Double(noise.channelStd[k % c])
        a[k] += Float(scale * Double(g[k]) / (s * s))
      }
    }
    noise.clampToPixelRange(x)
  }

  /// Renorms each row of `v − x` to pixel-space ℓ2 norm ≤ radius, then clamps to the pixel range.
  private func project(_ v: Tensor, around x: Tensor, radius: Double) {
    let d = x.rowSize
    for j in 0..<x.rows {
      let a = v.pointer + j * d
      let o = x.pointer + j * d
      for k in 0..<d { a[k] -= o[k] }
      let norm = noise.pixelNorm(a, count: d)
      let shrink = norm > radius ? Float(radius / (norm + 1e-7)) : 1
      for k in 0..<d { a[k] = o[k] + shrink * a[k] }
    }
    noise.clampToPixelRange(v)
  }

  /// SmoothMix_PGD: (x₀, x₁) into `start` and `adv`.
  func attack(_ model: Classifier, _ x: Tensor, labels y: [Int], epoch: Int) {
    adv.copy(from: x)
    start.copy(from: x)
    for t in 0..<steps {
      if t == mixStep { start.copy(from: adv) }
      _ = smoothedNLLGradient(model, adv, labels: y)
      ascend(adv)
    }
    project(start, around: x, radius: stepSize * Double(mixStep) * warmupFactor(epoch: epoch))
  }

  public func trainStep(_ trainer: Trainer, _ batch: TrainingBatch) throws -> StepOutcome? {
    let model = trainer.model
    model.needsInputGradient = true
    let x = batch.inputs
    let y = batch.labels
    let b = x.rows
    let d = x.rowSize
    let m = copies
    var stream = key.fold(batch.epoch).fold(batch.step).stream()
    // 1. Fixed noises δ_i (rows i·b + j), in normalised units.
    deltas.resize([m * b] + Array(x.shape.dropFirst()))
    noise.fillNoise(deltas, stream: &stream)
    // 2. The adversarial pair, evaluation mode.
    attack(model, x, labels: y, epoch: batch.epoch)
    // 4. Mixed inputs.
    var lambdas = [Double](repeating: 0, count: b)
    for j in 0..<b { lambdas[j] = 0.5 * stream.nextDouble() }
    mixed.resize(x.shape)
    for j in 0..<b {
      let l = Float(lambdas[j])
      for k in 0..<d { mixed[j * d + k] = (1 - l) * start[j * d + k] + l * adv[j * d + k] }
    }
    // 3 + 4. One training forward over [clean noisy rows; mixed noisy rows].
    both.resize([2 * m * b] + Array(x.shape.dropFirst()))
    addDeltas(x, into: noisy)
    both.pointer.update(from: noisy.pointer, count: m * b * d)
    addDeltas(mixed, into: noisy)
    (both.pointer + m * b * d).update(from: noisy.pointer, count: m * b * d)
    let logits = model.forward(both, training: true)
    let value = Self.loss(
      logits: logits, labels: y, copies: m, lambdas: lambdas, eta: eta * warmupFactor(epoch: batch.epoch),
      gradient: dLogits, averaged: averaged)
    _ = model.backward(dLogits)
    trainer.optimizer.step(model.parameters)
    return StepOutcome(loss: value, logits: averaged)
  }

  /// SmoothMix's loss (steps 3–6) on the logits of [clean rows (m·b); mixed rows (m·b)], its gradient
  /// with respect to them in `grad`, and log p̂ [b, K] in `averaged` (the rows the trainer counts errors
  /// on). `eta` is η·w_e.
  static func loss(
    logits: Tensor, labels y: [Int], copies m: Int, lambdas: [Double], eta: Double, gradient grad: Tensor,
    averaged: Tensor
  ) -> Double {
    let b = y.count
    let c = logits.rowSize
    let rows = m * b
    precondition(logits.rows == 2 * rows, "expected \(2 * rows) rows, got \(logits.rows)")
    grad.resize(logits.shape)
    var p = [Double](repeating: 0, count: 2 * rows * c)  // softmax of every row
    for r in 0..<(2 * rows) {
      let lse = Kernels.logSumExp(logits.pointer + r * c, cols: c)
      for k in 0..<c { p[r * c + k] = exp(Double(logits[r * c + k]) - lse) }
    }
    // Clean cross-entropy, mean over the m·b rows.
    var ce = 0.0
    for r in 0..<rows {
      let t = y[r % b]
      ce -= log(Swift.max(p[r * c + t], 1e-300))
      for k in 0..<c { grad[r * c + k] = Float((p[r * c + k] - (k == t ? 1 : 0)) / Double(rows)) }
    }
    ce /= Double(rows)
    // p̂, the targets, the mask and the KL term.
    averaged.resize([b, c])
    var kl = 0.0
    var pHat = [Double](repeating: 0, count: c)
    var target = [Double](repeating: 0, count: c)
    var dTarget = [Double](repeating: 0, count: c)
    for j in 0..<b {
      for k in 0..<c {
        var s = 0.0
        for i in 0..<m { s += p[(i * b + j) * c + k] }
        pHat[k] = s / Double(m)
        averaged[j * c + k] = Float(log(Swift.max(pHat[k], 1e-300)))
      }
      var best = 0
      for k in 1..<c where pHat[k] > pHat[best] { best = k }
      guard best == y[j], eta > 0 else { continue }  // c_j = 0: the row adds 0 to the mean
      let coefficient = eta / Double(rows)
      for k in 0..<c { target[k] = (1 - lambdas[j]) * pHat[k] + lambdas[j] / Double(c) }
      for k in 0..<c { dTarget[k] = 0 }
      for i in 0..<m {
        let r = rows + i * b + j
        let lse = Kernels.logSumExp(logits.pointer + r * c, cols: c)
        for k in 0..<c where target[k] > 0 {
          let logQ = Double(logits[r * c + k]) - lse
          kl += coefficient * target[k] * (log(target[k]) - logQ)
          // ∂/∂t_k of t_k(log t_k − log q_k) = log t_k + 1 − log q_k.
          dTarget[k] += coefficient * (log(target[k]) + 1 - logQ)
        }
        // ∂KL/∂z_mix = q − t (Σ t = 1).
        for k in 0..<c { grad[r * c + k] = Float(coefficient * (p[r * c + k] - target[k])) }
      }
      // Through t = (1 − λ)p̂ + λu and p̂ = mean_i softmax(z_clean_i): the softmax Jacobian per clean row.
      for i in 0..<m {
        let r = i * b + j
        var dot = 0.0
        for k in 0..<c { dot += dTarget[k] * p[r * c + k] }
        let scale = (1 - lambdas[j]) / Double(m)
        for k in 0..<c {
          grad[r * c + k] += Float(scale * p[r * c + k] * (dTarget[k] - dot))
        }
      }
    }
    return ce + kl
  }
}
