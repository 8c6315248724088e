import Engine

/// A trainable tensor and its gradient.
///
/// Optimisers keep their state per parameter (keyed by identity), so two-stage methods can freeze a
/// parameter (``isTrainable``) or re-initialise it without touching the others.
public final class Parameter: @unchecked Sendable {
  /// A readable path such as `features.2.weight`.
  public var name: String
  /// The current value.
  public let value: Tensor
  /// ∂loss/∂value from the latest backward pass (overwritten by each backward pass).
  public let grad: Tensor
  /// Whether optimisers update it.
  public var isTrainable = true

  /// A parameter of the given shape, zero-initialised.
  public init(name: String, shape: [Int]) {
    self.name = name
    value = Tensor(shape: shape)
    grad = Tensor(shape: shape)
  }
}

/// How a layer's weights are initialised.
public enum Initialization: String, Sendable, Codable, CaseIterable {
  /// PyTorch's layer defaults: weight Kaiming-uniform with a = √5, i.e. U(±1/√fan_in); bias U(±1/√fan_in).
  case torchDefault = "torch-default"
  /// Kaiming-normal (fan_in, ReLU gain √2): N(0, 2/fan_in) for weights; biases keep PyTorch's default
  /// U(±1/√fan_in). kaiming/LDAM-DRW `models/resnet_cifar.py` `_weights_init`.
  case kaimingNormal = "kaiming-normal"
}

/// A differentiable layer with an explicit forward and backward pass.
///
/// `forward` returns a tensor the layer owns (reused from step to step); `backward` takes ∂loss/∂output,
/// writes the parameters' gradients and returns ∂loss/∂input (also layer-owned). A layer remembers
/// what it needs from the latest forward pass; call `backward` after the `forward` it belongs to.
public protocol Layer: AnyObject {
  /// The layer's parameters, in a fixed order.
  var parameters: [Parameter] { get }
  /// Runs the layer. `training` selects batch statistics (BatchNorm) and masks (Dropout).
  func forward(_ x: Tensor, training: Bool) -> Tensor
  /// Back-propagates ∂loss/∂output; returns ∂loss/∂input.
  func backward(_ dy: Tensor) -> Tensor
  /// Re-initialises the parameters from `key`.
  func initialize(_ scheme: Initialization, key: RandomKey)
  /// When false the layer may skip computing ∂loss/∂input (the first layer of a network).
  var needsInputGradient: Bool { get set }
}

extension Layer {
  public func initialize(_ scheme: Initialization, key: RandomKey) {}
  public var parameters: [Parameter] { [] }
}

/// A layer holding state that is not a parameter but changes in training (BatchNorm's running mean
/// and variance); probes that take a step and undo it save and restore these tensors with the weights.
public protocol StatefulLayer: Layer {
  /// The non-parameter tensors training changes, in a fixed order.
  var runningStatistics: [Tensor] { get }
}

extension BatchNorm: StatefulLayer {
  public var runningStatistics: [Tensor] { [runningMean, runningVar] }
}

extension Sequential: StatefulLayer {
  public var runningStatistics: [Tensor] {
    layers.flatMap { ($0 as? StatefulLayer)?.runningStatistics ?? [] }
  }
}

extension BasicBlock: StatefulLayer {
  public var runningStatistics: [Tensor] { bn1.runningStatistics + bn2.runningStatistics }
}

extension Classifier {
  /// Every running statistic of the backbone and head (BatchNorm means and variances), in a fixed order.
  public var runningStatistics: [Tensor] {
    features.runningStatistics + ((head as? StatefulLayer)?.runningStatistics ?? [])
  }
}

/// Fills `weight` per `scheme` for a layer with the given fan-in, and `bias` (if any) with PyTorch's
/// default U(±1/√fan_in).
func initializeWeights(
  _ weight: Tensor, bias: Tensor?, fanIn: Int, scheme: Initialization, key: RandomKey
) {
  var w = key.split("weight").stream()
  let bound = 1 / Float(fanIn).squareRoot()
  switch scheme {
  case .torchDefault:
    // kaiming_uniform_(a=√5): gain = √(2/(1+5)), bound = gain·√(3/fan_in) = 1/√fan_in.
    w.fillUniform(weight.buffer, low: -bound, high: bound)
  case .kaimingNormal:
    w.fillNormal(weight.buffer, mean: 0, std: (2 / Float(fanIn)).squareRoot())
  }
  if let bias {
    var b = key.split("bias").stream()
    b.fillUniform(bias.buffer, low: -bound, high: bound)
  }
}
