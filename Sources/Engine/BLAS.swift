import CBLAS

#if canImport(Glibc)
  import Glibc
#endif

/// Matrix products through OpenBLAS's `cblas_sgemm` (row-major), always single-threaded inside a call;
/// ``parallelGemm(transA:transB:m:n:k:alpha:_:lda:_:ldb:beta:_:ldc:)`` splits a product over ``Parallel``.
public enum BLAS {
  /// The engine's numeric version: part of every job id, bumped whenever a kernel change can move a
  /// result's bits (summation order, fused operations, a new convolution algorithm).
  public static let numericVersion = "engine-1"

  /// Sets the engine's thread count: OpenBLAS runs one thread inside each call, and the engine's own
  /// parallel regions (``Parallel``) use `n` workers. Workers use 1; `bench --threads T` sets T.
  public static func setThreads(_ n: Int) {
    openblas_set_num_threads(1)
    Parallel.threads = Swift.max(1, n)
  }

  /// Makes the process load OpenBLAS single-threaded (`OPENBLAS_NUM_THREADS=1`) with the pinned kernel
  /// (``BLASKernel/prepareEnvironment(native:)``; `nativeKernel` nil inherits the parent's choice), re-executing itself once if either needs the
  /// environment changed, and sets ``Parallel/threads`` to `threads`.
  ///
  /// OpenBLAS starts its thread pool and picks its kernel when the library loads, from the environment;
  /// lowering the count later with `openblas_set_num_threads` leaves the extra threads spinning
  /// (`sched_yield`), which on a 2-core machine made elementwise loops up to 15× slower in measurements. And
  /// with a batch of 128 the per-layer GEMMs are too small for OpenBLAS's threading to pay, while the
  /// elementwise passes stay single-threaded. So the engine parallelises itself over the batch
  /// (``Parallel``), each worker making single-threaded BLAS calls, and OpenBLAS always runs with one
  /// thread. The CLI calls this first thing: workers with 1, `bench --threads T` with T. Returns normally
  /// when the environment already fits (or when re-executing is impossible, after setting the count
  /// through the API; the kernel is then OpenBLAS's own choice, and results record it).
  public static func ensureProcessSetup(threads: Int, nativeKernel: Bool?) {
    #if os(Linux)
      var changed = BLASKernel.prepareEnvironment(native: nativeKernel)
      if let current = getenv("OPENBLAS_NUM_THREADS"), String(cString: current) == "1" {
      } else {
        setenv("OPENBLAS_NUM_THREADS", "1", 1)
        changed = true
      }
      if changed {
        let args = CommandLine.arguments
        var cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cArgs.append(nil)
        execv("/proc/self/exe", &cArgs)
      }
    // execv returned, or nothing to change: go on with the API.
    #endif
    setThreads(threads)
  }

  /// The engine's compute threads (``Parallel/threads``); OpenBLAS itself runs one thread per call.
  public static var threads: Int { Parallel.threads }

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

  /// ``gemm(transA:transB:m:n:k:alpha:_:lda:_:ldb:beta:_:ldc:)`` split over ``Parallel/threads``
  /// workers: along M (rows of C) when m ≥ n, else along N (columns of C), one single-threaded call per
  /// chunk. Every element of C is computed by one call over the full K, so there is no reduction across
  /// workers; products below about 2²⁰ multiply-adds run in one call.
  public static func parallelGemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
    _ c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    let work = m * n * Swift.max(k, 1)
    let byRows = m >= n
    let chunks = work < parallelGemmMinimum ? 1 : Parallel.chunkCount(byRows ? m : n, grain: 8)
    if chunks == 1 {
      gemm(
        transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a, lda: lda, b, ldb: ldb, beta: beta, c,
        ldc: ldc)
      return
    }
    Parallel.for(count: chunks) { t in
      let r = Parallel.chunk(t, of: chunks, count: byRows ? m : n)
      if byRows {
        // Rows r of op(A): row offset in A, or column offset when A is transposed.
        gemm(
          transA: transA, transB: transB, m: r.count, n: n, k: k, alpha: alpha,
          a + (transA ? r.lowerBound : r.lowerBound * lda), lda: lda, b, ldb: ldb, beta: beta,
          c + r.lowerBound * ldc, ldc: ldc)
      } else {
        // Columns r of op(B): column offset in B, or row offset when B is transposed.
        gemm(
          transA: transA, transB: transB, m: m, n: r.count, k: k, alpha: alpha, a, lda: lda,
          b + (transB ? r.lowerBound * ldb : r.lowerBound), ldb: ldb, beta: beta, c + r.lowerBound, ldc: ldc)
      }
    }
  }

  /// Below this many multiply-adds ``parallelGemm(transA:transB:m:n:k:alpha:_:lda:_:ldb:beta:_:ldc:)``
  /// makes one call (a parallel region costs microseconds).
  public static let parallelGemmMinimum = 1 << 20

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
