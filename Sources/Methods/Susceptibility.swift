import Datasets
import Engine
import NN

/// Susceptibility ζ to noisy labels (Forouzesh, Sedghi, Thiran, "Leveraging Unlabeled Data to Track
/// Memorization", ICLR 2023): a memorisation metric that needs no clean labels, measured during training.
///
/// At the start of every epoch t, before that epoch's training (`compute_update_on_sout` in the
/// official `experiments.py`):
/// 1. save the model, its BatchNorm running statistics and the optimiser's momentum buffers;
/// 2. take one batch (B = 128) of a set S̃ whose labels are drawn uniformly from all C classes;
/// 3. Φ̃_before = the training loss on the batch (training mode, as `net.train()`);
/// 4. one step of the real optimiser (the epoch's lr, momentum, weight decay) on that batch;
/// 5. Φ̃_after = the training loss on the same batch, training mode;
/// 6. restore everything saved in 1 (training is unaffected), r_t = Φ̃_before − Φ̃_after.
///
/// ζ(t) = (1/(t+1))·Σ_{τ≤t} r_τ (`average: running`, the paper's running mean). `average: notebook`
/// reproduces the official notebook's plotted curve ζ_t = (1/t)·Σ_{τ=1}^{t−1} r_τ (r_0 and the current
/// r_t left out, ζ_0 = 0): r = (0, 0.3, 0.2, 0.1, 0.05) gives (0, 0, 0.15, 0.1667, 0.15).
///
/// The loss is the method's training loss: CE in the official code (its only loss); for another loss
/// (LogitClip here) the probe is one step of *that* training on random labels, so ζ stays "how much one
/// step of this training fits random labels" (with CE on clipped-logit models the loss scales differ).
///
/// S̃: `source: train` relabels the training set itself (the official code, `corrupt_prob=1` on the
/// CIFAR training images); `source: heldout` relabels the held-out validation split (disjoint from the
/// training set: "only uses unlabeled data"). Labels are drawn once per run from the stream
/// `susceptibility-labels` (the official code seeds them with the clock), a fresh batch each epoch
/// from `susceptibility-order`.
///
/// Curves (per epoch): `susceptibility` (ζ), `susceptibility_r` (r_t), and after each epoch, in
/// evaluation mode over the training set, `train_accuracy_noisy_subset` (agreement with the noisy labels
/// of the mislabelled examples: memorisation) and `train_accuracy_clean_subset`, as the official code logs.
/// Final values become metrics of the same names (and `train_accuracy` over all examples).
///
/// **References:**
/// - Forouzesh, Sedghi, Thiran, ICLR 2023 (arXiv 2212.04461).
/// - mahf93/tracking-memorization `experiments.py` (`compute_update_on_sout`, called before `train()`),
///   `results.ipynb` (the ζ cell), `dataset.py` (random labels).
public final class Susceptibility: TrainingHooks {
  /// The registry entry `susceptibility`: `source` (`train`, official; `heldout`), `size` (0: the
  /// whole source), `batch_size` 128, `average` (`running`; `notebook`), `track_train` 1.
  public static let definition = ComponentDefinition(
    name: "susceptibility", version: 1,
    parameters: [
      "source": .text("train"), "size": .number(0), "batch_size": .number(128), "average": .text("running"),
      "track_train": .number(1),
    ],
    choices: ["source": ["train", "heldout"], "average": ["running", "notebook"]]
  ) { spec, context in
    let heldout = try spec.text("source") == "heldout"
    let source: BatchSource
    if heldout {
      source = try context.requireValidation(for: "susceptibility")
    } else {
      source = try SubsetSource(BatchFiller(set: context.data.train, normalization: context.normalization))
    }
    let size = try spec.integer("size")
    guard size <= source.count else {
      throw JobFailure(.badSpec, "component 'susceptibility': size \(size) > \(source.count) examples in the source")
    }
    let train = context.data.train
    return Susceptibility(
      source: source, size: size == 0 ? source.count : size, batchSize: try spec.integer("batch_size", min: 1),
      notebookAverage: try spec.text("average") == "notebook", key: context.key,
      trainLabels: try spec.number("track_train") != 0 ? (train.labels, train.trueLabels) : nil)
  }

