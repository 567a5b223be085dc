import Testing

@testable import ExactBatchNorm

#if canImport(Glibc)
import Glibc
#endif

/// The block-at-a-time entry point against the whole-buffer one: same bits, blocks that
/// tile the output in order, and a `deliver` error that stops the work.
@Suite struct StreamingComputeTests {
    struct Case: CustomTestStringConvertible {
        let dimensions: [Int]
        let layout: ChannelLayout
        let blockBytes: Int
        var testDescription: String { "\(dimensions) \(layout.rawValue) blocks of \(blockBytes) B" }
    }

    static let cases = [
        Case(dimensions: [3, 4, 700], layout: .channelsFirst, blockBytes: 1),  // one unit per block
        Case(dimensions: [3, 4, 700], layout: .channelsFirst, blockBytes: 10_000),  // several units
        Case(dimensions: [2, 5, 9, 130], layout: .channelsLast, blockBytes: 1),  // NHWC, tail tiles
        Case(dimensions: [2, 5, 9, 130], layout: .channelsLast, blockBytes: 1 << 20),
        Case(dimensions: [6, 3], layout: .channelsFirst, blockBytes: 8),
        // 7x7 planes go channel by channel over the whole rows of a block (``BatchRows``):
        // float32 blocks of 12 units over 5 channels hold whole rows between partial ones.
        Case(dimensions: [9, 5, 7, 7], layout: .channelsFirst, blockBytes: 2400),
        Case(dimensions: [9, 5, 7, 7], layout: .channelsFirst, blockBytes: 1 << 20),
        // (N, C) is read as channels last; planes over 65536 values are cut into slices.
        Case(dimensions: [3000, 5], layout: .channelsFirst, blockBytes: 4096),
        Case(dimensions: [1, 2, 140_000], layout: .channelsFirst, blockBytes: 1 << 20),
        Case(dimensions: [1, 2, 140_000], layout: .channelsFirst, blockBytes: 1),
    ]

    func check<X: BatchNormFloat>(_: X.Type, _ c: Case, withDout: Bool) throws {
        let shape = try BatchNormShape(dimensions: c.dimensions, layout: c.layout)
        let n = shape.elementCount
        let x = (0..<n).map { X(sin(Double($0) * 0.7) * 3 + 0.5) }
        let dout = (0..<n).map { X(cos(Double($0) * 1.3)) }
        let parameters = BatchNormParameters(
            gamma: (0..<shape.channels).map { 1 + Double($0) / 4 },
            beta: (0..<shape.channels).map { Double($0) / 8 })
        let whole = try x.withUnsafeBufferPointer { xs in
            try dout.withUnsafeBufferPointer { ds in
                try ExactBatchNorm.compute(
                    x: xs, dout: withDout ? ds : nil, shape: shape, parameters: parameters,
                    mode: .training, output: X.self)
            }
        }
        var out = [X](), dx = [X]()
        var next = 0
        let channels = try x.withUnsafeBytes { xs in
            try dout.withUnsafeBytes { ds in
                try ExactBatchNorm.compute(
                    BatchNormInput(
                        x: xs, dout: withDout ? ds : nil, elementType: X.elementType,
                        shape: shape, parameters: parameters),
                    output: X.self, blockBytes: c.blockBytes, threads: 2
                ) { range, o, d in
                    #expect(range.lowerBound == next && o.count == range.count && (d == nil) == !withDout)
                    next = range.upperBound
                    out += o
                    if let d { dx += d }
                }
            }
        }
        #expect(next == n)
        #expect(out.map(\.encoding) == whole.out.map(\.encoding))
        if withDout { #expect(dx.map(\.encoding) == whole.dx!.map(\.encoding)) }
        #expect(channels.perChannel(.invstd, as: Double.self) == whole.perChannel(.invstd, as: Double.self))
        #expect(channels.perChannel(.dgamma, as: Double.self) == whole.perChannel(.dgamma, as: Double.self))
        #expect(channels.exactPathCount == whole.exactPathCount)
    }

    @Test(arguments: cases)
    func blocksEqualTheWholeComputation(_ c: Case) throws {
        try check(Float.self, c, withDout: true)
        try check(Float.self, c, withDout: false)
        try check(Float16.self, c, withDout: true)
        try check(Double.self, c, withDout: true)
    }

    struct Stop: Error {}

    @Test func anErrorFromDeliverStopsTheComputation() throws {
        let shape = try BatchNormShape(dimensions: [4, 2, 600], layout: .channelsFirst)
        let x = (0..<shape.elementCount).map { Float($0 % 13) }
        var blocks = 0
        #expect(throws: Stop.self) {
            try x.withUnsafeBytes { xs in
                _ = try ExactBatchNorm.compute(
                    BatchNormInput(x: xs, dout: nil, elementType: .float32, shape: shape),
                    output: Float.self, blockBytes: 1
                ) { _, _, _ in
                    blocks += 1
                    if blocks == 2 { throw Stop() }
                }
            }
        }
        #expect(blocks == 2)
    }
}
