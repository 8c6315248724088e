import Dispatch
import Synchronization

/// The engine's own data parallelism: a parallel-for over a persistent ``WorkerPool`` (spinning, then
/// parked helper threads; `DispatchQueue.concurrentPerform` when the pool is busy) with a process-wide
/// thread count.
///
/// OpenBLAS always runs single-threaded inside this process (see ``BLAS/ensureProcessSetup(threads:nativeKernel:)``);
/// layers split their work — GEMM rows, image chunks, elementwise ranges — over ``threads`` workers,
/// each making single-threaded BLAS calls.
///
/// Determinism: the split of a range into chunks depends only on the element count, the grain and
/// ``threads``, never on timing, and every reduction combines its per-chunk partial results in chunk
/// order. So a result is bitwise reproducible for a given thread count. With one thread every body
/// runs inline, in order, as one chunk — the numbers are those of the sequential code. With T > 1
/// threads a reduction (a weight gradient summed over image chunks, a BatchNorm channel sum) adds in a
/// different order and may differ from T = 1 in the last bits: the engine's numeric result depends
/// on T, which is why workers run with T = 1.
///
/// Parallel regions must not nest: a body runs its work sequentially.
public enum Parallel {
  /// The number of workers parallel regions use (≥ 1): the innermost ``withThreads(_:_:)`` scope of
  /// the current task, else the process-wide value. Setting it sets the process-wide value — once, at
  /// start-up (`bench --threads T`); it is 1 by default and in workers.
  public static var threads: Int {
    get { scopedThreads ?? processThreads }
    set { processThreads = Swift.max(1, newValue) }
  }

  nonisolated(unsafe) private static var processThreads = 1
  @TaskLocal private static var scopedThreads: Int?

  /// Runs `body` with ``threads`` = `n` in the current task only (tests compare thread counts side by
  /// side without touching the process-wide value).
  public static func withThreads<R>(_ n: Int, _ body: () throws -> R) rethrows -> R {
    try $scopedThreads.withValue(Swift.max(1, n), operation: body)
  }

  /// Runs `body(i)` for every i in 0..<count, each exactly once, on up to `threads` workers (worker w
  /// takes i = w, w + W, w + 2W, …). With one worker (or count ≤ 1) the calls run inline in index order.
  public static func `for`(count: Int, threads: Int = Parallel.threads, _ body: (Int) -> Void) {
    let workers = Swift.min(threads, count)
    if workers <= 1 {
      for i in 0..<count { body(i) }
      return
    }
    if let pool = PoolRegistry.acquire(workers: workers) {
      pool.run(workers: workers, count: count, body)
      PoolRegistry.release()
      return
    }
    withoutActuallyEscaping(body) { body in
      let box = UncheckedBox(body)
      DispatchQueue.concurrentPerform(iterations: workers) { w in
        var i = w
        while i < count {
          box.value(i)
          i += workers
        }
      }
    }
  }

  /// The number of chunks 0..<count is split into: 1 with one thread, else at most `threads` and at
  /// most ⌊count / grain⌋ (so each chunk holds at least `grain` elements), never less than 1.
  public static func chunkCount(_ count: Int, grain: Int = 1, threads: Int = Parallel.threads) -> Int {
    if threads <= 1 { return 1 }
    return Swift.max(1, Swift.min(threads, count / Swift.max(grain, 1)))
  }

  /// Chunk `index` of `chunks` contiguous, near-equal chunks of 0..<count (the first count % chunks
  /// chunks hold one element more).
  public static func chunk(_ index: Int, of chunks: Int, count: Int) -> Range<Int> {
    let base = count / chunks
    let extra = count % chunks
    let lo = index * base + Swift.min(index, extra)
    return lo..<(lo + base + (index < extra ? 1 : 0))
  }

  /// Splits 0..<count into ``chunkCount(_:grain:threads:)`` chunks and runs `body(chunkIndex, range)`
  /// for each, in parallel. With one chunk: `body(0, 0..<count)` inline.
  public static func chunks(
    count: Int, grain: Int = 1, threads: Int = Parallel.threads, _ body: (_ chunk: Int, _ range: Range<Int>) -> Void
  ) {
    let n = chunkCount(count, grain: grain, threads: threads)
    if n == 1 {
      body(0, 0..<count)
      return
    }
    Parallel.for(count: n, threads: threads) { body($0, chunk($0, of: n, count: count)) }
  }

  /// The grain of elementwise passes: below about this many floats a pass runs on one thread (the
  /// dispatch costs microseconds; a float costs well under a nanosecond).
  public static let elementwiseGrain = 1 << 14

  /// Runs `body(range)` over chunks of 0..<count of at least ``elementwiseGrain`` elements each —
  /// for elementwise passes, whose results do not depend on the split.
  public static func elementwise(count: Int, _ body: (Range<Int>) -> Void) {
    chunks(count: count, grain: elementwiseGrain) { _, r in body(r) }
  }
}

/// The process's ``WorkerPool``: one region at a time uses it; a region that finds it busy (tests run
/// side by side in one process) or needing more workers than it has runs on `concurrentPerform` instead
/// — same split, same results.
private enum PoolRegistry {
  private static let busy = Atomic<Bool>(false)
  nonisolated(unsafe) private static var pool: WorkerPool?

  /// The pool, reserved for the caller, or nil.
  static func acquire(workers: Int) -> WorkerPool? {
    guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return nil }
    if pool == nil { pool = WorkerPool(helpers: Swift.max(workers - 1, Parallel.threads - 1)) }
    guard let pool, pool.helpers >= workers - 1 else {
      busy.store(false, ordering: .releasing)
      return nil
    }
    return pool
  }

  /// Gives the pool back.
  static func release() { busy.store(false, ordering: .releasing) }
}

/// Carries a non-`Sendable` value into the workers of a parallel region (they only read it; the
/// closure writes disjoint memory by construction of the chunks).
private struct UncheckedBox<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}
