#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// Thin, inlinable wrappers over libm so every module uses the same elementary functions.

@inlinable func _log(_ x: Double) -> Double { log(x) }
@inlinable func _cos(_ x: Double) -> Double { cos(x) }
@inlinable func _sin(_ x: Double) -> Double { sin(x) }

/// e^x in single precision (libm's `expf`).
@inlinable public func expf32(_ x: Float) -> Float { expf(x) }
/// Natural logarithm in single precision (libm's `logf`).
@inlinable public func logf32(_ x: Float) -> Float { logf(x) }
/// x^y in single precision (libm's `powf`).
@inlinable public func powf32(_ x: Float, _ y: Float) -> Float { powf(x, y) }
/// e^x in double precision.
@inlinable public func exp64(_ x: Double) -> Double { exp(x) }
/// Natural logarithm in double precision.
@inlinable public func log64(_ x: Double) -> Double { log(x) }
/// x^y in double precision.
@inlinable public func pow64(_ x: Double, _ y: Double) -> Double { pow(x, y) }
/// log Γ(x) in double precision.
@inlinable public func lgamma64(_ x: Double) -> Double { lgamma(x) }
/// The error function in double precision.
@inlinable public func erf64(_ x: Double) -> Double { erf(x) }
/// The complementary error function in double precision.
@inlinable public func erfc64(_ x: Double) -> Double { erfc(x) }
/// Cosine in double precision.
@inlinable public func cos64(_ x: Double) -> Double { cos(x) }
