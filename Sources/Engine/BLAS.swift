import CBLAS

#if canImport(Glibc)
  import Glibc
#endif

/// Matrix products through OpenBLAS's `cblas_sgemm` (row-major).
public enum BLAS {
  /// The engine's numeric version: part of every job id, bumped whenever a kernel change can move a
  /// result's bits (summation order, fused operations, a new convolution algorithm).
  public static let numericVersion = "engine-1"

  /// Sets the number of OpenBLAS threads (workers run one; `bench --threads T` sets T).
  public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }

  /// Makes the process run with `OPENBLAS_NUM_THREADS=threads`, re-executing itself once if needed.
  ///
  /// OpenBLAS starts its thread pool when the library loads, from the environment; lowering the count
  /// later with `openblas_set_num_threads` leaves the extra threads spinning (`sched_yield`), which on a
  /// 2-core machine made elementwise loops up to 15× slower in measurements. So the CLI calls this first
  /// thing: workers run with 1 thread, `bench --threads T` with T. Returns normally when the environment
  /// already matches (or when re-executing is impossible, after setting the count through the API).
  public static func ensureProcessThreads(_ threads: Int) {
    let wanted = "\(threads)"
    #if os(Linux)
      if let current = getenv("OPENBLAS_NUM_THREADS"), String(cString: current) == wanted {
        setThreads(threads)
        return
      }
      setenv("OPENBLAS_NUM_THREADS", wanted, 1)
      let args = CommandLine.arguments
      var cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
      cArgs.append(nil)
      execv("/proc/self/exe", &cArgs)
      // execv returned: fall through with the API.
    #endif
    setThreads(threads)
  }

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
