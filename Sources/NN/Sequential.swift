import Engine

/// Layers applied in order; backward runs them in reverse.
public final class Sequential: Layer {
  /// The layers, first to last.
  public let layers: [Layer]

  /// A chain of layers.
  public init(_ layers: [Layer]) { self.layers = layers }

  public var parameters: [Parameter] { layers.flatMap(\.parameters) }

  /// Setting it to false also spares the layers up to the first one with parameters: nothing below
  /// them needs a gradient (for an MLP, `Flatten` and the first `Linear` skip their ∂/∂input).
  public var needsInputGradient: Bool {
    get { layers.first?.needsInputGradient ?? true }
    set {
      for layer in layers {
        layer.needsInputGradient = newValue
        if !layer.parameters.isEmpty { break }
      }
    }
  }

  public func initialize(_ scheme: Initialization, key: RandomKey) {
    for (i, layer) in layers.enumerated() { layer.initialize(scheme, key: key.fold(i)) }
  }

  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    var h = x
    for layer in layers { h = layer.forward(h, training: training) }
    return h
  }

  public func backward(_ dy: Tensor) -> Tensor {
    var g = dy
    for layer in layers.reversed() { g = layer.backward(g) }
    return g
  }
}

/// The basic residual block of the CIFAR ResNets (He et al. 2016):
/// conv3×3(stride)–BN–ReLU–conv3×3–BN, plus the shortcut, then ReLU. Convolutions have no bias.
///
/// The shortcut is the identity, or where the stride is 2 or the width changes, "option A":
/// x[:, ::2, ::2, :] zero-padded by (out − in)/2 channels on each side, with no parameters —
/// kaidic/LDAM-DRW `models/resnet_cifar.py` `BasicBlock` / `LambdaLayer`.
public final class BasicBlock: Layer {
  /// bn1 carries the block's first ReLU (fused).
  let conv1: Conv2d, bn1: BatchNorm, conv2: Conv2d, bn2: BatchNorm
  /// Input and output channels and the stride of the first convolution.
  public let inChannels: Int, outChannels: Int, stride: Int
  public var needsInputGradient = true
  private let output = Tensor(shape: [0]), dx = Tensor(shape: [0]), dyMasked = Tensor(shape: [0])
  private var inputShape: [Int] = []

  /// A block `inChannels → outChannels` whose first convolution has `stride`; its convolutions use `algorithm`.
  public init(
    _ inChannels: Int, _ outChannels: Int, stride: Int, algorithm: ConvAlgorithm = Conv2d.defaultAlgorithm
  ) {
    self.inChannels = inChannels
    self.outChannels = outChannels
    self.stride = stride
    conv1 = Conv2d(
      inChannels, outChannels, kernel: 3, stride: stride, padding: 1, bias: false, algorithm: algorithm)
    bn1 = BatchNorm(outChannels, fusedReLU: true)
    conv2 = Conv2d(outChannels, outChannels, kernel: 3, stride: 1, padding: 1, bias: false, algorithm: algorithm)
    bn2 = BatchNorm(outChannels)
  }

  private var projects: Bool { stride != 1 || inChannels != outChannels }

  public var parameters: [Parameter] { conv1.parameters + bn1.parameters + conv2.parameters + bn2.parameters }

  public func initialize(_ scheme: Initialization, key: RandomKey) {
    conv1.initialize(scheme, key: key.fold(0))
    bn1.initialize(scheme, key: key.fold(1))
    conv2.initialize(scheme, key: key.fold(2))
    bn2.initialize(scheme, key: key.fold(3))
  }

  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    inputShape = x.shape
    var h = conv1.forward(x, training: training)
    h = bn1.forward(h, training: training)
    h = conv2.forward(h, training: training)
    h = bn2.forward(h, training: training)
    output.resize(h.shape)
    let n = h.shape[0]
    let oh = h.shape[1]
    let ow = h.shape[2]
    let c = outChannels
    let (hp, xp, op) = (h.pointer, x.pointer, output.pointer)
    if !projects {
      // out = max(h + x, 0), elementwise.
      Parallel.elementwise(count: h.count) { r in
        Kernels.add(hp + r.lowerBound, xp + r.lowerBound, op + r.lowerBound, count: r.count)
        Kernels.relu(op + r.lowerBound, op + r.lowerBound, count: r.count)
      }
    } else {
      let ih = x.shape[1]
      let iw = x.shape[2]
      let ic = inChannels
      let pad = (c - ic) / 2
      let stride = stride
      let workers = Parallel.chunkCount(n, grain: Swift.max(1, Parallel.elementwiseGrain / Swift.max(1, oh * ow * c)))
      Parallel.for(count: workers) { t in
        let images = Parallel.chunk(t, of: workers, count: n)
        for b in images {
          for y in 0..<oh {
            for xx in 0..<ow {
              let o = ((b * oh + y) * ow + xx) * c
              let src = xp + ((b * ih + y * stride) * iw + xx * stride) * ic
              for ch in 0..<pad { op[o + ch] = hp[o + ch] }
              for ch in 0..<ic { op[o + pad + ch] = hp[o + pad + ch] + src[ch] }
              for ch in (pad + ic)..<c { op[o + ch] = hp[o + ch] }
            }
          }
        }
        let first = images.lowerBound * oh * ow * c
        Kernels.relu(op + first, op + first, count: images.count * oh * ow * c)
      }
    }
    return output
  }

  public func backward(_ dy: Tensor) -> Tensor {
    dyMasked.resize(dy.shape)
    let (yp, gp, mp) = (output.pointer, dy.pointer, dyMasked.pointer)
    Parallel.elementwise(count: dy.count) { r in
      Kernels.reluBackward(output: yp + r.lowerBound, gp + r.lowerBound, mp + r.lowerBound, count: r.count)
    }
    var g = bn2.backward(dyMasked)
    g = conv2.backward(g)
    g = bn1.backward(g)
    g = conv1.backward(g)
    dx.resize(inputShape)
    let (sp, dp) = (g.pointer, dx.pointer)
    if !projects {
      Parallel.elementwise(count: g.count) { r in
        Kernels.add(sp + r.lowerBound, mp + r.lowerBound, dp + r.lowerBound, count: r.count)
      }
    } else {
      let n = dy.shape[0]
      let oh = dy.shape[1]
      let ow = dy.shape[2]
      let c = outChannels
      let ih = inputShape[1]
      let iw = inputShape[2]
      let ic = inChannels
      let pad = (c - ic) / 2
      let stride = stride
      let workers = Parallel.chunkCount(n, grain: Swift.max(1, Parallel.elementwiseGrain / Swift.max(1, ih * iw * ic)))
      Parallel.for(count: workers) { t in
        let images = Parallel.chunk(t, of: workers, count: n)
        let first = images.lowerBound * ih * iw * ic
        (dp + first).update(from: sp + first, count: images.count * ih * iw * ic)
        for b in images {
          for y in 0..<oh {
            for xx in 0..<ow {
              let o = mp + ((b * oh + y) * ow + xx) * c + pad
              let d = dp + ((b * ih + y * stride) * iw + xx * stride) * ic
              for ch in 0..<ic { d[ch] += o[ch] }
            }
          }
        }
      }
    }
    return dx
  }
}
