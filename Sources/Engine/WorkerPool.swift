import CBLAS
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A persistent pool of worker threads for ``Parallel``: the caller runs worker 0's share and
/// `helpers` parked threads run the others.
///
/// Why not `DispatchQueue.concurrentPerform`: a training step opens a dozen short parallel regions
/// (tens of microseconds each on the `mlp` workload), and waking dispatch's workers for each one cost
/// as much as the work, with run-to-run swings of 1.6× at two threads. Here a helper spins on a
/// generation counter for a while after each region (as OpenMP runtimes do) and only then sleeps on a
/// condition variable, so back-to-back regions start within a microsecond.
///
/// Which indices a worker runs is fixed (worker w takes w, w + W, …), exactly as before, so results are
/// the same as with any other scheduler of the same split.
final class WorkerPool: @unchecked Sendable {
  /// Threads besides the caller.
  let helpers: Int

  /// Bumped once per region; helpers wait for it to change.
  private let generation = Atomic<Int>(0)
  /// Helpers that have not finished the current region.
  private let pending = Atomic<Int>(0)
  /// Helpers asleep on the condition variable (they register under the mutex).
  private let sleepers = Atomic<Int>(0)
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private let condition: UnsafeMutablePointer<pthread_cond_t>

  /// The current region: its body (valid while `pending` > 0) and its worker count.
  private var body: ((Int) -> Void)?
  private var workers = 0
  private var count = 0

  /// Spin iterations (each a PAUSE, tens of nanoseconds) before a helper sleeps: about 0.1–0.5 ms.
  private static let spinLimit = 20_000

  /// Starts `helpers` threads.
  init(helpers: Int) {
    self.helpers = helpers
    mutex = .allocate(capacity: 1)
    condition = .allocate(capacity: 1)
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(condition, nil)
    for w in 1...Swift.max(helpers, 1) where helpers > 0 {
      let context = Unmanaged.passRetained(HelperContext(pool: self, index: w)).toOpaque()
      var thread = pthread_t()
      let status = pthread_create(&thread, nil, { raw in
        let context = Unmanaged<HelperContext>.fromOpaque(raw!).takeRetainedValue()
        context.pool.helperLoop(index: context.index)
        return nil
      }, context)
      precondition(status == 0, "pthread_create failed (\(status))")
      pthread_detach(thread)
    }
  }

  /// Runs `body(i)` for i in 0..<count on `workers` ≤ helpers + 1 workers (worker w takes w, w + W, …);
  /// returns when all are done. Not reentrant: one region at a time, from one caller.
  func run(workers: Int, count: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { body in
      self.body = body
      self.workers = workers
      self.count = count
      pending.store(helpers, ordering: .sequentiallyConsistent)
      generation.add(1, ordering: .sequentiallyConsistent)
      if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
      }
      var i = 0
      while i < count {
        body(i)
        i += workers
      }
      while pending.load(ordering: .sequentiallyConsistent) > 0 { replicate_cpu_relax() }
      self.body = nil
    }
  }

  private func helperLoop(index: Int) {
    var seen = 0
    while true {
      var spins = 0
      while generation.load(ordering: .sequentiallyConsistent) == seen {
        if spins < Self.spinLimit {
          spins += 1
          replicate_cpu_relax()
          continue
        }
        pthread_mutex_lock(mutex)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while generation.load(ordering: .sequentiallyConsistent) == seen { pthread_cond_wait(condition, mutex) }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
      }
      seen = generation.load(ordering: .sequentiallyConsistent)
      if index < workers, let body {
        var i = index
        while i < count {
          body(i)
          i += workers
        }
      }
      pending.subtract(1, ordering: .sequentiallyConsistent)
    }
  }
}

/// What a helper thread starts with.
private final class HelperContext {
  let pool: WorkerPool
  let index: Int
  init(pool: WorkerPool, index: Int) {
    self.pool = pool
    self.index = index
  }
}
