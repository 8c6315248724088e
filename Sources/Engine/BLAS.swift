import CBLAS

/// Matrix products through OpenBLAS's `cblas_sgemm` (row-major).
public enum BLAS {
  /// The engine's numeric version: part of every job id, bumped whenever a kernel change can move a
  /// result's bits (summation order, fused operations, a new convolution algorithm).
  public static let numericVersion = "engine-1"

  /// Sets the number of OpenBLAS threads (workers run one; `bench --threads T` sets T).
  public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }

  /// The number of OpenBLAS threads in use.
  public static var threads: Int { Int(openblas_get_num_threads()) }

  /// C ← α·op(A)·op(B) + β·C, row-major, with op(X) = Xᵀ when the flag is set.
  ///
  /// - Parameters: m, n, k: C is m×n and the inner dimension is k; lda, ldb, ldc: row strides.
  @inlinable
  public static func gemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
    _ c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    if m == 0 || n == 0 { return }
    cblas_sgemm(
      CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
      Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
  }

  /// Cholesky factorisation A = L·Lᵀ in place (LAPACK `dpotrf`, lower), A n×n row-major symmetric
  /// positive definite. On return the lower triangle holds L and the strict upper triangle is zeroed.
  /// Returns LAPACK's `info` (0 on success; k > 0: the leading minor of order k is not positive definite).
  public static func cholesky(_ a: inout [Double], n: Int) -> Int {
    // Row-major lower == column-major upper.
    var uplo = Int8(UInt8(ascii: "U"))
    var nn = Int32(n)
    var lda = Int32(Swift.max(n, 1))
    var info: Int32 = 0
    a.withUnsafeMutableBufferPointer { dpotrf_(&uplo, &nn, $0.baseAddress, &lda, &info) }
    if info == 0 {
      for i in 0..<n { for j in (i + 1)..<Swift.max(n, i + 1) { a[i * n + j] = 0 } }
    }
    return Int(info)
  }
}
