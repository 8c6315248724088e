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

  /// How this process's kernel was chosen, from its environment.
  public static var choice: Choice {
    let coretype = environment("OPENBLAS_CORETYPE")
    let marker = environment(choiceVariable)
    if let coretype, !coretype.isEmpty { return marker == "pinned" && coretype == pinned ? .pinned : .environment }
    return .native
  }

  /// Sets the environment for the next `exec` of this process: the pin when `OPENBLAS_CORETYPE` is
  /// unset or empty, `native` is false (and no parent opted out) and the CPU supports the kernel.
  /// Returns whether `OPENBLAS_CORETYPE` changed (the process must re-execute for OpenBLAS to see it).
  public static func prepareEnvironment(native: Bool) -> Bool {
    if let coretype = environment("OPENBLAS_CORETYPE"), !coretype.isEmpty { return false }
    if native || environment(choiceVariable) == "native" {
      setenv(choiceVariable, "native", 1)
      return false
    }
    guard cpuSupportsPinned else { return false }
    setenv("OPENBLAS_CORETYPE", pinned, 1)
    setenv(choiceVariable, "pinned", 1)
    return true
  }

  /// Whether a command line asks for the native kernel: `--blas-kernel native` or `--blas-kernel=native`.
  public static func nativeRequested(_ arguments: [String]) -> Bool {
    for (i, a) in arguments.enumerated() {
      if a == "--blas-kernel", i + 1 < arguments.count, arguments[i + 1] == "native" { return true }
      if a == "--blas-kernel=native" { return true }
    }
    return false
  }

  private static func environment(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
  }
}
