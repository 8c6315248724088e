/// A dense array of `Float`, contiguous and row-major; images are NHWC.
///
/// A tensor is a buffer with reference semantics: layers own their output and gradient tensors and
/// reuse them from step to step, so the training loop allocates nothing after its first step.
/// ``resize(_:)`` changes the shape in place and reallocates only when the new element count exceeds
/// the capacity.
public final class Tensor: @unchecked Sendable {
  /// The extent of each dimension, outermost first.
  public private(set) var shape: [Int]
  /// The number of elements, the product of ``shape``.
  public private(set) var count: Int
  /// The number of elements the storage holds.
  public private(set) var capacity: Int
  /// The storage; valid for ``count`` elements.
  public private(set) var pointer: UnsafeMutablePointer<Float>

  /// Creates a tensor of the given shape with every element set to `value`.
  public init(shape: [Int], repeating value: Float = 0) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
    self.shape = shape
    self.count = shape.reduce(1, *)
    self.capacity = Swift.max(count, 1)
    self.pointer = .allocate(capacity: capacity)
    pointer.initialize(repeating: value, count: capacity)
  }

  /// Creates a tensor of the given shape holding `values` in row-major order.
  public convenience init(shape: [Int], values: [Float]) {
    self.init(shape: shape)
    precondition(values.count == count, "\(values.count) values for shape \(shape)")
    values.withUnsafeBufferPointer { src in
      if let base = src.baseAddress { pointer.update(from: base, count: count) }
    }
  }

  deinit { pointer.deallocate() }

  /// The elements as a mutable buffer of ``count`` elements.
  @inlinable public var buffer: UnsafeMutableBufferPointer<Float> {
    UnsafeMutableBufferPointer(start: pointer, count: count)
  }

  /// Sets the shape. Keeps the storage when it is large enough; otherwise reallocates, and the contents
  /// are then zero.
  public func resize(_ newShape: [Int]) {
    if newShape == shape { return }
    let n = newShape.reduce(1, *)
    if n > capacity {
      pointer.deallocate()
      capacity = n
      pointer = .allocate(capacity: n)
      pointer.initialize(repeating: 0, count: n)
    }
    shape = newShape
    count = n
  }

  /// Reinterprets the elements with another shape of the same element count.
  public func reshape(_ newShape: [Int]) {
    precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
    shape = newShape
  }

  /// Element `i` in row-major order.
  @inlinable public subscript(i: Int) -> Float {
    get { pointer[i] }
    set { pointer[i] = newValue }
  }

  /// Sets every element to `value`.
  public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }

  /// Makes this tensor a copy of `other` (shape and contents), reusing storage.
  public func copy(from other: Tensor) {
    resize(other.shape)
    pointer.update(from: other.pointer, count: count)
  }

  /// A new tensor with the same shape and contents.
  public func clone() -> Tensor {
    let t = Tensor(shape: shape)
    t.pointer.update(from: pointer, count: count)
    return t
  }

  /// The elements in row-major order.
  public func toArray() -> [Float] { Array(buffer) }

  /// The size of dimension 0 (the batch), or 1 for a scalar.
  public var rows: Int { shape.first ?? 1 }
  /// The number of elements per row: ``count`` / ``rows``.
  public var rowSize: Int { rows == 0 ? 0 : count / rows }
}

extension Tensor: CustomStringConvertible {
  public var description: String {
    let head = buffer.prefix(8).map { "\($0)" }.joined(separator: ", ")
    return "Tensor(\(shape), [\(head)\(count > 8 ? ", …" : "")])"
  }
}
