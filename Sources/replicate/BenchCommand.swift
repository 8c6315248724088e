import ArgumentParser
import Engine
import Foundation
import Harness

/// `replicate bench [--json] [--threads T] [--workload W]`.
struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Measure training throughput (examples/s) on the peer benchmark's workloads.",
    discussion: """
      Workloads: mlp (784-512-512-10), cnn (cnn-small, 1×28×28), resnet32 (3×32×32), certify (cnn-small inference on
      1000 noisy copies), all; mlp-absgd and cnn-absgd (mlp / cnn with ABSGD's weighted loss, not in all); and gemm (1024³ sgemm GFLOP/s, the peak mlp is compared with). Batch 128, float32,
      min/median/max over 5 repeats after warm-up. Compare with ../shared/bench/peer_torch.py in the same run.
      Example: replicate bench --json --threads 1
      """)

  @Flag(help: "One JSON object per line per workload, in the peer's shape.")
  var json = false

  @Option(help: "Engine threads (batch-parallel layers; OpenBLAS itself always runs single-threaded).")
  var threads = 1

  @OptionGroup var kernel: KernelOption

  @Option(help: "mlp, cnn, resnet32, certify, all, mlp-absgd, cnn-absgd, or gemm.")
  var workload = "all"

  @Option(help: .hidden)
  var breakdown: String?

  @Option(help: .hidden)
  var conv: String?

  @Option(help: .hidden)
  var convAlgorithm: String?

  func validate() throws {
    if threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    if !(Bench.workloads + Bench.methodWorkloads + ["all", "gemm"]).contains(workload) {
      throw ValidationError("unknown workload '\(workload)' (expected one of: \(Bench.workloads.joined(separator: ", ")), all, gemm)")
    }
  }

  func run() throws {
    if let a = convAlgorithm, !Bench.setConvAlgorithm(a) {
      throw ValidationError("unknown --conv-algorithm '\(a)' (expected im2col, winograd or auto)")
    }
    if let m = breakdown {
      // A per-layer profile for engine work: milliseconds per step in each top-level layer.
      for (name, f, b) in try Bench.breakdown(model: m, threads: threads) {
        print(name, String(format: "fwd %.2f ms  bwd %.2f ms", f * 1000, b * 1000))
      }
      return
    }
    if let c = conv {
      // batch,size,cin,cout,stride: one 3×3 convolution's forward and backward.
      let v = c.split(separator: ",").compactMap { Int($0) }
      guard v.count == 5 else { throw ValidationError("--conv expects batch,size,cin,cout,stride") }
      let (f, b) = Bench.convProfile(batch: v[0], size: v[1], cin: v[2], cout: v[3], stride: v[4], threads: threads)
      let flops = Double(v[0] * (v[1] / v[4]) * (v[1] / v[4]) * 9 * v[2] * v[3] * 2)
      print(String(format: "conv fwd %.2f ms (%.1f GFLOP/s)  bwd %.2f ms (%.1f GFLOP/s)", f, flops / f / 1e6, b, 2 * flops / b / 1e6))
      return
    }
    if !json { print(Bench.kernelLine) }
    if workload == "gemm" {
      let g = Bench.gemmPeak(threads: threads)
      if json {
        print(
          #"{"blas_kernel":"\#(BLASKernel.current)","gflops":{"max":\#(g["max"]!),"median":\#(g["median"]!),"min":\#(g["min"]!)},"threads":\#(threads),"workload":"gemm"}"#
        )
      } else {
        print(
          String(
            format: "gemm      threads=%d GFLOP/s median %.1f (min %.1f, max %.1f)", threads, g["median"]!, g["min"]!,
            g["max"]!))
      }
      return
    }
    for row in try Bench.run(workload: workload, threads: threads) {
      if json {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        print(String(decoding: try e.encode(row), as: UTF8.self))
      } else {
        print(Bench.format(row))
      }
    }
  }
}
