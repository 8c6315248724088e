import Engine

/// Per-channel normalisation of byte pixels: `x ↦ (x/255 − mean_c) / std_c`.
///
/// Computed in `Float` in torchvision's order (`ToTensor` divides by 255, `Normalize` subtracts the
/// mean, then divides by the std), so values match a PyTorch pipeline bit for bit.
public struct Normalization: Sendable, Equatable, Codable {
  /// Per-channel means of x/255.
  public var mean: [Float]
  /// Per-channel standard deviations of x/255.
  public var std: [Float]

  /// A normalisation with one mean and one std per channel.
  public init(mean: [Float], std: [Float]) {
    self.mean = mean
    self.std = std
  }

  /// x/255 only (mean 0, std 1) for `channels` channels.
  public static func unit(channels: Int) -> Normalization {
    Normalization(mean: .init(repeating: 0, count: channels), std: .init(repeating: 1, count: channels))
  }

  /// CIFAR-10 constants of kaidic/LDAM-DRW `cifar_train.py` (and ABSGD, VS, mahf93/tracking-memorization):
  /// mean (0.4914, 0.4822, 0.4465), std (0.2023, 0.1994, 0.2010).
  public static let cifar10 = Normalization(mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010])

  /// The per-channel mean and population standard deviation of x/255 over the images at `indices`
  /// (all images when `nil`), computed exactly from byte histograms in `Double`, then rounded to `Float`.
  /// For the Fashion-MNIST training set: mean ≈ 0.2860, std ≈ 0.3530.
  public static func statistics(of images: ImageSet, indices: [Int]? = nil) -> Normalization {
    let c = images.channels
    var histogram = [Int](repeating: 0, count: 256 * c)
    images.pixels.withUnsafeBufferPointer { pixels in
      histogram.withUnsafeMutableBufferPointer { h in
        func add(_ row: Int) {
          let base = row * images.imageSize
          var k = 0
          while k < images.imageSize {
            for ch in 0..<c { h[ch * 256 + Int(pixels[base + k + ch])] += 1 }
            k += c
          }
        }
        if let indices { for row in indices { add(row) } } else { for row in 0..<images.count { add(row) } }
      }
    }
    var mean = [Float]()
    var std = [Float]()
    for ch in 0..<c {
      let bins = histogram[(ch * 256)..<(ch * 256 + 256)]
      let n = Double(bins.reduce(0, +))
      var sum = 0.0
      for (v, count) in bins.enumerated() { sum += Double(v) / 255 * Double(count) }
      let m = n > 0 ? sum / n : 0
      var squares = 0.0
      for (v, count) in bins.enumerated() {
        let d = Double(v) / 255 - m
        squares += d * d * Double(count)
      }
      mean.append(Float(m))
      std.append(Float(n > 0 ? (squares / n).squareRoot() : 1))
    }
    return Normalization(mean: mean, std: std)
  }
}

/// Training-time augmentation of images.
public struct Augmentation: Sendable, Equatable, Codable {
  /// Random crop with zero padding: pad every side with `padding` zero bytes, then crop back to the
  /// original size at offsets drawn uniformly from `0...2·padding` (torchvision
  /// `RandomCrop(size, padding=p)`). 0 disables it.
  public var padding: Int
  /// Mirror left–right with probability 1/2 (torchvision `RandomHorizontalFlip()`).
  public var horizontalFlip: Bool

  /// An augmentation.
  public init(padding: Int = 0, horizontalFlip: Bool = false) {
    self.padding = padding
    self.horizontalFlip = horizontalFlip
  }

  /// No augmentation.
  public static let none = Augmentation()
  /// CIFAR's standard `RandomCrop(32, padding=4)` + `RandomHorizontalFlip()` (LDAM-DRW and most
  /// CIFAR codes).
  public static let cifar = Augmentation(padding: 4, horizontalFlip: true)

  /// Whether it changes anything.
  public var isIdentity: Bool { padding == 0 && !horizontalFlip }
}

