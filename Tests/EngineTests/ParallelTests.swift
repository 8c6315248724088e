import Engine
import Testing
import _ReplicateTestSupport

@Suite("Parallel")
struct ParallelTests {
  @Test(arguments: [(0, 2), (1, 2), (5, 2), (100, 2), (7, 3), (64, 8), (3, 8)])
  func parallelForVisitsEveryIndexExactlyOnce(count: Int, threads: Int) {
    let hits = UnsafeMutablePointer<Int>.allocate(capacity: Swift.max(count, 1))
    defer { hits.deallocate() }
    hits.initialize(repeating: 0, count: Swift.max(count, 1))
    Parallel.for(count: count, threads: threads) { hits[$0] += 1 }
    #expect((0..<count).allSatisfy { hits[$0] == 1 })
  }

  /// Thousands of back-to-back regions, some from several test threads at once (one of them gets the
  /// worker pool, the others fall back): every index of every region runs exactly once, and a region
  /// returns only after all of its indices ran.
  @Test func backToBackRegionsFromSeveralThreads() async {
    await withTaskGroup(of: Bool.self) { group in
      for caller in 0..<3 {
        group.addTask {
          let count = 5 + caller
          let hits = UnsafeMutablePointer<Int>.allocate(capacity: count)
          defer { hits.deallocate() }
          var ok = true
          for region in 0..<3000 {
            hits.initialize(repeating: 0, count: count)
            Parallel.for(count: count, threads: 2 + region % 2) { hits[$0] += 1 }
            ok = ok && (0..<count).allSatisfy { hits[$0] == 1 }
          }
          return ok
        }
      }
      for await ok in group { #expect(ok) }
    }
  }

  @Test func oneThreadRunsInlineInOrder() {
    var order: [Int] = []
    Parallel.for(count: 20, threads: 1) { order.append($0) }
    #expect(order == Array(0..<20))
    var ranges: [Range<Int>] = []
    Parallel.withThreads(1) { Parallel.chunks(count: 1000) { _, r in ranges.append(r) } }
    #expect(ranges == [0..<1000])
  }

  @Test(arguments: [(10, 3), (9, 3), (2, 4), (1000, 7), (0, 2)])
  func chunksPartitionTheRangeInOrder(count: Int, chunks: Int) {
    let parts = (0..<chunks).map { Parallel.chunk($0, of: chunks, count: count) }
    #expect(parts.first?.lowerBound == 0)
    #expect(parts.last?.upperBound == count)
    #expect(zip(parts, parts.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
    #expect(parts.map(\.count).max()! - parts.map(\.count).min()! <= 1)
  }

  @Test func chunkCountHonoursThreadsAndGrain() {
    #expect(Parallel.chunkCount(1000, grain: 1, threads: 1) == 1)
    #expect(Parallel.chunkCount(1000, grain: 1, threads: 2) == 2)
    #expect(Parallel.chunkCount(1000, grain: 600, threads: 2) == 1)
    #expect(Parallel.chunkCount(0, grain: 1, threads: 4) == 1)
    #expect(Parallel.withThreads(3) { Parallel.threads } == 3)
  }

  /// Row- and column-split products equal the single call (no reduction crosses workers).
  @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
  func parallelGemmMatchesOneCall(ta: Bool, tb: Bool) {
    for (m, n) in [(300, 40), (40, 300)] {
      let k = 100
      var s = RandomKey(seed: 7).stream()
      let a = Tensor(shape: [m * k])
      let b = Tensor(shape: [k * n])
      s.fillNormal(a.buffer)
      s.fillNormal(b.buffer)
      let (lda, ldb) = (ta ? m : k, tb ? k : n)
      let one = Tensor(shape: [m, n])
      let two = Tensor(shape: [m, n])
      BLAS.gemm(transA: ta, transB: tb, m: m, n: n, k: k, a.pointer, lda: lda, b.pointer, ldb: ldb, one.pointer, ldc: n)
      Parallel.withThreads(2) {
        BLAS.parallelGemm(
          transA: ta, transB: tb, m: m, n: n, k: k, a.pointer, lda: lda, b.pointer, ldb: ldb, two.pointer, ldc: n)
      }
      expectApprox(two.toArray(), one.toArray(), abs: 1e-5, rel: 1e-5)
    }
  }
}
