import Dispatch
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A per-job lock file, `<id>.lock` beside the result, so two runners (or Slurm tasks) sharing a results
/// folder never run one job at the same time.
///
/// Acquired with `open(O_CREAT | O_EXCL)` — one creator wins — and holding one line
/// `<pid> <host> <token>`. While held, the file's modification time is refreshed every
/// ``heartbeat`` seconds. A lock is stale, and is broken, when its process is gone (same host,
/// `kill(pid, 0)` fails with `ESRCH`) or when it has not been refreshed for ``staleAfter`` seconds
/// (any host: a node that died). Breaking renames the file aside first and checks that it moved the
/// stale lock, so two breakers cannot both win; a job that is still run twice in some remaining
/// race writes the same content-addressed result twice, atomically, never a torn file.
public final class JobLock: @unchecked Sendable {
  /// The lock file's path.
  public let path: String
  /// The line written into the lock file (identifies this holder).
  public let token: String
  private var timer: DispatchSourceTimer?
  private let queue = DispatchQueue(label: "replicate.lock-heartbeat")

  /// Seconds between refreshes of a held lock's modification time.
  public static let heartbeat: TimeInterval = 30
  /// A lock not refreshed for this long is stale whatever its host.
  public static let staleAfter: TimeInterval = 600

  /// Who holds a lock, as written in its file.
  public struct Owner: Sendable, CustomStringConvertible {
    /// The holder's process id.
    public var pid: Int32
    /// The holder's host name.
    public var host: String
    public var description: String { "pid \(pid) on \(host)" }
  }

  /// The outcome of trying to take a lock.
  public enum Attempt: Sendable {
    /// The lock is ours.
    case acquired(JobLock)
    /// A live holder has it.
    case busy(Owner?)
  }

  private init(path: String, token: String) {
    self.path = path
    self.token = token
  }

  /// This process's host name.
  public static let hostName: String = ProcessInfo.processInfo.hostName

  /// Tries once to take the lock at `path`, breaking it first if it is stale.
  public static func acquire(at path: String) throws -> Attempt {
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    let token = "\(getpid()) \(hostName) \(UInt64.random(in: 0...UInt64.max))"
    for _ in 0..<3 {
      let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
      if fd >= 0 {
        let line = token + "\n"
        _ = line.withCString { Glibc.write(fd, $0, strlen($0)) }
        fsync(fd)
        close(fd)
        let lock = JobLock(path: path, token: token)
        lock.startHeartbeat()
        return .acquired(lock)
      }
      guard errno == EEXIST else {
        throw AtomicFile.Error(code: .create, path: path, errno: errno)
      }
      let content = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
      guard isStale(path: path, content: content) else { return .busy(owner(content)) }
      breakStale(path: path, content: content)
    }
    return .busy(owner((try? String(contentsOfFile: path, encoding: .utf8)) ?? ""))
  }

  /// What a lock file says, for `status`: its holder, whether it is stale (``isStale(path:content:)``) and
  /// the seconds since its last heartbeat; nil when there is no lock file.
  public static func inspect(at path: String) -> (owner: Owner?, stale: Bool, age: TimeInterval)? {
    guard let content = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    return (owner(content), isStale(path: path, content: content), modified.map { Date().timeIntervalSince($0) } ?? 0)
  }

  /// Whether the lock file at `path` with `content` is stale.
  static func isStale(path: String, content: String) -> Bool {
    if let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
      Date().timeIntervalSince(modified) > staleAfter
    {
      return true
    }
    guard let owner = owner(content), owner.host == hostName else { return false }
    return kill(owner.pid, 0) != 0 && errno == ESRCH
  }

  static func owner(_ content: String) -> Owner? {
    let parts = content.split(separator: " ")
    guard parts.count >= 2, let pid = Int32(parts[0]) else { return nil }
    return Owner(pid: pid, host: String(parts[1]))
  }

  /// Moves the stale lock aside; if what moved is not the stale lock we saw (someone re-took it in the
  /// meantime), puts it back unless the slot was taken again.
  private static func breakStale(path: String, content: String) {
    let aside = path + ".broken.\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
    guard rename(path, aside) == 0 else { return }
    let moved = (try? String(contentsOfFile: aside, encoding: .utf8)) ?? ""
    if moved != content { _ = link(aside, path) }
    unlink(aside)
  }

  /// Whether the lock file still holds this lock's token.
  public var isHeld: Bool {
    ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
      == token
  }

  /// Takes over a lock that a parent process acquired and passed down (its token in
  /// `REPLICATE_LOCK_TOKEN`), or nil if the file does not hold that token.
  public static func adopt(at path: String, token: String) -> JobLock? {
    let lock = JobLock(path: path, token: token)
    return lock.isHeld ? lock : nil
  }

  private func startHeartbeat() {
    let timer = DispatchSource.makeTimerSource(queue: queue)
    timer.schedule(deadline: .now() + JobLock.heartbeat, repeating: JobLock.heartbeat)
    let path = self.path
    timer.setEventHandler { utimes(path, nil) }
    timer.resume()
    self.timer = timer
  }

  /// Releases the lock (removes the file if it still holds our token).
  public func release() {
    timer?.cancel()
    timer = nil
    if isHeld { unlink(path) }
  }

  deinit { timer?.cancel() }
}
