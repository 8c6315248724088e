import Engine
import _ReplicateKernelPin

/// The OpenBLAS kernel of this test process. A constructor in `_ReplicateKernelPin` pins
/// ``Engine/BLASKernel/pinned`` before any test runs, as the CLI does at start-up, unless the environment
/// names a kernel; tests that compare bits with committed values call ``requirePinned()``.
public enum TestKernel {
  /// Whether the constructor pinned the kernel in this process.
  public static var pinnedByTests: Bool { replicate_test_kernel_pinned() != 0 }

  /// Whether this process runs the kernel the committed results and fingerprints were made with.
  public static var isPinnedKernel: Bool { BLASKernel.current == BLASKernel.pinned }
}
