import ArgumentParser
import Engine
import Foundation
import Harness
import Methods

// The lead's commands, moved here unchanged from the temporary main.swift when the CLI root landed.

/// `replicate bench` (temporary root until the CLI lands).
struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "bench")
  @Flag var json = false
  @Option var threads = 1
  @Option var workload = "all"
  @Option var breakdown: String?
  @Option var conv: String?
  @Flag var relu = false
  func run() throws {
    if let c = conv {
      let v = c.split(separator: ",").map { Int($0)! }
      let (f, b) = Bench.convProfile(batch: v[0], size: v[1], cin: v[2], cout: v[3], stride: v[4], threads: threads)
      let flops = Double(v[0] * (v[1] / v[4]) * (v[1] / v[4]) * 9 * v[2] * v[3] * 2)
      print(String(format: "conv fwd %.2f ms (%.1f GFLOP/s)  bwd %.2f ms (%.1f GFLOP/s)", f, flops / f / 1e6, b, 2 * flops / b / 1e6))
      return
    }
    if relu {
      let n = 2_097_152
      let y = Tensor(shape: [n]), dy = Tensor(shape: [n]), dx = Tensor(shape: [n])
      var s = RandomKey(seed: 1).stream()
      s.fillNormal(y.buffer); s.fillNormal(dy.buffer)
      if ProcessInfo.processInfo.environment["ONES"] != nil { dy.fill(1) }
      if ProcessInfo.processInfo.environment["YONES"] != nil { y.fill(1) }
      for _ in 0..<3 {
        let t = DispatchTime.now().uptimeNanoseconds
        Kernels.reluBackward(output: y.pointer, dy.pointer, dx.pointer, count: n)
        let t1 = DispatchTime.now().uptimeNanoseconds
        Kernels.relu(y.pointer, dx.pointer, count: n)
        let t2 = DispatchTime.now().uptimeNanoseconds
        print("reluBackward ms", Double(t1 - t) * 1e-6, "relu ms", Double(t2 - t1) * 1e-6)
      }
      return
    }
    if workload == "gemm" {
      let g = Bench.gemmPeak(threads: threads)
      print(String(format: "sgemm 1024³ threads=%d GFLOP/s median %.1f (min %.1f, max %.1f)", threads, g["median"]!, g["min"]!, g["max"]!))
      return
    }
    if let m = breakdown {
      for (name, f, b) in try Bench.breakdown(model: m, threads: threads) {
        print(name, String(format: "fwd %.2f ms  bwd %.2f ms", f * 1000, b * 1000))
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
struct DebugRun: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "debug-run", shouldDisplay: false)
  @Argument var spec: String
  func run() throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: spec))
    let s = try JSONDecoder().decode(JobSpec.self, from: data)
    let t = Date()
    let out = try JobRunner.run(s, dataDir: nil, log: { print($0) })
    let e = JSONEncoder(); e.outputFormatting = [.sortedKeys, .prettyPrinted]
    print(String(decoding: try e.encode(out.overall), as: UTF8.self))
    print("per-class", out.perClass["accuracy"]!.map { Int($0) })
    print("data", out.data)
    print("seconds", Date().timeIntervalSince(t))
  }
}
