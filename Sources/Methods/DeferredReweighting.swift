import Datasets
import Engine

/// Class re-weighting and re-sampling schedules of Cao et al. 2019 (LDAM-DRW), as training hooks.
///
/// **Deferred re-weighting (DRW).** Train with unweighted loss until `start_epoch`, then with the
/// class-balanced weights of Cui et al. 2019, w_c = (1−β)/(1−β^{n_c}) normalised to sum to C
/// (β = 0.9999). "CB RW" is the same with `start_epoch` 0. In kaidic/LDAM-DRW `cifar_train.py` the
/// switch is `idx = epoch // 160; betas = [0, 0.9999]`, i.e. at the first learning-rate decay (the
/// paper's text says "the last"; the code, followed here, switches at the first). With β = 0 the
/// official code passes a tensor of ones, which gives the same weighted mean as no weights.
///
/// **Deferred re-sampling (DRS).** Uniform shuffling until `start_epoch`, then a re-sampling scheme
/// (class-balanced, square-root, or the official `ImbalancedDatasetSampler`'s effective-number
/// weights). In the official code `--train_rule Resample`/`DRS` build a sampler that the data loader
/// never uses (the loader is built once with `shuffle=True`); this implementation samples as the
/// paper describes, and says so.
///
/// **References:** Cao et al., *Learning Imbalanced Datasets with Label-Distribution-Aware Margin
/// Loss*, NeurIPS 2019, §3.3 and Alg. 1; kaidic/LDAM-DRW `cifar_train.py` (train_rule branches),
/// `utils.py` `ImbalancedDatasetSampler`.
public final class DeferredReweighting: TrainingHooks {
  /// β of the effective number.
  public let beta: Double
  /// The 0-based epoch from which the class weights apply.
  public let startEpoch: Int
  /// Training counts per class.
  public let classCounts: [Int]

  /// DRW from `startEpoch` (0: CB re-weighting throughout).
  public init(classCounts: [Int], beta: Double, startEpoch: Int) {
    self.classCounts = classCounts
    self.beta = beta
    self.startEpoch = startEpoch
  }

  public func epochStart(_ trainer: Trainer, epoch: Int) throws {
    trainer.loss.classWeights =
      epoch >= startEpoch ? ClassWeights.effectiveNumber(classCounts: classCounts, beta: beta) : nil
  }
}

/// Re-sampling from `startEpoch` on (see ``DeferredReweighting`` for the schedule and sources).
public final class DeferredResampling: TrainingHooks {
  /// The sampler used from `startEpoch`.
  public let sampler: EpochSampler
  /// The 0-based epoch from which the sampler applies.
  public let startEpoch: Int

  /// Re-sampling with `sampler` from `startEpoch` (0: from the start).
  public init(sampler: EpochSampler, startEpoch: Int) {
    self.sampler = sampler
    self.startEpoch = startEpoch
  }

  public func epochOrder(_ trainer: Trainer, epoch: Int, key: RandomKey) -> [Int]? {
    epoch >= startEpoch ? sampler.order(epoch: epoch, key: key) : nil
  }
}
