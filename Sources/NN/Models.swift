import Engine

/// A classifier split into a feature extractor and a linear head, as two-stage methods need
/// (re-train the head on frozen features; calibrate features; read penultimate activations).
public final class Classifier {
  /// The backbone: input → feature vector [N, featureSize].
  public let features: Sequential
  /// The head: feature vector → logits [N, classes] (`Linear` or `NormedLinear`).
  public let head: Layer
  /// The feature width and the number of classes.
  public let featureSize: Int, classes: Int
  /// The input shape of one example, [H, W, C].
  public let inputShape: [Int]
  /// The latest features computed by ``forward(_:training:)``.
  public private(set) var lastFeatures: Tensor?

  /// A classifier from its parts.
  public init(features: Sequential, head: Layer, featureSize: Int, classes: Int, inputShape: [Int]) {
    self.features = features
    self.head = head
    self.featureSize = featureSize
    self.classes = classes
    self.inputShape = inputShape
    features.needsInputGradient = false
  }

  /// All parameters, backbone first.
  public var parameters: [Parameter] { features.parameters + head.parameters }

  /// Whether ``backward(_:)`` computes ∂loss/∂input (SmoothMix and other input-gradient methods).
  public var needsInputGradient: Bool {
    get { features.needsInputGradient }
    set { features.needsInputGradient = newValue }
  }

  /// Initialises every parameter from `key` (head from its own sub-key).
  public func initialize(_ scheme: Initialization, key: RandomKey) {
    features.initialize(scheme, key: key.split("features"))
    head.initialize(scheme, key: key.split("head"))
  }

  /// Logits for a batch of inputs [N, H, W, C].
  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    let f = features.forward(x, training: training)
    lastFeatures = f
    return head.forward(f, training: training)
  }

  /// Back-propagates ∂loss/∂logits through head and backbone; returns ∂loss/∂input (meaningful only
  /// when ``needsInputGradient``).
  public func backward(_ dLogits: Tensor) -> Tensor {
    features.backward(head.backward(dLogits))
  }
}

/// The model zoo: names as manifests use them.
public enum ModelZoo {
  /// The names a manifest may use.
  public static let names = ["mlp", "cnn-small", "resnet32", "linf-dist"]

  /// The version of each model family's definition (layers, shapes, initialisation, heads): part of the id
  /// of every job that uses the family. Bump it whenever a change can move a result; kernel changes bump
  /// ``kernelVersion(model:)`` instead.
  public static let versions: [String: Int] = ["mlp": 1, "cnn-small": 1, "resnet32": 1, "linf-dist": 1]

  /// The version of the kernels a model family uses beyond the engine's shared ones (GEMM, elementwise,
  /// softmax: ``BLAS/numericVersion``), or nil when it uses only those. It joins the engine's version in
  /// every job id (`engine-1/lp-dist-2`), so a kernel change that moves one family's bits re-runs that
  /// family's jobs and no others. Bump a family's number whenever its results can change.
  /// - `lp-dist-2`: float32 vectorised ℓp-distance kernels (version 1 summed in double with `pow`).
  /// - `conv-2`: Winograd F(2×2, 3×3) convolutions and one-pass BatchNorm statistics (version 1: im2col,
  ///   two-pass statistics); `conv-2-im2col` in debug builds, whose `.auto` keeps im2col
  ///   (``Conv2d/autoUsesWinograd``).
  public static func kernelVersion(model name: String) -> String? {
    switch name {
    case "linf-dist": "lp-dist-2"
    case "cnn-small", "resnet32": Conv2d.autoUsesWinograd ? "conv-2" : "conv-2-im2col"
    default: nil
    }
  }

  /// An error for an unknown model or a bad configuration.
  public struct Error: Swift.Error, CustomStringConvertible {
    /// What is wrong.
    public var description: String
  }

