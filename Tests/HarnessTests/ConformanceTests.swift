import Foundation
import Testing

@testable import Harness

/// The public conformance vectors (a copy of ../shared/conformance/vectors-public.json).
private func publicVectorsPath() throws -> String {
  let url = try #require(
    Bundle.module.url(forResource: "vectors-public", withExtension: "json", subdirectory: "Fixtures"))
  return url.path
}

/// A one-case file around `caseJSON` (a JSON object literal).
private func file(_ caseJSON: String, format: String = "replicate-conformance/1") -> Data {
  Data("{\"format\": \"\(format)\", \"cases\": [\(caseJSON)]}".utf8)
}

private let ceCase = """
  {"id": "ce-x", "kind": "loss", "method": "ce", "params": {},
   "inputs": {"logits": [[0.0, 0.0], [1.0, -1.0]], "targets": [0, 1]},
   "expected": {"loss": LOSS, "grad_logits": [[-0.25, 0.25], [0.44039853898894116, -0.44039853898894116]]},
   "tolerance": {"abs": 1e-05, "rel": 0.0001}}
  """

/// (log 2 + log(1 + e²)) / 2, the CE mean of the two rows above.
private let ceLoss = (log(2.0) + log(1 + exp(2.0))) / 2

@Suite struct ConformanceTests {
  /// Methods of the format this project does not implement: none. A case of any other method must
  /// pass, so this test fails as soon as an implemented method's case fails.
  static let unimplemented: Set<String> = []

  @Test func everyPublicCaseOfAnImplementedMethodPasses() throws {
    let results = try Conformance.evaluate(file: try publicVectorsPath())
    #expect(results.count == 87)
    #expect(Set(results.map(\.method)).count == 19)
    for r in results where !Self.unimplemented.contains(r.method) {
      #expect(r.status == .pass, "\(r.id): \(r.status), worst \(r.worstError): \(r.firstFailure ?? "-")")
    }
    #expect(Conformance.render(results).hasSuffix("87 passed, 0 failed\n"))
  }

