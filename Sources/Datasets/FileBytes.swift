import CZlib

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reading whole files, gzip-compressed or raw, into memory.
enum FileBytes {
  /// Whether a regular file (or a link to one) exists at `path`.
  static func exists(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
  }

  /// Whether a directory exists at `path`.
  static func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
  }

  /// The bytes of the file at `path`, decompressed when it is gzip (detected from its content by zlib,
  /// whatever its name), as stored otherwise.
  ///
  /// - Throws: ``DatasetError`` `missingFile` when there is no such file, `unreadable` when it cannot be
  ///   opened, `badGzip` when the gzip stream is corrupt or ends early.
  static func read(_ path: String) throws -> [UInt8] {
    guard exists(path) else {
      throw DatasetError(.missingFile, file: path, "no such file", expected: "a readable regular file")
    }
    guard let file = gzopen(path, "rb") else {
      throw DatasetError(.unreadable, file: path, "cannot open the file", expected: "a readable regular file")
    }
    defer { gzclose(file) }
    _ = gzbuffer(file, 1 << 18)
    let chunkSize = 1 << 20
    var chunk = [UInt8](repeating: 0, count: chunkSize)
    var out: [UInt8] = []
    while true {
      let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32(chunkSize)) }
      if n < 0 { throw gzipError(file, path) }
      if n == 0 { break }
      out.append(contentsOf: chunk[0..<Int(n)])
    }
    var errnum: Int32 = 0
    _ = gzerror(file, &errnum)
    if errnum != Z_OK { throw gzipError(file, path) }
    return out
  }

  private static func gzipError(_ file: gzFile, _ path: String) -> DatasetError {
    var errnum: Int32 = 0
    let text = gzerror(file, &errnum).map { String(cString: $0) } ?? "unknown error"
    if errnum == Z_ERRNO {
      return DatasetError(
        .unreadable, file: path, "read error: \(String(cString: strerror(errno)))",
        expected: "a readable regular file")
    }
    let what = errnum == Z_BUF_ERROR ? "gzip stream ends early (\(text))" : "corrupt gzip stream (\(text))"
    return DatasetError(.badGzip, file: path, what, expected: "a complete gzip stream or an uncompressed file")
  }
}