/// Fills caller-owned batch buffers from a ``LabeledSubset``: images as normalised `Float` NHWC,
/// labels as `Int`.
///
/// The images tensor is resized to `[B, H, W, C]` (its storage is reused once large enough) and the
/// labels array is refilled keeping its capacity, so filling allocates nothing after the first batch.
/// With augmentation, each image draws, in batch order, its crop offsets (top, then left, each uniform
/// in `0...2p`, as torchvision's `RandomCrop.get_params`) and then its flip (`nextDouble() < 0.5`) from
/// the stream passed in; padded pixels are the byte 0 normalised, i.e. `−mean_c/std_c`, as padding the
/// image before `ToTensor`/`Normalize` gives.
public struct BatchFiller: Sendable {
  /// The examples filled from.
  public let set: LabeledSubset
  /// The normalisation applied.
  public let normalization: Normalization
  /// The augmentation applied by ``fill(_:images:labels:stream:)``.
  public let augmentation: Augmentation
  /// table[c·256 + v] = normalised value of byte v in channel c.
  private let table: [Float]

  /// A filler for `set`.
  ///
  /// - Throws: ``DatasetError`` `invalidSetting` if the normalisation does not have one mean and one
  ///   positive std per channel or the padding is negative.
  public init(set: LabeledSubset, normalization: Normalization, augmentation: Augmentation = .none) throws {
    let c = set.images.channels
    guard normalization.mean.count == c, normalization.std.count == c, normalization.std.allSatisfy({ $0 > 0 }) else {
      throw DatasetError(
        .invalidSetting, file: "normalization",
        "\(normalization.mean.count) means and \(normalization.std.count) stds",
        expected: "\(c) means and \(c) positive stds, one per channel")
    }
    guard augmentation.padding >= 0 else {
      throw DatasetError(.invalidSetting, file: "augmentation.padding", "\(augmentation.padding)", expected: "≥ 0")
    }
    self.set = set
    self.normalization = normalization
    self.augmentation = augmentation
    var table = [Float](repeating: 0, count: 256 * c)
    for ch in 0..<c {
      for v in 0..<256 {
        let x = Float(v) / 255
        table[ch * 256 + v] = (x - normalization.mean[ch]) / normalization.std[ch]
      }
    }
    self.table = table
  }

  /// Fills `images` and `labels` with the examples at `positions`, without augmentation (evaluation).
  public func fill(_ positions: ArraySlice<Int>, images: Tensor, labels: inout [Int]) {
    var unused = RandomStream(key: RandomKey(seed: 0))
    write(positions, images: images, labels: &labels, stream: &unused, augment: false)
  }

  /// Fills `images` and `labels` with the examples at `positions`, augmented with draws from `stream`
  /// (no draw when ``augmentation`` is `.none`).
  public func fill(_ positions: ArraySlice<Int>, images: Tensor, labels: inout [Int], stream: inout RandomStream) {
    write(positions, images: images, labels: &labels, stream: &stream, augment: !augmentation.isIdentity)
  }

  private func write(
    _ positions: ArraySlice<Int>, images: Tensor, labels: inout [Int], stream: inout RandomStream, augment: Bool
  ) {
    let h = set.images.height
    let w = set.images.width
    let c = set.images.channels
    let size = h * w * c
    images.resize([positions.count, h, w, c])
    labels.removeAll(keepingCapacity: true)
    let p = augment ? augmentation.padding : 0
    set.images.pixels.withUnsafeBufferPointer { pixels in
      table.withUnsafeBufferPointer { table in
        var out = images.pointer
        for position in positions {
          labels.append(set.labels[position])
          let src = set.indices[position] * size
          var top = 0
          var left = 0
          var flip = false
          if augment {
            if p > 0 {
              top = stream.nextInt(below: 2 * p + 1)
              left = stream.nextInt(below: 2 * p + 1)
            }
            if augmentation.horizontalFlip { flip = stream.nextDouble() < 0.5 }
          }
          if !augment {
            for k in 0..<size { out[k] = table[(k % c) * 256 + Int(pixels[src + k])] }
          } else {
            for y in 0..<h {
              let sy = y + top - p
              for x in 0..<w {
                let sx = (flip ? w - 1 - x : x) + left - p
                let dst = (y * w + x) * c
                if sy < 0 || sy >= h || sx < 0 || sx >= w {
                  for ch in 0..<c { out[dst + ch] = table[ch * 256] }
                } else {
                  let s = src + (sy * w + sx) * c
                  for ch in 0..<c { out[dst + ch] = table[ch * 256 + Int(pixels[s + ch])] }
                }
              }
            }
          }
          out += size
        }
      }
    }
  }
}
