import Engine

/// An ℓp-distance layer as a network ``Layer``: y_j = ‖x − w_j‖_p (− the mean shift) (+ bias), negated
/// for the output layer so that the logits are z = −(u + b) (the net predicts the class with the
/// smallest distance). The math is ``NormDistLayer``'s; this adds the parameters, the running mean
/// (a buffer, not trained), the order p a training schedule changes, and interval bounds for p = ∞.
///
/// Initialisation (`NormDist.__init__` with `std=1.0`, `identity_val=10`): W ~ N(0, 1), then when
/// inputs ≤ outputs W[j, j mod inputs] = −10, so u_j ≈ x_{j mod inputs} + 10 at start; bias 0. The
/// manifest's `init` scheme is ignored (the official network has its own).
///
/// **References:**
/// - zbh2047/L_inf-dist-net-v2 `core/modules/norm_dist.py` `NormDistBase.__init__`,
///   `ell_inf_models.py` `MLPModel`, `core/modules/basic_modules.py` `MeanShift`.
public final class LpDistLinear: Layer {
  /// The weights [outputs, inputs] and the optional bias [outputs].
  public let weight: Parameter, bias: Parameter?
  /// The running mean of the mean shift [outputs] (nil without mean shift).
  public let runningMean: Tensor?
  /// Whether the output is negated (the last layer).
  public let negate: Bool
  /// Input and output widths.
  public let inputs: Int, outputs: Int
  /// The identity-initialisation value.
  public let identityValue: Float
  public var needsInputGradient = true
  let math: NormDistLayer
  private let output = Tensor(shape: [0]), gradX = Tensor(shape: [0]), negated = Tensor(shape: [0])
  private var training = true

  /// A layer `inputs → outputs`.
  public init(_ inputs: Int, _ outputs: Int, meanShift: Bool, bias: Bool, negate: Bool, identityValue: Float = 10) {
    self.inputs = inputs
    self.outputs = outputs
    self.negate = negate
    self.identityValue = identityValue
    weight = Parameter(name: "weight", shape: [outputs, inputs])
    self.bias = bias ? Parameter(name: "bias", shape: [outputs]) : nil
    runningMean = meanShift ? Tensor(shape: [outputs]) : nil
    math = NormDistLayer(order: .finite(8), meanShift: meanShift)
  }

  /// The distance order p (the training schedule raises it to ∞).
  public var order: DistanceOrder {
    get { math.order }
    set { math.order = newValue }
  }

  public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

  public func initialize(_ scheme: Initialization, key: RandomKey) {
    var s = key.split("weight").stream()
    s.fillNormal(weight.value.buffer, mean: 0, std: 1)
    if inputs <= outputs {
      for j in 0..<outputs { weight.value[j * inputs + j % inputs] = -identityValue }
    }
    bias?.value.fill(0)
    runningMean?.fill(0)
  }

  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    self.training = training
    math.forward(
      x: x, weight: weight.value, bias: bias?.value, runningMean: runningMean, training: training, output: output)
    if negate { for k in 0..<output.count { output[k] = -output[k] } }
    return output
  }

  public func backward(_ dy: Tensor) -> Tensor {
    var g = dy
    if negate {
      negated.resize(dy.shape)
      for k in 0..<dy.count { negated[k] = -dy[k] }
      g = negated
    }
    math.backward(gradOutput: g, gradX: gradX, gradWeight: weight.grad, gradBias: bias?.grad, training: training)
    return gradX
  }

  /// Interval bounds of the evaluation-mode output for inputs in the box [lower, upper] ([N, inputs]),
  /// with p = ∞ (whatever ``order`` is): for neuron j, max_i max(w_i − l_i, u_i − w_i) bounds ‖x − w‖_∞
  /// from above and max_i max(l_i − w_i, w_i − u_i, 0) from below; then − running mean, + bias, and the
  /// negation (which swaps the bounds). `ell_inf_models.py` certified branch (`NormDist` with bounds).
  public func intervalBounds(lower: Tensor, upper: Tensor, outLower: Tensor, outUpper: Tensor) {
    let n = lower.rows
    precondition(lower.rowSize == inputs && upper.count == lower.count, "bounds must be [N, \(inputs)]")
    outLower.resize([n, outputs])
    outUpper.resize([n, outputs])
    for r in 0..<n {
      let l = lower.pointer + r * inputs
      let u = upper.pointer + r * inputs
      for j in 0..<outputs {
        let w = weight.value.pointer + j * inputs
        let (lo, hi) = LpKernels.intervalBound(w, lower: l, upper: u, count: inputs)
        let shift = (bias?.value[j] ?? 0) - (runningMean?[j] ?? 0)
        if negate {
          outLower[r * outputs + j] = -(hi + shift)
          outUpper[r * outputs + j] = -(lo + shift)
        } else {
          outLower[r * outputs + j] = lo + shift
          outUpper[r * outputs + j] = hi + shift
        }
      }
    }
  }
}

extension ModelZoo {
  /// The ℓ∞-dist net `MLPModel(depth, width)`: Flatten → (ℓp-dist + mean shift) per hidden width → ℓp-dist
  /// to the classes with a bias, negated; no activations (the distance is the non-linearity). With p = ∞
  /// every layer is 1-Lipschitz in ℓ∞, so a margin m of the logits certifies radius m/2.
  /// zbh2047/L_inf-dist-net-v2 `ell_inf_models.py` `MLPModel` (the learnable output scale lives in the
  /// training objective, not in the network).
  static func linfDist(inputShape: [Int], classes: Int, widths: [Int]) -> Classifier {
    var layers: [Layer] = [Flatten()]
    var d = inputShape.reduce(1, *)
    for w in widths {
      layers.append(LpDistLinear(d, w, meanShift: true, bias: false, negate: false))
      d = w
    }
    return Classifier(
      features: Sequential(layers), head: LpDistLinear(d, classes, meanShift: false, bias: true, negate: true),
      featureSize: d, classes: classes, inputShape: inputShape)
  }

  /// The ℓp-dist layers of a network built by ``linfDist(inputShape:classes:widths:)``, first to last.
  public static func distanceLayers(of model: Classifier) -> [LpDistLinear] {
    (model.features.layers + [model.head]).compactMap { $0 as? LpDistLinear }
  }
}
