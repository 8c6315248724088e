import Engine

/// A classification loss over a batch of logits.
///
/// Implementations reduce as the official code does (PyTorch's `mean`, or a weighted mean
/// Σ w_{y_i} ℓ_i / Σ w_{y_i} when class weights are set) and write the gradient of that scalar with
/// respect to the logits. They keep their scratch buffers between calls: no allocation per step.
public protocol ClassificationLoss: AnyObject {
  /// Per-class weights w (nil = unweighted). Re-weighting schedules (DRW) set them at an epoch.
  var classWeights: [Float]? { get set }

  /// The batch loss; writes ∂loss/∂logits into `gradient` (resized to `logits.shape`).
  /// - Parameters: logits: [N, C]; targets: N class indices in 0..<C.
  func loss(logits: Tensor, targets: [Int], gradient: Tensor) -> Double
}
