import ArrayComparison
import ExactBatchNorm
import NumPyFormat

/// Float values where they are stored, read a block at a time as doubles (each exactly):
/// an array mapped from its file, or a block of the engine's output. `base` holds the
/// value of flat position `first`, the next ones follow in C order as native-endian
/// elements of `format` at any alignment (arrays inside a numpy-written .npz rarely are
/// aligned).
///
/// float32 and float64 values are also handed to the scan where they lie (`stored`), so
/// it reads them in place.
///
/// The bytes are borrowed: whoever makes one keeps them valid while it is read.
struct StoredValues: ValueBlocks, @unchecked Sendable {
    let base: UnsafeRawPointer
    let first: Int
    let format: StoredFloat

    func stored(_ range: Range<Int>) -> StoredBlock? {
        switch format {
        case .float32: StoredBlock(base: base + (range.lowerBound - first) * 4, width: .float32)
        case .float64: StoredBlock(base: base + (range.lowerBound - first) * 8, width: .float64)
        case .float16, .bfloat16: nil
        }
    }

    func fill(_ range: Range<Int>, into destination: UnsafeMutablePointer<Double>) {
        switch format {
        case .float16: fill(range, destination, Float16.self)
        case .bfloat16: fill(range, destination, BFloat16.self)
        case .float32: fill(range, destination, Float.self)
        case .float64: fill(range, destination, Double.self)
        }
    }

    /// Four values at a time through the type's exact widening (`BatchNormFloat.widened`),
    /// then one by one.
    @inline(__always)
    private func fill<T: BatchNormFloat>(_ range: Range<Int>, _ destination: UnsafeMutablePointer<Double>, _: T.Type) {
        let source = base + (range.lowerBound - first) * MemoryLayout<T>.stride
        let target = UnsafeMutableRawPointer(destination)
        var j = 0
        while j + 4 <= range.count {
            let lanes = source.loadUnaligned(fromByteOffset: j * MemoryLayout<T>.stride, as: SIMD4<T>.self)
            target.storeBytes(of: T.widened(lanes), toByteOffset: j * 8, as: SIMD4<Double>.self)
            j += 4
        }
        while j < range.count {
            destination[j] = source.loadUnaligned(fromByteOffset: j * MemoryLayout<T>.stride, as: T.self).exactDouble
            j += 1
        }
    }
}

/// The error scales of out or dx, block by block (see `ErrorScales`).
struct ScaleValues: ValueBlocks {
    let scales: ElementScales

    func fill(_ range: Range<Int>, into destination: UnsafeMutablePointer<Double>) {
        scales.fill(range, into: destination)
    }
}

extension NPYArray {
    /// Calls `body` with a block source of the values, in place where the bytes already
    /// are native-endian floats in C order (the usual case, mapped or inflated), else
    /// converted whole first (`DiffPair.doubles`: byte-swapped or Fortran-ordered arrays,
    /// integers and bools).
    func withValueBlocks<R>(key: String, path: String, _ body: (any ValueBlocks) throws -> R) throws -> R {
        guard let format = StoredFloat(dtype) else {
            return try body(ArrayBlocks(try DiffPair.doubles(self, key: key, path: path)))
        }
        return try withoutActuallyEscaping(body) { body in
            try format.dispatch(InPlaceValues(array: self, format: format, body: body))
        }
    }
}

/// `withValueBlocks` for the array's Swift element type.
private struct InPlaceValues<R>: StoredFloatBody {
    let array: NPYArray
    let format: StoredFloat
    let body: (any ValueBlocks) throws -> R

    func run<X: BatchNormFloat & NPYElement>(_: X.Type) throws -> R {
        try array.withUnsafeElementBytes(as: X.self) { bytes in
            let base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!  // empty: never read
            return try body(StoredValues(base: base, first: 0, format: format))
        }
    }
}
