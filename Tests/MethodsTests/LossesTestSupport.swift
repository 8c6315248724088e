import Engine
import Methods
import Testing
import _ReplicateTestSupport

/// Checks ∂f/∂x against central finite differences at every entry of x.
///
/// `f` must evaluate in Double from the Float32 entries of x (the losses do). The perturbation is
/// applied to the Float32 entry and the realised step (x⁺ − x⁻, exact in Double) is the denominator,
/// so the check measures the function's own Double arithmetic, not Float rounding of the step.
func expectGradientMatchesFiniteDifferences(
  _ x: Tensor, analytic: [Float], step: Float = 1e-3, abs: Double = 1e-5, rel: Double = 1e-3,
  _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation, f: (Tensor) -> Double
) {
  #expect(
    analytic.count == x.count, "gradient has \(analytic.count) entries for \(x.count)", sourceLocation: sourceLocation)
  var numeric: [Double] = []
  for i in 0..<x.count {
    let original = x[i]
    x[i] = original + step
    let plusX = Double(x[i])
    let plus = f(x)
    x[i] = original - step
    let minusX = Double(x[i])
    let minus = f(x)
    x[i] = original
    numeric.append((plus - minus) / (plusX - minusX))
  }
  expectApprox(analytic, numeric, abs: abs, rel: rel, comment, sourceLocation: sourceLocation)
}

/// The loss and its gradient with respect to the logits.
func lossAndGradient(_ loss: ClassificationLoss, _ z: Tensor, _ t: [Int]) -> (Double, [Float]) {
  let g = Tensor(shape: [0])
  let value = loss.loss(logits: z, targets: t, gradient: g)
  return (value, g.toArray())
}

/// Checks a loss's gradient against finite differences of its value.
func expectLossGradient(
  _ loss: ClassificationLoss, _ z: Tensor, _ t: [Int], _ comment: String = "",
  sourceLocation: SourceLocation = #_sourceLocation
) {
  let (_, g) = lossAndGradient(loss, z, t)
  let scratch = Tensor(shape: [0])
  expectGradientMatchesFiniteDifferences(z, analytic: g, comment, sourceLocation: sourceLocation) {
    loss.loss(logits: $0, targets: t, gradient: scratch)
  }
}

/// Logits with softmax exactly p (log p, up to a shift), one row.
func logitsWithProbabilities(_ p: [Double]) -> Tensor {
  Tensor(shape: [1, p.count], values: p.map { Float(log64($0)) })
}