  /// Builds a model for inputs [H, W, C] and `classes` outputs.
  /// - Parameters:
  ///   - widths: hidden widths of `mlp` (default [512, 512]) and of `linf-dist` (default 4 × 5120, MNIST's depth 5).
  ///   - normedHead: use LDAM-DRW's cosine classifier instead of a linear head.
  ///   - convolution: the algorithm of every convolution (``Conv2d/defaultAlgorithm`` unless given; tests pin
  ///     `.im2col` to compute the same in debug and release builds).
  public static func make(
    _ name: String, inputShape: [Int], classes: Int, widths: [Int]? = nil, normedHead: Bool = false,
    convolution: ConvAlgorithm = Conv2d.defaultAlgorithm
  ) throws -> Classifier {
    let head: (Int) -> Layer = { normedHead ? NormedLinear($0, classes) : Linear($0, classes) }
    switch name {
    case "mlp": return mlp(inputShape: inputShape, classes: classes, widths: widths ?? [512, 512], head: head)
    case "cnn-small": return cnnSmall(inputShape: inputShape, classes: classes, head: head, convolution: convolution)
    case "resnet32": return resnet32(inputShape: inputShape, classes: classes, head: head, convolution: convolution)
    case "linf-dist":
      return linfDist(inputShape: inputShape, classes: classes, widths: widths ?? [5120, 5120, 5120, 5120])
    default: throw Error(description: "unknown model '\(name)' (known: \(names.joined(separator: ", ")))")
    }
  }

  /// Flatten → (Linear + ReLU) per width → head.
  static func mlp(inputShape: [Int], classes: Int, widths: [Int], head: (Int) -> Layer) -> Classifier {
    var layers: [Layer] = [Flatten()]
    var d = inputShape.reduce(1, *)
    for w in widths {
      layers.append(Linear(d, w, fusedReLU: true))
      d = w
    }
    return Classifier(
      features: Sequential(layers), head: head(d), featureSize: d, classes: classes, inputShape: inputShape)
  }

  /// conv3×3 32 (pad 1) → ReLU → max-pool 2 → conv3×3 64 (pad 1) → ReLU → max-pool 2 → fc 128 → ReLU → head.
  static func cnnSmall(
    inputShape: [Int], classes: Int, head: (Int) -> Layer, convolution: ConvAlgorithm = Conv2d.defaultAlgorithm
  ) -> Classifier {
    let h = inputShape[0]
    let w = inputShape[1]
    let c = inputShape[2]
    let flat = (h / 4) * (w / 4) * 64
    let layers: [Layer] = [
      Conv2d(c, 32, kernel: 3, padding: 1, fusedReLU: true, algorithm: convolution), MaxPool2d(2),
      Conv2d(32, 64, kernel: 3, padding: 1, fusedReLU: true, algorithm: convolution), MaxPool2d(2),
      Flatten(), Linear(flat, 128, fusedReLU: true),
    ]
    return Classifier(
      features: Sequential(layers), head: head(128), featureSize: 128, classes: classes, inputShape: inputShape)
  }

  /// CIFAR ResNet-32: conv3×3 16–BN–ReLU, 3 stages × 5 basic blocks (16, 32, 64 channels; stride 2 at
  /// the first block of stages 2 and 3; option-A shortcuts), global average pool → 64-d feature → head.
  /// kaidic/LDAM-DRW `models/resnet_cifar.py` `resnet32`.
  static func resnet32(
    inputShape: [Int], classes: Int, head: (Int) -> Layer, convolution: ConvAlgorithm = Conv2d.defaultAlgorithm
  ) -> Classifier {
    var layers: [Layer] = [
      Conv2d(inputShape[2], 16, kernel: 3, padding: 1, bias: false, algorithm: convolution), BatchNorm(16), ReLU(),
    ]
    var cin = 16
    for (cout, stride) in [(16, 1), (32, 2), (64, 2)] {
      for i in 0..<5 {
        layers.append(BasicBlock(cin, cout, stride: i == 0 ? stride : 1, algorithm: convolution))
        cin = cout
      }
    }
    layers.append(GlobalAvgPool())
    return Classifier(
      features: Sequential(layers), head: head(64), featureSize: 64, classes: classes, inputShape: inputShape)
  }
}
