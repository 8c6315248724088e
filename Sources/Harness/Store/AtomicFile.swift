import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Whole-file writes that a reader never sees half done: the bytes go to a temporary file in the same
/// folder (`.<name>.tmp.<pid>.<random>`), are flushed to disk, and the file is renamed over the target
/// (`rename(2)` is atomic within one file system). A writer killed before the rename leaves only the
/// temporary file, which readers ignore (it does not match `<id>.json`) and ``ResultStore`` removes.
public enum AtomicFile {
  /// An error writing a file.
  public struct Error: Swift.Error, CustomStringConvertible {
    /// What failed.
    public enum Code: String, Sendable { case create, write, rename }
    /// What failed.
    public var code: Code
    /// The target path.
    public var path: String
    /// `errno` when it failed.
    public var errno: Int32
    public var description: String { "cannot \(code.rawValue) \(path): \(String(cString: strerror(errno)))" }
  }

  /// The prefix of temporary files written for `path`'s file name.
  static func temporaryPrefix(for name: String) -> String { ".\(name).tmp." }

  /// Writes `data` to `path` atomically, creating the folder if needed. `replace: false` refuses to
  /// replace an existing file (returns false), using `link(2)` so that the check and the creation are one step.
  @discardableResult
  public static func write(_ data: Data, to path: String, replace: Bool = true) throws -> Bool {
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent().path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let temp = (dir as NSString).appendingPathComponent(
      temporaryPrefix(for: url.lastPathComponent) + "\(getpid()).\(UInt32.random(in: 0...UInt32.max))")
    let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    guard fd >= 0 else { throw Error(code: .create, path: path, errno: errno) }
    var failure: Int32 = 0
    data.withUnsafeBytes { raw in
      var offset = 0
      while offset < raw.count {
        let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
        if n < 0 {
          if errno == EINTR { continue }
          failure = errno
          return
        }
        offset += n
      }
    }
    if failure == 0 && fsync(fd) != 0 { failure = errno }
    close(fd)
    if failure != 0 {
      unlink(temp)
      throw Error(code: .write, path: path, errno: failure)
    }
    defer { unlink(temp) }
    if replace {
      guard rename(temp, path) == 0 else { throw Error(code: .rename, path: path, errno: errno) }
      return true
    }
    if link(temp, path) == 0 { return true }
    if errno == EEXIST { return false }
    throw Error(code: .rename, path: path, errno: errno)
  }

  /// Removes temporary files left for `name` in `dir` by writers that were killed.
  static func removeLeftovers(for name: String, in dir: String) {
    let prefix = temporaryPrefix(for: name)
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
    for leftover in names where leftover.hasPrefix(prefix) {
      unlink((dir as NSString).appendingPathComponent(leftover))
    }
  }
}
