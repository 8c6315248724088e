/// The parts of numpy's legacy `RandomState` (MT19937) that the official codes' data draws use, bit
/// for bit.
///
/// Written from the algorithms, not copied: MT19937 (Matsumoto & Nishimura 1998) seeded by
/// `init_genrand`, which is what `np.random.seed(s)` / `RandomState(s)` does for an integer
/// `s ∈ [0, 2³²)`; numpy's bounded draw `random_interval` (numpy/random/src/distributions/
/// distributions.c) and legacy `RandomState.shuffle` / `permutation` / `choice(replace=False)` /
/// `randint` / `random_sample` (numpy/random/mtrand.pyx, `_bounded_integers.pyx`).
///
/// Use it only where parity with an official code's numpy draw is the point (long-tailed subsets, the
/// noise parity modes); everything else uses the counter-based `RandomKey`/`RandomStream` of `Engine`.
public struct NumpyRandomState: Sendable {
  private var state: [UInt32]
  private var position: Int

  /// `np.random.seed(seed)`: MT19937 `init_genrand(seed)`.
  public init(seed: UInt32) {
    var mt = [UInt32](repeating: 0, count: 624)
    mt[0] = seed
    for i in 1..<624 {
      mt[i] = 1_812_433_253 &* (mt[i - 1] ^ (mt[i - 1] >> 30)) &+ UInt32(i)
    }
    state = mt
    position = 624
  }

  /// `np.random.seed(seed)` for a seed given as an `Int`.
  ///
  /// - Throws: ``DatasetError`` `invalidSetting` unless `0 ≤ seed < 2³²` (numpy raises `ValueError`).
  public init(checkedSeed seed: Int, setting: String = "seed") throws {
    guard seed >= 0, seed <= Int(UInt32.max) else {
      throw DatasetError(
        .invalidSetting, file: setting, "numpy seed \(seed)", expected: "an integer in 0...\(UInt32.max)")
    }
    self.init(seed: UInt32(seed))
  }

  /// The next 32-bit output of MT19937 (`genrand_int32`, with tempering).
  public mutating func nextUInt32() -> UInt32 {
    if position >= 624 { twist() }
    var y = state[position]
    position += 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C_5680
    y ^= (y << 15) & 0xEFC6_0000
    y ^= y >> 18
    return y
  }

  /// numpy's 64-bit draw from MT19937: the first 32-bit output in the high word, the second in the low.
  public mutating func nextUInt64() -> UInt64 {
    let high = UInt64(nextUInt32())
    return high << 32 | UInt64(nextUInt32())
  }

  /// `random_sample()` / `rand()`: a double in [0, 1) from two outputs, `(a >> 5, b >> 6)` →
  /// `(a · 2²⁶ + b) / 2⁵³`.
  public mutating func randomSample() -> Double {
    let a = Double(nextUInt32() >> 5)
    let b = Double(nextUInt32() >> 6)
    return (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
  }

  /// numpy's `random_interval(max)`: a uniform integer in `0...max` by masked rejection — mask to the
  /// smallest `2^k − 1 ≥ max`, redraw while above `max`; one 32-bit output per try when
  /// `max ≤ 2³² − 1`, one 64-bit draw otherwise; no output at all for `max == 0`.
  public mutating func randomInterval(_ max: UInt64) -> UInt64 {
    if max == 0 { return 0 }
    var mask = max
    mask |= mask >> 1
    mask |= mask >> 2
    mask |= mask >> 4
    mask |= mask >> 8
    mask |= mask >> 16
    mask |= mask >> 32
    if max <= 0xFFFF_FFFF {
      while true {
        let value = UInt64(nextUInt32()) & mask
        if value <= max { return value }
      }
    }
    while true {
      let value = nextUInt64() & mask
      if value <= max { return value }
    }
  }

  /// Legacy `randint(0, n)` (default int64 dtype, masked method): a uniform integer in `0..<n`; for
  /// `n ≤ 2³²` it consumes exactly what ``randomInterval(_:)`` with `max = n − 1` does.
  public mutating func randint(below n: Int) -> Int {
    precondition(n > 0, "randint(below:) needs n > 0")
    return Int(randomInterval(UInt64(n - 1)))
  }

  /// Legacy `shuffle` of a 1-D array: for `i` from `n − 1` down to 1, swap element `i` with element
  /// `random_interval(i)`.
  public mutating func shuffle<T>(_ array: inout [T]) {
    var i = array.count - 1
    while i > 0 {
      let j = Int(randomInterval(UInt64(i)))
      array.swapAt(i, j)
      i -= 1
    }
  }

  /// Legacy `permutation(n)`: `arange(n)` shuffled by ``shuffle(_:)``.
  public mutating func permutation(_ n: Int) -> [Int] {
    var p = Array(0..<max(n, 0))
    shuffle(&p)
    return p
  }

  /// Legacy `choice(population, k, replace=False)` without weights: `permutation(n)[:k]` (the whole
  /// permutation is drawn even when `k` is small), as indices into the population.
  public mutating func choiceWithoutReplacement(population n: Int, count k: Int) -> [Int] {
    precondition(k >= 0 && k <= n, "cannot take \(k) of \(n) without replacement")
    return Array(permutation(n).prefix(k))
  }

  private mutating func twist() {
    for i in 0..<624 {
      let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7FFF_FFFF)
      var next = state[(i + 397) % 624] ^ (y >> 1)
      if y & 1 != 0 { next ^= 0x9908_B0DF }
      state[i] = next
    }
    position = 0
  }
}