  private let source: BatchSource
  private let positions: [Int]
  private let randomLabels: [Int]
  private let batchSize: Int
  private let notebookAverage: Bool
  private let key: RandomKey
  private let trainLabels: (noisy: [Int], clean: [Int])?
  private let inputs = Tensor(shape: [0]), gradient = Tensor(shape: [0]), trainLogits = Tensor(shape: [0])
  private var unusedLabels: [Int] = []
  /// r_t per epoch so far.
  public private(set) var differences: [Double] = []

  /// ζ over `size` examples of `source` (the first `size` of a seeded shuffle), relabelled uniformly.
  public init(
    source: BatchSource, size: Int, batchSize: Int, notebookAverage: Bool, key: RandomKey,
    trainLabels: (noisy: [Int], clean: [Int])?
  ) {
    self.source = source
    var order = key.split("susceptibility-subset").stream()
    positions = Array(order.permutation(source.count).prefix(size))
    var labels = key.split("susceptibility-labels").stream()
    randomLabels = positions.map { _ in labels.nextInt(below: source.classes) }
    self.batchSize = Swift.min(batchSize, size)
    self.notebookAverage = notebookAverage
    self.key = key
    self.trainLabels = trainLabels
  }

  /// ζ after the epochs seen so far (the curve's latest point).
  public static func average(_ r: [Double], notebook: Bool) -> Double {
    guard !r.isEmpty else { return 0 }
    if !notebook { return r.reduce(0, +) / Double(r.count) }
    let t = r.count - 1
    return t == 0 ? 0 : r[1..<t].reduce(0, +) / Double(t)
  }

  /// The probe: one optimiser step on a random-label batch, undone; returns r = Φ̃_before − Φ̃_after.
  public func probe(model: Classifier, optimizer: SGD, loss: ClassificationLoss, epoch: Int) -> Double {
    var order = key.split("susceptibility-order").fold(epoch).stream()
    let picks = order.permutation(positions.count).prefix(batchSize)
    var none: RandomStream? = nil
    source.fill(ArraySlice(picks.map { positions[$0] }), into: inputs, labels: &unusedLabels, augment: &none)
    let labels = picks.map { randomLabels[$0] }
    let saved = ModelSnapshot(model, optimizer: optimizer)
    let before = loss.loss(logits: model.forward(inputs, training: true), targets: labels, gradient: gradient)
    _ = model.backward(gradient)
    optimizer.step(model.parameters)
    let after = loss.loss(logits: model.forward(inputs, training: true), targets: labels, gradient: gradient)
    saved.restore(model, optimizer: optimizer)
    return before - after
  }

  public func epochStart(_ trainer: Trainer, epoch: Int) throws {
    differences.append(probe(model: trainer.model, optimizer: trainer.optimizer, loss: trainer.loss, epoch: epoch))
    trainer.curves["susceptibility_r", default: []].append(differences.last!)
    trainer.curves["susceptibility", default: []].append(Self.average(differences, notebook: notebookAverage))
  }

  public func epochEnd(_ trainer: Trainer, epoch: Int) throws {
    guard let (noisy, clean) = trainLabels else { return }
    trainer.evaluate(trainer.train, into: trainLogits)
    let c = trainLogits.rowSize
    var hit = (noisy: 0, clean: 0, all: 0)
    var count = (noisy: 0, clean: 0)
    for i in 0..<noisy.count {
      let row = trainLogits.pointer + i * c
      var best = 0
      for j in 1..<c where row[j] > row[best] { best = j }
      let right = best == noisy[i] ? 1 : 0
      hit.all += right
      if noisy[i] != clean[i] {
        count.noisy += 1
        hit.noisy += right
      } else {
        count.clean += 1
        hit.clean += right
      }
    }
    trainer.curves["train_accuracy", default: []].append(100 * Double(hit.all) / Double(Swift.max(noisy.count, 1)))
    if count.noisy > 0 {
      trainer.curves["train_accuracy_noisy_subset", default: []].append(100 * Double(hit.noisy) / Double(count.noisy))
    }
    trainer.curves["train_accuracy_clean_subset", default: []].append(
      100 * Double(hit.clean) / Double(Swift.max(count.clean, 1)))
  }

  public func finish(_ trainer: Trainer, output: inout JobOutput) throws {
    for name in ["susceptibility", "train_accuracy", "train_accuracy_noisy_subset", "train_accuracy_clean_subset"] {
      if let last = trainer.curves[name]?.last { output.overall[name] = last }
    }
  }
}
