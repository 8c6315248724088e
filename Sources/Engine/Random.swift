/// A key for counter-based random streams.
///
/// Every random draw in a job derives from one key per purpose (`init`, `data-order`, `augment`,
/// `noise`, `smoothing`, …), split from the job seed, so adding a draw to one purpose never shifts
/// another purpose's numbers. The mapping from bits to numbers is owned here, not left to the standard
/// library's unspecified `random(in:using:)`.
public struct RandomKey: Hashable, Sendable, Codable {
  /// The 64-bit key.
  public var raw: UInt64

  /// A key from a seed.
  public init(seed: UInt64) { raw = splitMix64(seed ^ 0x5851_F42D_4C95_7F2D) }

  /// A key derived from this one for a named purpose; distinct names give independent keys.
  public func split(_ purpose: String) -> RandomKey {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a over the purpose's UTF-8 bytes.
    for byte in purpose.utf8 {
      h ^= UInt64(byte)
      h = h &* 0x0000_0100_0000_01B3
    }
    return RandomKey(rawValue: splitMix64(raw ^ splitMix64(h)))
  }

  /// A key derived from this one for an index (an epoch, a batch, an example).
  public func fold(_ index: Int) -> RandomKey {
    RandomKey(rawValue: splitMix64(raw &+ splitMix64(UInt64(bitPattern: Int64(index)) &+ 0x9E37_79B9)))
  }

  /// A stream of numbers drawn from this key.
  public func stream() -> RandomStream { RandomStream(key: self) }

  init(rawValue: UInt64) { raw = rawValue }
}

/// SplitMix64's output function: a bijective mix of 64 bits.
@inlinable public func splitMix64(_ x: UInt64) -> UInt64 {
  var z = x &+ 0x9E37_79B9_7F4A_7C15
  z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
  z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
  return z ^ (z >> 31)
}

/// A counter-based generator: draw i is `splitMix64(key + i·γ)`, so a stream's numbers are a pure
/// function of its key and position.
public struct RandomStream: Sendable {
  /// The key the stream draws from.
  public let key: RandomKey
  /// The number of 64-bit words drawn so far.
  public var counter: UInt64 = 0

  /// A stream at position 0 of `key`.
  public init(key: RandomKey) { self.key = key }

  /// The next 64 random bits.
  @inlinable public mutating func next() -> UInt64 {
    counter &+= 1
    return splitMix64(key.raw &+ counter &* 0x9E37_79B9_7F4A_7C15)
  }

  /// A uniform `Float` in [0, 1), from the top 24 bits.
  @inlinable public mutating func nextFloat() -> Float {
    Float(next() >> 40) * 0x1p-24
  }

  /// A uniform `Double` in [0, 1), from the top 53 bits.
  @inlinable public mutating func nextDouble() -> Double {
    Double(next() >> 11) * 0x1p-53
  }

  /// A uniform integer in 0..<n (Lemire's multiply-shift with rejection; exact, no modulo bias).
  public mutating func nextInt(below n: Int) -> Int {
    precondition(n > 0, "nextInt(below:) needs n > 0")
    let bound = UInt64(n)
    var m = next().multipliedFullWidth(by: bound)
    if m.low < bound {
      let threshold = (0 &- bound) % bound
      while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
    }
    return Int(m.high)
  }

  /// A standard normal draw (Box–Muller on two uniforms, computed in `Double`).
  public mutating func nextNormal() -> Float {
    let u1 = 1 - nextDouble()  // (0, 1]
    let u2 = nextDouble()
    return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
  }

  /// Fills `out` with independent N(mean, std²) draws.
  public mutating func fillNormal(_ out: UnsafeMutableBufferPointer<Float>, mean: Float = 0, std: Float = 1) {
    var i = 0
    while i < out.count {
      let u1 = 1 - nextDouble()
      let u2 = nextDouble()
      let r = (-2 * _log(u1)).squareRoot()
      let t = 2 * Double.pi * u2
      out[i] = mean + std * Float(r * _cos(t))
      if i + 1 < out.count { out[i + 1] = mean + std * Float(r * _sin(t)) }
      i += 2
    }
  }

  /// Fills `out` with independent U(low, high) draws.
  public mutating func fillUniform(_ out: UnsafeMutableBufferPointer<Float>, low: Float, high: Float) {
    for i in out.indices { out[i] = low + (high - low) * nextFloat() }
  }

  /// A uniformly random permutation of 0..<n (Fisher–Yates, i from n−1 down to 1).
  public mutating func permutation(_ n: Int) -> [Int] {
    var p = Array(0..<n)
    shuffle(&p)
    return p
  }

  /// Shuffles `array` in place (Fisher–Yates, i from n−1 down to 1).
  public mutating func shuffle<T>(_ array: inout [T]) {
    var i = array.count - 1
    while i > 0 {
      let j = nextInt(below: i + 1)
      array.swapAt(i, j)
      i -= 1
    }
  }
}
