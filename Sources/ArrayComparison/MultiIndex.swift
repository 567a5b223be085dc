/// The multi-dimensional (row-major, C order) index of a flat position, which is what a
/// user types into `x[...]` to look at the element in Python.
public func multiIndex(ofFlat flat: Int, shape: [Int]) -> [Int] {
    var index = [Int](repeating: 0, count: shape.count)
    var remainder = flat
    for axis in shape.indices.reversed() where shape[axis] > 0 {
        index[axis] = remainder % shape[axis]
        remainder /= shape[axis]
    }
    return index
}

/// The number of elements of `shape`: zero as soon as one dimension is zero, without
/// multiplying the others, which may then be too large to multiply (shape (0, 2^62, 4)).
func elementCount(of shape: [Int]) -> Int {
    shape.contains(0) ? 0 : shape.reduce(1, *)
}
