import Foundation

/// Special functions and distributions in Double precision, for certification (Clopper–Pearson,
/// Φ⁻¹, the exact binomial test) and UniMix's Beta mixing factor.
///
/// Accuracy: about 1e-13 relative in the body of the distributions (continued fraction for the
/// incomplete beta, lgamma prefactor), which is far inside the conformance tolerances (1e-5 relative
/// for the certification bound, 1e-6 relative for p-values).
public enum Statistics {
  /// log B(a, b) = lgamma(a) + lgamma(b) − lgamma(a + b).
  public static func logBeta(_ a: Double, _ b: Double) -> Double {
    lgamma(a) + lgamma(b) - lgamma(a + b)
  }

  /// The regularised incomplete beta function I_x(a, b) = P(X ≤ x) for X ~ Beta(a, b), a, b > 0.
  ///
  /// Evaluated by the continued fraction (modified Lentz) on the side where it converges fast,
  /// using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a).
  public static func regularizedIncompleteBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
    precondition(a > 0 && b > 0, "Beta parameters must be positive")
    return regularizedIncompleteBeta(x, a, b, logBeta: logBeta(a, b))
  }

  /// ``regularizedIncompleteBeta(_:_:_:)`` with log B(a, b) supplied by a caller that knows it more
  /// precisely than the lgamma difference (which cancels when a or b is large).
  static func regularizedIncompleteBeta(_ x: Double, _ a: Double, _ b: Double, logBeta: Double) -> Double {
    if x <= 0 { return 0 }
    if x >= 1 { return 1 }
    if a == b && x == 0.5 { return 0.5 }  // exact by symmetry
    let logFront = a * log(x) + b * log1p(-x) - logBeta
    if x < (a + 1) / (a + b + 2) {
      return exp(logFront) * betaContinuedFraction(x, a, b) / a
    }
    let logFrontSwapped = b * log1p(-x) + a * log(x) - logBeta
    return 1 - exp(logFrontSwapped) * betaContinuedFraction(1 - x, b, a) / b
  }

  /// The continued fraction of I_x(a, b) (Numerical Recipes §6.4), converged to 1e-16.
  static func betaContinuedFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
    let tiny = 1e-300
    let qab = a + b
    let qap = a + 1
    let qam = a - 1
    var c = 1.0
    var d = 1 - qab * x / qap
    if abs(d) < tiny { d = tiny }
    d = 1 / d
    var h = d
    for m in 1...100_000 {
      let m = Double(m)
      let m2 = 2 * m
      var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
      d = 1 + aa * d
      if abs(d) < tiny { d = tiny }
      c = 1 + aa / c
      if abs(c) < tiny { c = tiny }
      d = 1 / d
      h *= d * c
      aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
      d = 1 + aa * d
      if abs(d) < tiny { d = tiny }
      c = 1 + aa / c
      if abs(c) < tiny { c = tiny }
      d = 1 / d
      let delta = d * c
      h *= delta
      if abs(delta - 1) < 1e-16 { break }
    }
    return h
  }

  /// The Beta(a, b) density at x ∈ (0, 1).
  public static func betaDensity(_ x: Double, _ a: Double, _ b: Double) -> Double {
    exp((a - 1) * log(x) + (b - 1) * log1p(-x) - logBeta(a, b))
  }

  /// The inverse of ``regularizedIncompleteBeta(_:_:_:)`` in x: the p-quantile of Beta(a, b).
  ///
  /// Newton steps safeguarded by bisection on a bracket that always holds the root, until the
  /// bracket or the step is below 1e-15 relative. p ≤ 0 gives 0, p ≥ 1 gives 1.
  public static func inverseRegularizedIncompleteBeta(_ p: Double, _ a: Double, _ b: Double) -> Double {
    precondition(a > 0 && b > 0, "Beta parameters must be positive")
    if p <= 0 { return 0 }
    if p >= 1 { return 1 }
    var lo = 0.0
    var hi = 1.0
    var x = a / (a + b)
    for _ in 0..<400 {
      let f = regularizedIncompleteBeta(x, a, b) - p
      if f == 0 { return x }
      if f < 0 { lo = x } else { hi = x }
      let density = betaDensity(x, a, b)
      var next = density > 0 && density.isFinite ? x - f / density : .nan
      if !(next > lo && next < hi) { next = 0.5 * (lo + hi) }
      if abs(next - x) <= 1e-15 * Swift.max(x, 1e-300) || hi - lo <= 1e-15 * Swift.max(lo, 1e-300) {
        return next
      }
      x = next
    }
    return x
  }

  /// Φ(z), the standard normal CDF.
  public static func normalCDF(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }

  /// Φ⁻¹(p), the standard normal quantile (SciPy's `norm.ppf`), for p ∈ (0, 1); ±∞ at 0 and 1.
  ///
  /// Acklam's rational approximation (relative error 1.2e-9) refined by two Halley steps on Φ
  /// computed with `erfc`, which brings it to full double precision.
  public static func normalQuantile(_ p: Double) -> Double {
    if p <= 0 { return -.infinity }
    if p >= 1 { return .infinity }
    let a = [
      -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
      1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00,
    ]
    let b = [
      -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
      6.680131188771972e+01, -1.328068155288572e+01,
    ]
    let c = [
      -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
      -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00,
    ]
    let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
    let low = 0.02425
    var x: Double
    if p < low {
      let q = (-2 * log(p)).squareRoot()
      x =
        (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
        / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    } else if p <= 1 - low {
      let q = p - 0.5
      let r = q * q
      x =
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
        / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    } else {
      let q = (-2 * log1p(-p)).squareRoot()
      x =
        -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
        / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    }
    for _ in 0..<2 {
      // Halley's method on e = Φ(x) − p, taking Φ on the smaller tail: Φ(x) − p = (1 − p) − Φ(−x).
      let e = x < 0 ? normalCDF(x) - p : (1 - p) - normalCDF(-x)
      let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
      x -= u / (1 + x * u / 2)
    }
    return x
  }

  /// log B(1/2, ν/2), also for large ν, where lgamma(ν/2) − lgamma((ν+1)/2) cancels: from z = ν/2 = 25
  /// on, by the asymptotic series log Γ(z + 1/2) − log Γ(z) = ½·log z − 1/(8z) + 1/(192z³) − 1/(640z⁵)
  /// + 17/(14336z⁷) − …, whose truncation error there is below 1e-16.
  static func logBetaHalf(_ nu: Double) -> Double {
    let z = nu / 2
    if z < 25 { return logBeta(0.5, z) }
    let w = 1 / (z * z)
    let ratio = 0.5 * log(z) - (1.0 / 8 - w * (1.0 / 192 - w * (1.0 / 640 - w * 17.0 / 14336))) / z
    return 0.5 * log(Double.pi) - ratio
  }

  /// The Student t density with ν > 0 degrees of freedom at t:
  /// (1 + t²/ν)^(−(ν+1)/2) / (√ν·B(1/2, ν/2)); the normal density when ν = ∞.
  public static func studentTDensity(_ t: Double, degreesOfFreedom nu: Double) -> Double {
    precondition(nu > 0, "Student t needs ν > 0 degrees of freedom")
    if nu == .infinity { return exp(-t * t / 2) / (2 * Double.pi).squareRoot() }
    return exp(-logBetaHalf(nu) - 0.5 * log(nu) - (nu + 1) / 2 * log1p(t * t / nu))
  }

  /// P(T ≤ t) for T ~ Student t with ν > 0 degrees of freedom (ν real; ν = ∞ is the normal).
  ///
  /// Through the incomplete beta, P(T ≤ −|t|) = ½·I_x(ν/2, 1/2) with x = ν/(ν+t²); where x is close to 1
  /// (the body of the distribution) it uses the complement I_{1−x}(1/2, ν/2) with 1 − x = t²/(ν+t²) formed
  /// without cancellation. About 1e-13 relative (SciPy's `t.cdf`), the lower tail to full relative
  /// precision, up to ν ≈ 1e6; beyond, rounding x near 1 costs about ν·1e-16 relative. F(t) = 1 − F(−t)
  /// exactly; NaN for NaN.
  public static func studentTCDF(_ t: Double, degreesOfFreedom nu: Double) -> Double {
    precondition(nu > 0, "Student t needs ν > 0 degrees of freedom")
    if t.isNaN { return .nan }
    if nu == .infinity { return normalCDF(t) }
    let lower = studentTLowerTail(-abs(t), nu)  // P(T ≤ −|t|) ≤ 1/2
    return t < 0 ? lower : 1 - lower
  }

  /// P(T ≤ t) for t ≤ 0, to full relative precision in the tail.
  private static func studentTLowerTail(_ t: Double, _ nu: Double) -> Double {
    if t == -.infinity { return 0 }
    let r = -t / nu.squareRoot()  // |t|/√ν
    // x = ν/(ν+t²), as q²/(1+q²) with q = √ν/|t| in the far tail so that t² cannot overflow.
    let q = 1 / r
    let x = r >= 1 ? q * q / (1 + q * q) : 1 / (1 + r * r)
    let a = nu / 2
    if x < studentTSideSwitch(a) {
      return 0.5 * regularizedIncompleteBeta(x, a, 0.5, logBeta: logBetaHalf(nu))
    }
    return 0.5 - 0.5 * regularizedIncompleteBeta(r * r / (1 + r * r), 0.5, a, logBeta: logBetaHalf(nu))
  }

  /// Where the incomplete beta's continued fraction for I_x(ν/2, 1/2) switches to the complement:
  /// (a + 1)/(a + b + 2) with a = ν/2, b = 1/2. Below it the direct form returns the small tail itself.
  private static func studentTSideSwitch(_ a: Double) -> Double { (a + 1) / (a + 2.5) }

  /// The p-quantile of Student t with ν > 0 degrees of freedom (SciPy's `t.ppf`), p ∈ (0, 1);
  /// −∞ at 0, +∞ at 1, 0 at 1/2, NaN for NaN; the inverse of ``studentTCDF(_:degreesOfFreedom:)``.
  ///
  /// Inverts the incomplete beta on the side of the smaller argument (as in the CDF), then polishes
  /// with Newton steps on the tail probability, which brings it to about 1e-14 relative.
  /// Symmetric: Q(p) = −Q(1 − p) exactly whenever 1 − p is exact (p ≥ 1/2 or p a dyadic rational).
  public static func studentTQuantile(_ p: Double, degreesOfFreedom nu: Double) -> Double {
    precondition(nu > 0, "Student t needs ν > 0 degrees of freedom")
    if p.isNaN { return .nan }
    if p <= 0 { return -.infinity }
    if p >= 1 { return .infinity }
    if p == 0.5 { return 0 }
    if nu == .infinity { return normalQuantile(p) }
    let tail = Swift.min(p, 1 - p)  // P(T ≤ −|t|)
    // 2·tail = I_x(ν/2, 1/2) with x = ν/(ν+t²); the body form when x is not small.
    var magnitude: Double
    let x = inverseRegularizedIncompleteBeta(2 * tail, nu / 2, 0.5)
    if x < studentTSideSwitch(nu / 2) {
      magnitude = x > 0 ? (nu * (1 - x) / x).squareRoot() : .infinity
    } else {
      let y = inverseRegularizedIncompleteBeta(1 - 2 * tail, 0.5, nu / 2)  // y = t²/(ν+t²)
      magnitude = (nu * y / (1 - y)).squareRoot()
    }
    if magnitude.isFinite && magnitude > 0 {
      for _ in 0..<2 {
        // Newton on P(T ≤ −m) = tail: the step is (F(−m) − tail) / f(m).
        let step = (studentTLowerTail(-magnitude, nu) - tail) / studentTDensity(magnitude, degreesOfFreedom: nu)
        guard step.isFinite, abs(step) < 0.1 * magnitude else { break }
        magnitude += step
      }
    }
    return p < 0.5 ? -magnitude : magnitude
  }

  /// log of the Binomial(n, p) probability mass at k.
  public static func logBinomialPMF(_ k: Int, _ n: Int, _ p: Double) -> Double {
    let (kd, nd) = (Double(k), Double(n))
    var log = lgamma(nd + 1) - lgamma(kd + 1) - lgamma(nd - kd + 1)
    if k > 0 { log += kd * Foundation.log(p) }
    if k < n { log += (nd - kd) * log1p(-p) }
    return log
  }

  /// P(X ≥ k) for X ~ Binomial(n, p) (1 for k ≤ 0, 0 for k > n).
  public static func binomialUpperTail(_ k: Int, _ n: Int, _ p: Double) -> Double {
    if k <= 0 { return 1 }
    if k > n { return 0 }
    return regularizedIncompleteBeta(p, Double(k), Double(n - k + 1))
  }

  /// P(X ≤ k) for X ~ Binomial(n, p) (0 for k < 0, 1 for k ≥ n).
  public static func binomialLowerTail(_ k: Int, _ n: Int, _ p: Double) -> Double {
    if k < 0 { return 0 }
    if k >= n { return 1 }
    return regularizedIncompleteBeta(1 - p, Double(n - k), Double(k + 1))
  }

  /// The two-sided exact binomial test of k successes in n trials at probability p, as SciPy's
  /// `binomtest(k, n, p).pvalue`: the sum of pmf(i) over every i with pmf(i) ≤ pmf(k)·(1 + 1e-7),
  /// capped at 1; 1 when k = n·p.
  public static func binomialTestTwoSided(_ k: Int, _ n: Int, _ p: Double = 0.5) -> Double {
    precondition(n >= 0 && k >= 0 && k <= n, "need 0 ≤ k ≤ n")
    let mean = Double(n) * p
    if Double(k) == mean { return 1 }
    let threshold = logBinomialPMF(k, n, p) + log1p(1e-7)
    let pValue: Double
    if Double(k) < mean {
      // The first i in [⌈np⌉, n] with pmf(i) ≤ pmf(k)·(1 + 1e-7) (pmf falls on that side).
      var (lo, hi) = (Int(mean.rounded(.up)), n + 1)
      while lo < hi {
        let mid = (lo + hi) / 2
        if logBinomialPMF(mid, n, p) <= threshold { hi = mid } else { lo = mid + 1 }
      }
      pValue = binomialLowerTail(k, n, p) + binomialUpperTail(lo, n, p)
    } else {
      // The last i in [0, ⌊np⌋] with pmf(i) ≤ pmf(k)·(1 + 1e-7) (pmf rises on that side).
      var (lo, hi) = (-1, Int(mean.rounded(.down)))
      while lo < hi {
        let mid = (lo + hi + 1) / 2
        if logBinomialPMF(mid, n, p) <= threshold { lo = mid } else { hi = mid - 1 }
      }
      pValue = binomialLowerTail(lo, n, p) + binomialUpperTail(k, n, p)
    }
    return Swift.min(1, pValue)
  }
}
