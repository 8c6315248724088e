/// Vectorised float32 `log2`, `exp2` and powers of [0, 1] for the ℓp-distance kernels, eight lanes at a
/// time, in plain SIMD arithmetic the compiler lowers to vector instructions (no libm call per element:
/// a scalar `pow` per element was 81% of an ℓp-dist training step).
///
/// - `log2(x)`, x a positive normal float: x = m·2ᵉ with m ∈ [√½, √2), t = (m − 1)/(m + 1) (|t| ≤ 0.1716),
///   ln m = 2·(t + t³/3 + t⁵/5 + t⁷/7 + t⁹/9) (truncation error < 1e−9), log2 x = e + ln m / ln 2.
/// - `exp2(y)`, y ∈ [−126, 0]: n = round(y), f = y − n ∈ [−½, ½], 2ᶠ = Σ_{k ≤ 7} (f·ln 2)ᵏ/k!
///   (truncation error < 1e−8), times 2ⁿ built from its bits; y < −126 gives 0.
/// - `pow01(r, q)` = r^q for r ∈ [0, 1] and q ≥ 0: exp2(q·log2 r), with 0 for r below the smallest normal
///   float (0^q = 0, as the ℓp kernels skip zero differences).
/// Relative error against double precision: about 1e−7 for log2 and exp2, and |q·log2 r|·1e−7 for pow01
/// (the float32 rounding of q·log2 r), well inside the conformance tolerance of the ℓp layers (1e−4).
/// The official CUDA kernels use the hardware's fast `__powf` in float32 for the same purpose
/// (zbh2047/L_inf-dist-net-v2 `core/cuda/fast_pow.cuh`).
public enum FastMath {
  /// Eight float lanes.
  public typealias Lanes = SIMD8<Float>
  private typealias Bits = SIMD8<Int32>

  /// 1.5·2²³: adding it rounds a float of magnitude < 2²² to an integer held in the low mantissa bits.
  @usableFromInline static let roundingMagic: Float = 12_582_912
  @usableFromInline static let roundingMagicBits: Int32 = 0x4B40_0000

  /// log₂ x per lane, for positive normal x.
  @inlinable @inline(__always)
  public static func log2(_ x: Lanes) -> Lanes {
    let bits = unsafeBitCast(x, to: SIMD8<Int32>.self)
    var exponent = (bits &>> 23) &- 127
    var m = unsafeBitCast((bits & 0x007F_FFFF) | 0x3F80_0000, to: Lanes.self)
    let high = m .> 1.414_213_5
    m = m.replacing(with: m * 0.5, where: high)
    exponent = exponent.replacing(with: exponent &+ 1, where: high)
    let e = unsafeBitCast(exponent &+ roundingMagicBits, to: Lanes.self) - roundingMagic
    let t = (m - 1) / (m + 1)
    let t2 = t * t
    var series: Lanes = t2 * Float(1.0 / 9)
    series = t2 * (series + Float(1.0 / 7))
    series = t2 * (series + Float(1.0 / 5))
    series = t2 * (series + Float(1.0 / 3))
    series = t * (series + 1)
    let twoOverLn2: Float = 2.885_390_081_777_927
    return e + series * twoOverLn2
  }

  /// 2^y per lane for y ≤ 0 (0 below −126).
  @inlinable @inline(__always)
  public static func exp2(_ y: Lanes) -> Lanes {
    let floor = Lanes(repeating: -126)
    let clamped = min(y.replacing(with: floor, where: y .< floor), Lanes(repeating: 0))
    let shifted = clamped + roundingMagic
    let n = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- roundingMagicBits
    let ln2: Float = 0.693_147_180_559_945_3
    let f: Lanes = (clamped - (shifted - roundingMagic)) * ln2
    // Horner over 1/k!, k = 7 … 1.
    var poly: Lanes = f * Float(1.0 / 5040)
    poly = f * (poly + Float(1.0 / 720))
    poly = f * (poly + Float(1.0 / 120))
    poly = f * (poly + Float(1.0 / 24))
    poly = f * (poly + Float(1.0 / 6))
    poly = f * (poly + Float(0.5))
    poly = f * (poly + 1)
    poly = poly + 1
    let scale = unsafeBitCast((n &+ 127) &<< 23, to: Lanes.self)
    return (poly * scale).replacing(with: 0, where: y .< -126)
  }

  /// The lane-wise maximum (the standard library's generic `pointwiseMax` is not inlined here and was
  /// measured 10× slower).
  @inlinable @inline(__always)
  public static func max(_ a: Lanes, _ b: Lanes) -> Lanes { a.replacing(with: b, where: b .> a) }

  /// The lane-wise minimum.
  @inlinable @inline(__always)
  public static func min(_ a: Lanes, _ b: Lanes) -> Lanes { a.replacing(with: b, where: b .< a) }

  /// r^q per lane for r ∈ [0, 1] and q ≥ 0; 0 where r is below the smallest normal float.
  @inlinable @inline(__always)
  public static func pow01(_ r: Lanes, _ q: Float) -> Lanes {
    let safe = r.replacing(with: 1, where: r .< Float.leastNormalMagnitude)
    return exp2(log2(safe) * q).replacing(with: 0, where: r .< Float.leastNormalMagnitude)
  }

  /// r^q for one r ∈ [0, 1] (the loops' tails), by the same arithmetic as ``pow01(_:_:)``.
  @inlinable @inline(__always)
  public static func pow01(_ r: Float, _ q: Float) -> Float {
    pow01(Lanes(repeating: r), q)[0]
  }
}

extension SIMD where Scalar == Float {
  /// The `scalarCount` floats at `p` (any alignment).
  @inlinable @inline(__always)
  public init(loading p: UnsafePointer<Float>) {
    self = UnsafeRawPointer(p).loadUnaligned(as: Self.self)
  }

  /// Writes the lanes to the `scalarCount` floats at `p` (any alignment).
  @inlinable @inline(__always)
  public func store(to p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self)
  }
}
