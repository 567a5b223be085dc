/// A source of one array's values a block at a time: the values at the flat (row-major,
/// C order) positions `range`, each exactly as a `Double`, written to `destination`.
///
/// Judging reads every array through one, so that its values may come from a file's
/// typed storage or from a computation's output block by block, and no array is ever
/// held whole as doubles. `fill` is called from several threads at once, on disjoint
/// ranges, each at most `KeyScan.blockSize` long; it must give the same values however
/// the positions are grouped into ranges.
public protocol ValueBlocks: Sendable {
    func fill(_ range: Range<Int>, into destination: UnsafeMutablePointer<Double>)
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
