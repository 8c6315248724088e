// swift-format-ignore-file
import Foundation

/// The recorded fingerprints of `MethodFingerprintTests`: per unit, the versions it depended on and its
/// fingerprint on the pinned OpenBLAS kernel. Written by
/// `REPLICATE_RECORD_FINGERPRINTS=1 swift test --filter MethodFingerprint`; the entries below the marker are
/// generated, everything else is kept.
enum MethodFingerprints {
  static let table: [String: (versions: String, fingerprint: String)] = [
    // BEGIN GENERATED
    "classifier/linear": ("classifier/linear=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "8e4c76e73ca4d0c8"),
    "classifier/normed": ("classifier/normed=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "afe578ec0f0ca704"),
    "component/absgd-stages": ("classifier/linear=1 component/absgd-stages=1 data=1 engine=engine-1 loss/abce=1 model/mlp=1 trainer=1", "40713623fb7c6e96"),
    "component/ambiguity-oracle": ("classifier/linear=1 component/ambiguity-oracle=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "957701eb08ad72db"),
    "component/best-epoch": ("classifier/linear=1 component/best-epoch=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "fd9912713cc303db"),
    "component/best-validation": ("classifier/linear=1 component/best-validation=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "d62315a7c17e7864"),
    "component/cals": ("classifier/linear=1 component/cals=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "48c3c98b3fa0b0a6"),
    "component/cdb-s": ("classifier/linear=1 component/cdb-s=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "3c03ce0b9a7ea0b4"),
    "component/cdb-w": ("classifier/linear=1 component/cdb-w=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "0748c0566cef1a1c"),
    "component/certify": ("classifier/linear=1 component/certify=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "45e637788018722e"),
    "component/epoch-summary": ("classifier/linear=1 component/epoch-summary=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "20abdff988a2608a"),
    "component/gaussian-noise": ("classifier/linear=1 component/gaussian-noise=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "b8aba35167bba3e6"),
    "component/l2rw": ("classifier/linear=1 component/l2rw=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "ffd54ad2130b2a53"),
    "component/ladc": ("classifier/linear=1 component/ladc=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "c847c426b1f22944"),
    "component/linf-dist": ("classifier/linear=1 component/linf-dist=1 data=1 engine=engine-1/lp-dist-2 loss/ce=1 model/linf-dist=1 trainer=1", "10832f67ea5f8b86"),
    "component/remix": ("classifier/linear=1 component/remix=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "5cd8296b12d3a4bd"),
    "component/set-valued": ("classifier/linear=1 component/set-valued=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "a33f0209ae97f7dc"),
    "component/smoothmix": ("classifier/linear=1 component/smoothmix=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "2ae2afc505aef10d"),
    "component/susceptibility": ("classifier/linear=1 component/susceptibility=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "c01d996217a8c6f6"),
    "component/unimix": ("classifier/linear=1 component/unimix=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "9e68628df04cd3a4"),
    "component/validation-probe": ("classifier/linear=1 component/validation-probe=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "7e93f30d4d06c6b3"),
    "data": ("classifier/linear=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "55a66e5fbe44f1d1"),
    "loss/abce": ("classifier/linear=1 data=1 engine=engine-1 loss/abce=1 model/mlp=1 trainer=1", "b93691a6ef786304"),
    "loss/abce-noisy": ("classifier/linear=1 data=1 engine=engine-1 loss/abce-noisy=1 model/mlp=1 trainer=1", "fff3e9e277fb72ca"),
    "loss/abfocal": ("classifier/linear=1 data=1 engine=engine-1 loss/abfocal=1 model/mlp=1 trainer=1", "b904ced5aafac958"),
    "loss/abldam": ("classifier/normed=1 data=1 engine=engine-1 loss/abldam=1 model/mlp=1 trainer=1", "800bd58f823d7614"),
    "loss/alpha": ("classifier/linear=1 data=1 engine=engine-1 loss/alpha=1 model/mlp=1 trainer=1", "d7b1c557bd967223"),
    "loss/bayias": ("classifier/linear=1 data=1 engine=engine-1 loss/bayias=1 model/mlp=1 trainer=1", "13df2074df03672d"),
    "loss/ce": ("classifier/linear=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "e3d83ebb8676fa26"),
    "loss/focal": ("classifier/linear=1 data=1 engine=engine-1 loss/focal=1 model/mlp=1 trainer=1", "9afac15a980d9cba"),
    "loss/ldam": ("classifier/normed=1 data=1 engine=engine-1 loss/ldam=1 model/mlp=1 trainer=1", "f48b8c150cf966cf"),
    "loss/logit-adjusted": ("classifier/linear=1 data=1 engine=engine-1 loss/logit-adjusted=1 model/mlp=1 trainer=1", "a13238c1cd19dd07"),
    "loss/logitclip": ("classifier/linear=1 data=1 engine=engine-1 loss/logitclip=1 model/mlp=1 trainer=1", "07751e0748e93cdf"),
    "loss/mbls": ("classifier/linear=1 data=1 engine=engine-1 loss/mbls=1 model/mlp=1 trainer=1", "17295a4f43966fba"),
    "loss/vs": ("classifier/linear=1 data=1 engine=engine-1 loss/vs=1 model/mlp=1 trainer=1", "0bb65733c6168043"),
    "model/cnn-small": ("engine=engine-1/im2col model/cnn-small=1", "9f5e0246f3eaf834"),
    "model/linf-dist": ("engine=engine-1/lp-dist-2 model/linf-dist=1", "362e0da8bb80d9f6"),
    "model/mlp": ("engine=engine-1 model/mlp=1", "45804b34eacb6281"),
    "model/resnet32": ("engine=engine-1/im2col model/resnet32=1", "ec24e3817b4f975e"),
    "reweight/cb": ("classifier/linear=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 reweight/cb=1 trainer=1", "19b0ebc7e0e62076"),
    "reweight/drw": ("classifier/linear=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 reweight/drw=1 trainer=1", "b7a8a250ce53cb89"),
    "sampler/class-balanced": ("classifier/linear=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 sampler/class-balanced=1 trainer=1", "a7f81ed7e6ba493e"),
    "sampler/effective-number": ("classifier/linear=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 sampler/effective-number=1 trainer=1", "0a77f7491dda92b2"),
    "sampler/sqrt": ("classifier/linear=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 sampler/sqrt=1 trainer=1", "f713ba6ae86136c5"),
    "trainer": ("classifier/linear=1 data=1 engine=engine-1 loss/ce=1 model/mlp=1 trainer=1", "7d565424c3bcc22a"),
    // END GENERATED
  ]

  /// One table line.
  static func entry(_ name: String, _ value: (versions: String, fingerprint: String)) -> String {
    "\"\(name)\": (\"\(value.versions)\", \"\(value.fingerprint)\"),"
  }

  /// Rewrites the generated lines of this file with `computed`, in name order.
  static func write(_ computed: [String: (versions: String, fingerprint: String)]) throws {
    let path = URL(fileURLWithPath: #filePath).path
    let text = try String(contentsOfFile: path, encoding: .utf8)
    guard let begin = text.range(of: "    // BEGIN GENERATED\n"), let end = text.range(of: "    // END GENERATED")
    else { throw CocoaError(.fileReadCorruptFile) }
    let lines = computed.sorted { $0.key < $1.key }.map { "    " + entry($0.key, $0.value) + "\n" }.joined()
    let updated = String(text[..<begin.upperBound]) + lines + String(text[end.lowerBound...])
    try updated.write(toFile: path, atomically: true, encoding: .utf8)
  }
}
