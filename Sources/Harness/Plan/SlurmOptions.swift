/// Resources requested per array task in an sbatch script (`slurm:` in a manifest or its profile).
public struct SlurmOptions: Hashable, Sendable, Codable {
  /// `--cpus-per-task`.
  public var cpusPerTask: Int
  /// `--time`, in one of Slurm's formats (`minutes`, `MM:SS`, `HH:MM:SS`, `D-HH[:MM[:SS]]`).
  public var time: String
  /// `--mem`: megabytes or a size with a unit (`4G`, `500M`).
  public var mem: String

  /// Creates options.
  public init(cpusPerTask: Int, time: String, mem: String) {
    self.cpusPerTask = cpusPerTask
    self.time = time
    self.mem = mem
  }

  /// The largest request of each resource across `options` (one script serves every job in it).
  public static func covering(_ options: [SlurmOptions]) -> SlurmOptions {
    guard var best = options.first else { return Registry.defaultSlurm }
    for o in options.dropFirst() {
      best.cpusPerTask = max(best.cpusPerTask, o.cpusPerTask)
      if (seconds(ofTime: o.time) ?? 0) > (seconds(ofTime: best.time) ?? 0) { best.time = o.time }
      if (megabytes(ofMemory: o.mem) ?? 0) > (megabytes(ofMemory: best.mem) ?? 0) { best.mem = o.mem }
    }
    return best
  }

  /// Seconds in a Slurm time string, or nil when it is not one. `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`
  /// (Slurm's `sbatch --time` formats).
  public static func seconds(ofTime text: String) -> Int? {
    var days = 0
    var rest = Substring(text)
    if let dash = text.firstIndex(of: "-") {
      guard let d = Int(text[..<dash]), d >= 0 else { return nil }
      days = d
      rest = text[text.index(after: dash)...]
    }
    let parts = rest.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
    guard !parts.isEmpty, parts.count <= 3, parts.allSatisfy({ ($0 ?? -1) >= 0 }) else { return nil }
    let p = parts.map { $0 ?? 0 }
    let inDay: Int
    if days > 0 || text.contains("-") {
      // D-H, D-H:M, D-H:M:S
      inDay = p[0] * 3600 + (p.count > 1 ? p[1] * 60 : 0) + (p.count > 2 ? p[2] : 0)
    } else {
      switch p.count {
      case 1: inDay = p[0] * 60
      case 2: inDay = p[0] * 60 + p[1]
      default: inDay = p[0] * 3600 + p[1] * 60 + p[2]
      }
    }
    return days * 86_400 + inDay
  }

  /// Megabytes in a Slurm memory string (`4000`, `500M`, `4G`, `1T`, `512K`), or nil when it is not one.
  public static func megabytes(ofMemory text: String) -> Double? {
    guard let last = text.last else { return nil }
    let units: [Character: Double] = ["K": 1.0 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024]
    if let unit = units[Character(last.uppercased())] {
      guard let n = Int(text.dropLast()), n > 0 else { return nil }
      return Double(n) * unit
    }
    guard let n = Int(text), n > 0 else { return nil }
    return Double(n)
  }
}
