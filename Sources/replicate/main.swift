import ArgumentParser
import Foundation
import Harness
import Methods

/// `replicate bench` (temporary root until the CLI lands).
struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "bench")
  @Flag var json = false
  @Option var threads = 1
  @Option var workload = "all"
  @Option var breakdown: String?
  func run() throws {
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
struct Root: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "replicate", subcommands: [BenchCommand.self, DebugRun.self])
}
Root.main()
