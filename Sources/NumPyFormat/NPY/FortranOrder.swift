/// Column-major (Fortran) and row-major (C) layouts differ only when at least two
/// dimensions are longer than 1; everything else is the same sequence of elements.
func layoutsCoincide(_ shape: [Int]) -> Bool {
    shape.lazy.filter { $0 > 1 }.count <= 1
}

/// Copies elements laid out in Fortran order into C order.
///
/// Walks the destination in C order, keeping the Fortran offset of the current element
/// up to date with one add per step, so the cost is a strided gather with no division.
func copyFortranToC<T>(
    _ source: UnsafePointer<T>, _ destination: UnsafeMutablePointer<T>, shape: [Int]
) {
    let count = shape.reduce(1, *)
    guard count > 0 else { return }
    let rank = shape.count
    var fortranStrides = [Int](repeating: 1, count: rank)
    for k in 1..<max(rank, 1) where k < rank { fortranStrides[k] = fortranStrides[k - 1] * shape[k - 1] }
    var index = [Int](repeating: 0, count: rank)
    var offset = 0
    let innerLength = shape[rank - 1]
    let innerStride = fortranStrides[rank - 1]
    var written = 0
    while written < count {
        var o = offset
        for _ in 0..<innerLength {
            destination[written] = source[o]
            written += 1
            o += innerStride
        }
        // Advance the outer index (all but the last axis) like an odometer.
        var axis = rank - 2
        while axis >= 0 {
            index[axis] += 1
            offset += fortranStrides[axis]
            if index[axis] < shape[axis] { break }
            offset -= fortranStrides[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}

extension NPYArrayHeader {
    /// Where the element that comes `index`-th in C (row-major) order is stored: `index`
    /// itself in C order, its column-major position in Fortran order. For readers that
    /// see elements in storage order (`NPYArrayPiece`) and must pick out C-order ones.
    public func storagePosition(ofCOrderIndex index: Int) -> Int {
        guard fortranOrder, !layoutsCoincide(shape) else { return index }
        var remainder = index
        var position = 0
        var stride = 1
        var strides = [Int](repeating: 0, count: shape.count)
        for axis in shape.indices {
            strides[axis] = stride
            stride *= shape[axis]
        }
        for axis in shape.indices.reversed() {
            position += (remainder % shape[axis]) * strides[axis]
            remainder /= shape[axis]
        }
        return position
    }
}
