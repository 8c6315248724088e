import CBLAS

#if canImport(Glibc)
  import Glibc
#endif

/// Which OpenBLAS kernel the process runs, and the pin that makes results bitwise reproducible on every
/// x86-64 host with AVX2 (DESIGN.md, Determinism).
///
/// A DYNAMIC_ARCH OpenBLAS picks its kernels by CPU when it loads: Zen on AMD EPYC 7003, SkylakeX or
/// Cooperlake on AVX-512 Xeons and EPYCs, each summing a product in its own order. The committed results
/// were made with the Haswell kernels (AVX2 + FMA; on the Zen hosts they were first made on, OpenBLAS
/// 0.3.21's Zen sgemm is the Haswell kernel with the same blocking, and reruns under either agree bit for
/// bit). So when the environment names no kernel, the CLI pins ``pinned`` through `OPENBLAS_CORETYPE`
/// before OpenBLAS loads (re-executing itself once: ``BLAS/ensureProcessSetup(threads:nativeKernel:)``),
/// and workers inherit it. An explicit `OPENBLAS_CORETYPE` is always respected (some processors need
/// one); `--blas-kernel native` opts out, for speed. Results record ``current`` and ``choice``.
public enum BLASKernel {
  /// The kernel the committed results were made with, pinned when the environment names none.
  public static let pinned = "Haswell"

  /// The variable that carries the choice to worker processes: `pinned` (set with the pin) or `native`.
  public static let choiceVariable = "REPLICATE_BLAS_KERNEL"

  /// How the process's kernel was chosen.
  public enum Choice: String, Sendable {
    /// ``pinned``, set by `replicate` because the environment named no kernel.
    case pinned
    /// `OPENBLAS_CORETYPE` was set by the user or the system, and respected.
    case environment
    /// OpenBLAS's own choice: `--blas-kernel native`, or a CPU without AVX2 and FMA (no pin possible).
    case native
  }

  /// Whether the CPU can run the pinned kernel (x86-64 with AVX2 and FMA).
  public static var cpuSupportsPinned: Bool { replicate_cpu_has_avx2_fma() != 0 }

  /// The kernel OpenBLAS runs (`openblas_get_corename`, e.g. `Haswell`, `Zen`, `SkylakeX`).
  public static var current: String {
    openblas_get_corename().map { String(cString: $0) } ?? "unknown"
  }

  /// How this process's kernel was chosen, from its environment and the kernel that runs: `pinned` only
  /// when the pin is in the environment *and* OpenBLAS runs it (a failed re-exec, or an OpenBLAS built
  /// without DYNAMIC_ARCH, runs its own choice: `native`).
  public static var choice: Choice {
    let coretype = environment("OPENBLAS_CORETYPE")
    if let coretype, !coretype.isEmpty {
      guard environment(choiceVariable) == "pinned" else { return .environment }
      return current.lowercased() == pinned.lowercased() ? .pinned : .native
    }
    return .native
  }

  /// Sets the environment for the next `exec` of this process and returns whether it changed anything
  /// OpenBLAS reads when it loads (the process must then re-execute):
  /// - an explicit, non-empty `OPENBLAS_CORETYPE` is kept;
  /// - `native` (`--blas-kernel native`; nil: inherit the parent's choice) removes an empty
  ///   `OPENBLAS_CORETYPE` (with which OpenBLAS reports "Core not found" and falls back) and marks the choice
  ///   for workers;
  /// - else, on a CPU with AVX2 and FMA, the pin.
  public static func prepareEnvironment(native requested: Bool?) -> Bool {
    let coretype = environment("OPENBLAS_CORETYPE")
    if let coretype, !coretype.isEmpty { return false }
    if requested ?? (environment(choiceVariable) == "native") || !cpuSupportsPinned {
      setenv(choiceVariable, "native", 1)
      guard coretype != nil else { return false }
      unsetenv("OPENBLAS_CORETYPE")
      return true
    }
    setenv("OPENBLAS_CORETYPE", pinned, 1)
    setenv(choiceVariable, "pinned", 1)
    return true
  }

  /// What a command line asks for: true for `--blas-kernel native`, false for `--blas-kernel pinned` (either
  /// spelling, `=` too), nil when it names neither (inherit the parent's choice).
  public static func nativeRequested(_ arguments: [String]) -> Bool? {
    var value: String?
    for (i, a) in arguments.enumerated() {
      if a == "--blas-kernel", i + 1 < arguments.count { value = arguments[i + 1] }
      if a.hasPrefix("--blas-kernel=") { value = String(a.dropFirst("--blas-kernel=".count)) }
    }
    return value.flatMap { $0 == "native" ? true : $0 == "pinned" ? false : nil }
  }

  private static func environment(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
  }
}