  /// The fixture is a copy of ../shared/conformance/vectors-public.json (next to the package), when
  /// that folder exists.
  @Test func theFixtureIsACopyOfTheSharedVectors() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    let shared = root.appendingPathComponent("../shared/conformance/vectors-public.json").standardized.path
    guard FileManager.default.fileExists(atPath: shared) else { return }
    #expect(FileManager.default.contentsEqual(atPath: shared, andPath: try publicVectorsPath()))
  }

  @Test func supportedMethodsCoverTheFormat() {
    #expect(Conformance.supportedMethods.count == 19)
    #expect(Conformance.supportedMethods.contains("effective-number"))
  }

  @Test func passAndFailFollowTheToleranceRule() throws {
    let pass = try Conformance.evaluate(
      data: file(ceCase.replacingOccurrences(of: "LOSS", with: "\(ceLoss)")), file: "t.json")
    #expect(pass.map(\.status) == [.pass])
    #expect(pass[0].worstError < 0.01)
    // Off by more than abs + rel·|expected| on the loss only: fails there, names the key.
    let off = ceLoss + 2e-4
    let fail = try Conformance.evaluate(
      data: file(ceCase.replacingOccurrences(of: "LOSS", with: "\(off)")), file: "t.json")
    #expect(fail[0].status == .fail)
    #expect(fail[0].firstFailure?.hasPrefix("loss (got") == true)
    #expect(fail[0].worstError > 1 && fail[0].worstError < 3)
    // Within tolerance: abs 1e-5 + rel 1e-4·|e| ≈ 1.3e-4.
    let near = try Conformance.evaluate(
      data: file(ceCase.replacingOccurrences(of: "LOSS", with: "\(ceLoss + 1e-4)")), file: "t.json")
    #expect(near[0].status == .pass)
  }

  @Test func shapeMismatchAndMissingKeysFail() throws {
    let short = ceCase.replacingOccurrences(of: "LOSS", with: "\(ceLoss)")
      .replacingOccurrences(of: "[[-0.25, 0.25], [0.44039853898894116, -0.44039853898894116]]", with: "[[-0.25, 0.25]]")
    let r = try Conformance.evaluate(data: file(short), file: "t.json")
    #expect(r[0].status == .fail && r[0].worstError == .infinity)
    #expect(r[0].firstFailure?.contains("got 2 elements, expected 1") == true)
    let extra = ceCase.replacingOccurrences(of: "\"loss\": LOSS", with: "\"loss\": \(ceLoss), \"entropy\": 1.0")
    let r2 = try Conformance.evaluate(data: file(extra), file: "t.json")
    #expect(r2[0].status == .fail && r2[0].firstFailure?.hasPrefix("entropy") == true)
  }

  @Test func integersAndBooleansCompareExactly() throws {
    let avgK = """
      {"id": "ak", "kind": "set-prediction", "method": "average-k", "params": {"k": 1},
       "inputs": {"probs": [[0.9, 0.1], [0.4, 0.6]], "labels": [0, 0]},
       "expected": {"set_sizes": [1, SIZE], "top_k_error": 0.5},
       "tolerance": {"abs": 0.5, "rel": 0.0}}
      """
    #expect(try Conformance.evaluate(data: file(avgK.replacingOccurrences(of: "SIZE", with: "1")), file: "a")[0].passed)
    // abs 0.5 would accept 1 vs 0 as a real, but set sizes are integers.
    #expect(
      try !Conformance.evaluate(data: file(avgK.replacingOccurrences(of: "SIZE", with: "0")), file: "a")[0].passed)
    let rs = """
      {"id": "rs", "kind": "certify", "method": "randomized-smoothing", "params": {},
       "inputs": {"n_a": 0, "n": 100, "alpha": 0.001, "sigma": 0.5},
       "expected": {"p_lower": 0.0, "abstain": ABSTAIN}, "tolerance": {"abs": 1e-06, "rel": 1e-05}}
      """
    #expect(
      try Conformance.evaluate(data: file(rs.replacingOccurrences(of: "ABSTAIN", with: "true")), file: "r")[0].passed)
    #expect(
      try !Conformance.evaluate(data: file(rs.replacingOccurrences(of: "ABSTAIN", with: "false")), file: "r")[0].passed)
  }

  @Test func unknownMethodsAreUnsupportedAndCountAsFailures() throws {
    let unknown = """
      {"id": "x-001", "kind": "loss", "method": "mystery", "params": {}, "inputs": {}, "expected": {"loss": 1.0},
       "tolerance": {"abs": 1e-05, "rel": 0.0001}}
      """
    let results = try Conformance.evaluate(data: file(unknown), file: "u.json")
    #expect(results.map(\.status) == [.unsupported])
    let text = Conformance.render(results)
    #expect(text.contains("x-001") && text.contains("unsupported"))
    #expect(text.hasSuffix("0 passed, 1 failed (1 unsupported)\n"))
  }

  @Test func malformedFilesNameTheFileAndWhatIsWrong() {
    func error(_ data: Data) -> ConformanceError? {
      do {
        _ = try Conformance.evaluate(data: data, file: "bad.json")
        return nil
      } catch let e as ConformanceError {
        return e
      } catch {
        return nil
      }
    }
    #expect(error(Data("not json".utf8))?.code == .notJSON)
    let wrongFormat = error(file("{}", format: "other/2"))
    #expect(wrongFormat?.code == .wrongFormat && wrongFormat?.description.hasPrefix("bad.json") == true)
    #expect(error(Data("{\"format\": \"replicate-conformance/1\"}".utf8))?.code == .missingKey)
    let noInputs = error(
      file(
        "{\"id\": \"a\", \"method\": \"ce\", \"params\": {}, \"expected\": {}, \"tolerance\": {\"abs\": 0, \"rel\": 0}}"
      ))
    #expect(noInputs?.code == .missingKey && noInputs?.keyPath == "cases[0].inputs")
    let caseWith = { (inputs: String) in
      "{\"id\": \"c\", \"method\": \"ce\", \"params\": {}, \"inputs\": \(inputs), \"expected\": {}, \"tolerance\": {\"abs\": 0, \"rel\": 0}}"
    }
    let noTargets = error(file(caseWith("{\"logits\": [[1.0, 2.0]]}")))
    #expect(noTargets?.keyPath == "cases[0].inputs.targets" && noTargets?.line == 1)
    let badTarget = error(file(caseWith("{\"logits\": [[1.0, 2.0]], \"targets\": [2]}")))
    #expect(badTarget?.code == .wrongType && badTarget?.keyPath == "cases[0].inputs.targets[0]")
    let ragged = error(file(caseWith("{\"logits\": [[1.0, 2.0], [1.0]], \"targets\": [0, 0]}")))
    #expect(ragged?.keyPath == "cases[0].inputs.logits")
    let twice = caseWith("{}")
    #expect(
      error(Data("{\"format\": \"replicate-conformance/1\", \"cases\": [\(twice), \(twice)]}".utf8))?.code
        == .duplicateID)
    let missing = try? Conformance.evaluate(file: "/nonexistent/vectors.json")
    #expect(missing == nil)
  }

  @Test func errorsPointAtTheCaseLine() throws {
    let text = """
      {"format": "replicate-conformance/1",
       "cases": [
        {"id": "ok", "method": "effective-number", "params": {"class_counts": [1, 2], "beta": 0.5}, "inputs": {},
         "expected": {"weights": [1.1428571939468384, 0.8571428656578064]}, "tolerance": {"abs": 1e-05, "rel": 0.0001}},
        {"id": "broken", "method": "effective-number", "params": {"beta": 0.5}, "inputs": {},
         "expected": {}, "tolerance": {"abs": 1e-05, "rel": 0.0001}}
       ]}
      """
    do {
      _ = try Conformance.evaluate(data: Data(text.utf8), file: "v.json")
      Issue.record("expected an error")
    } catch let e as ConformanceError {
      #expect(e.line == 5 && e.keyPath == "cases[1].params.class_counts")
      #expect(e.description.hasPrefix("v.json:5: cases[1].params.class_counts: missing"))
    }
  }
}
