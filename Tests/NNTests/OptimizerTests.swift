import Engine
import Testing
import _ReplicateTestSupport

@testable import NN

@Suite("SGD and schedules")
struct OptimizerTests {
  /// Two steps of torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01) on p=1 with g=[0.5, 0.25]:
  /// step 1: g' = 0.5 + 0.01 = 0.51, b = 0.51, p = 1 − 0.051 = 0.949;
  /// step 2: g' = 0.25 + 0.00949 = 0.25949, b = 0.9·0.51 + 0.25949 = 0.71849, p = 0.949 − 0.071849.
  @Test func momentumAndWeightDecayMatchPyTorch() {
    let p = Parameter(name: "p", shape: [1])
    p.value[0] = 1
    let opt = SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
    p.grad[0] = 0.5
    opt.step([p])
    expectApprox(Double(p.value[0]), 0.949, abs: 1e-6)
    p.grad[0] = 0.25
    opt.step([p])
    expectApprox(Double(p.value[0]), 0.949 - 0.071849, abs: 1e-6)
  }

  @Test func nesterov() {
    // torch: b = g (first step); g ← g + μb = 1.9·g; p = 1 − 0.1·1.9.
    let p = Parameter(name: "p", shape: [1])
    p.value[0] = 1
    p.grad[0] = 1
    SGD(learningRate: 0.1, momentum: 0.9, nesterov: true).step([p])
    expectApprox(Double(p.value[0]), 0.81, abs: 1e-6)
  }

  @Test func frozenParametersDoNotMove() {
    let p = Parameter(name: "p", shape: [2])
    p.grad.fill(1)
    p.isTrainable = false
    SGD(learningRate: 1).step([p])
    #expect(p.value.toArray() == [0, 0])
  }

  @Test func ldamDrwScheduleMatchesTheOfficialCode() {
    let s = LearningRateSchedule.step(base: 0.1, warmup: 5, milestones: [160, 180], gamma: 0.01)
    expectApprox(s.rate(epoch: 0), 0.02, abs: 1e-12)
    expectApprox(s.rate(epoch: 4), 0.1, abs: 1e-12)
    expectApprox(s.rate(epoch: 159), 0.1, abs: 1e-12)
    expectApprox(s.rate(epoch: 160), 0.001, abs: 1e-12)
    expectApprox(s.rate(epoch: 180), 0.00001, abs: 1e-15)
  }

  @Test func cosineEndsNearZero() {
    let s = LearningRateSchedule.cosine(base: 1, warmup: 0, epochs: 10)
    expectApprox(s.rate(epoch: 0), 1, abs: 1e-12)
    expectApprox(s.rate(epoch: 5), 0.5, abs: 1e-12)
    #expect(s.rate(epoch: 9) < 0.03)
  }
}
