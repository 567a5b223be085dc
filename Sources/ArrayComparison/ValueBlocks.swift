/// A source of one array's values a block at a time: the values at the flat (row-major,
/// C order) positions `range`, each exactly as a `Double`, written to `destination`.
///
/// Judging reads every array through one, so that its values may come from a file's
/// typed storage or from a computation's output block by block, and no array is ever
/// held whole as doubles. `fill` is called from several threads at once, on disjoint
/// ranges, each at most `KeyScan.blockSize` long; it must give the same values however
/// the positions are grouped into ranges.
///
/// A source whose values lie in memory as float32 or float64 numbers says where
/// (`stored`): the scan then reads them there, without a copy, and float32 values stay
/// float32 until a kernel widens them in registers. `fill` must give exactly the values
/// `stored` points at, widened.
public protocol ValueBlocks: Sendable {
    func fill(_ range: Range<Int>, into destination: UnsafeMutablePointer<Double>)

    /// The values of `range` where they lie, valid while the source is; nil (the default)
    /// when they are not stored as one of `StoredBlock.Width`'s types.
    func stored(_ range: Range<Int>) -> StoredBlock?
}

extension ValueBlocks {
    public func stored(_ range: Range<Int>) -> StoredBlock? { nil }
}

/// A block of values in memory: consecutive native-endian float32 or float64 numbers
/// from `base`, at any alignment.
public struct StoredBlock: @unchecked Sendable {
    public enum Width: Sendable {
        case float32, float64
    }

    public let base: UnsafeRawPointer
    public let width: Width

    public init(base: UnsafeRawPointer, width: Width) {
        (self.base, self.width) = (base, width)
    }
}

/// Values already held as doubles.
public struct ArrayBlocks: ValueBlocks {
    public let values: [Double]

    public init(_ values: [Double]) { self.values = values }

    public func fill(_ range: Range<Int>, into destination: UnsafeMutablePointer<Double>) {
        values.withUnsafeBufferPointer { values in
            destination.update(from: values.baseAddress! + range.lowerBound, count: range.count)
        }
    }
}
