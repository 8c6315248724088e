import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The run's console output on standard error: on a terminal, one progress line redrawn in place
/// (`[#####-----] 12/40 done · 1 failed · 2 running · ETA 4m10s`); otherwise one plain line per job
/// event. `verbose` also prints every line of the jobs' output, prefixed with the job id's first 8 digits.
///
/// The ETA is (jobs left) × (mean seconds of the jobs finished in this run) / (jobs at a time).
public final class ConsoleProgress: RunProgress {
  private struct State {
    var total = 0
    var finished = 0
    var failed = 0
    var running = 0
    var parallel = 1
    var seconds: [Double] = []
    var lineShown = false
  }

  private let state = Mutex(State())
  private let verbose: Bool
  private let tty: Bool
  private let write: @Sendable (String) -> Void

  /// Creates the console output; `tty` defaults to whether standard error is a terminal, `write` to
  /// writing on standard error.
  public init(verbose: Bool, tty: Bool? = nil, write: (@Sendable (String) -> Void)? = nil) {
    self.verbose = verbose
    self.tty = tty ?? (isatty(STDERR_FILENO) == 1)
    self.write = write ?? { text in FileHandle.standardError.write(Data(text.utf8)) }
  }

  public func begin(total: Int, cached: Int, parallel: Int) {
    state.withLock {
      $0.total = total
      $0.finished = cached
      $0.parallel = parallel
    }
    emit("\(total) jobs: \(cached) cached, \(total - cached) to run, \(parallel) at a time")
  }

  public func started(_ job: PlannedJob) {
    state.withLock { $0.running += 1 }
    if !tty { emit("start \(describe(job))") } else { redraw() }
  }

  public func finished(_ job: PlannedJob, status: JobStatus, seconds: Double, reason: String?) {
    let counts = state.withLock { s -> (Int, Int) in
      if seconds > 0 { s.running -= 1 }
      if status != .interrupted { s.finished += 1 }
      if status == .failed { s.failed += 1 }
      if status == .done { s.seconds.append(seconds) }
      return (s.finished, s.total)
    }
    let timing = seconds > 0 ? String(format: " (%.1f s)", seconds) : ""
    let why = reason.map { ": \($0)" } ?? ""
    if tty && status != .failed {
      redraw()
    } else {
      emit("[\(counts.0)/\(counts.1)] \(status.rawValue) \(describe(job))\(timing)\(why)")
    }
  }

  public func output(_ job: PlannedJob, line: String) {
    guard verbose else { return }
    emit("[\(job.id.prefix(8))] \(line)")
  }

  public func end(_ summary: RunSummary) {
    clearLine()
    var parts = [
      "\(summary.count(.done)) done", "\(summary.count(.cached)) cached", "\(summary.count(.failed)) failed",
    ]
    if summary.count(.failedEarlier) > 0 {
      parts.append("\(summary.count(.failedEarlier)) diverged in an earlier run (--force reruns them)")
    }
    if summary.count(.doneElsewhere) > 0 { parts.append("\(summary.count(.doneElsewhere)) done by another runner") }
    if summary.interrupted { parts.append("interrupted: \(summary.count(.interrupted)) not run (rerun to resume)") }
    write(parts.joined(separator: ", ") + "\n")
    for job in summary.failed { write("failed: \(describe(job)) → replicate show \(job.id.prefix(12))\n") }
  }

  private func describe(_ job: PlannedJob) -> String {
    let setting = job.settingLabel.isEmpty ? "" : " [\(job.settingLabel)]"
    return "\(job.id.prefix(8)) \(job.experiment)/\(job.methodId)\(setting) seed \(job.seed)"
  }

  /// A message on its own line (clearing the progress line first on a terminal).
  private func emit(_ text: String) {
    clearLine()
    write(text + "\n")
    if tty { redraw() }
  }

  private func clearLine() {
    guard tty else { return }
    let shown = state.withLock { s -> Bool in
      defer { s.lineShown = false }
      return s.lineShown
    }
    if shown { write("\r\u{1B}[2K") }
  }

  private func redraw() {
    guard tty else { return }
    let line = state.withLock { s -> String in
      s.lineShown = true
      return ConsoleProgress.bar(s.finished, s.total, failed: s.failed, running: s.running, eta: eta(s))
    }
    write("\r\u{1B}[2K" + line)
  }

  private func eta(_ s: State) -> Double? {
    guard !s.seconds.isEmpty else { return nil }
    let mean = s.seconds.reduce(0, +) / Double(s.seconds.count)
    return Double(s.total - s.finished) * mean / Double(max(1, s.parallel))
  }

  /// The progress line: `[#####-----] 12/40 done · 1 failed · 2 running · ETA 4m10s`.
  static func bar(_ done: Int, _ total: Int, failed: Int, running: Int, eta: Double?, width: Int = 24) -> String {
    let filled = total == 0 ? width : width * done / total
    let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
    let etaText = eta.map { "ETA \(ConsoleProgress.duration($0))" } ?? "ETA --"
    return "[\(bar)] \(done)/\(total) done · \(failed) failed · \(running) running · \(etaText)"
  }

  /// A duration as `45s`, `4m10s` or `2h05m`.
  public static func duration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    if s < 60 { return "\(s)s" }
    if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
    return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m"
  }
}
