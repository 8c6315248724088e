import Foundation
import Testing

@testable import Harness

/// The public conformance vectors (a copy of ../shared/conformance/vectors-public.json).
private func publicVectors() throws -> String {
  let url = try #require(Bundle.module.url(forResource: "vectors-public", withExtension: "json", subdirectory: "Fixtures"))
  return url.path
}

@Suite struct ConformanceTests {
  /// Methods of the format this project does not implement (none); a case of any other method
  /// must pass.
  static let unimplemented: Set<String> = []

  @Test func everyPublicCaseOfAnImplementedMethodPasses() throws {
    let results = try Conformance.evaluate(file: try publicVectors())
    #expect(results.count == 87)
    for r in results where !Self.unimplemented.contains(r.method) {
      #expect(r.status == .pass, "\(r.id): \(r.status) worst \(r.worstError) at \(r.firstFailure ?? "-")")
    }
    print(Conformance.render(results))
  }
}
