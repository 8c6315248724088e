import Foundation

/// Unbuffered writes to standard output and error (workers' lines reach the runner's log at once).
enum Console {
  /// Writes `text` to standard output as it is.
  static func out(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }
  /// Writes `text` and a newline to standard error.
  static func error(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
}
