/// How both passes cut the data into runs of one channel's values, grouped into units
/// that threads share out.
///
/// Channels first, a unit is one `(n, c)` plane (or a 65536-value slice of a longer
/// one), contiguous in memory, cut into runs of up to `planeRun` values (512 unless a pass asks for longer) that follow each other:
/// the hardware prefetcher sees one sequential stream per unit. (Units of one 512-value
/// slice across all channels, as below, jump 2 KiB runs between planes; every run then
/// starts with cache misses, which cost the first pass more time than its arithmetic.) Channels last, a unit is one batch row by up to 512 spatial
/// positions covering every channel: each channel's run is strided by `C` inside a tile
/// that stays in cache while its channels are visited.
struct Tiles {
    let shape: BatchNormShape
    let runsPerRow: Int
    /// The longest run a channels-first unit is cut into.
    let planeRun: Int
    /// Channels-first units per plane.
    let slicesPerPlane: Int
    /// The channels visited: all of them for the element pass; the first pass may take
    /// a range at a time, so that only those channels' sums exist at once.
    let channels: Range<Int>

    /// Channels first, planes longer than this are cut into several units, so that a few
    /// large planes (one channel of 10^8 values, say) still spread over every thread. A
    /// multiple of every run length the passes use.
    static let slice = 1 << 16

    init(_ shape: BatchNormShape, planeRun: Int = BlockSummation.blockSize, channels: Range<Int>? = nil) {
        self.shape = shape
        self.planeRun = planeRun
        self.channels = channels ?? 0..<shape.channels
        runsPerRow = (shape.spatial + BlockSummation.blockSize - 1) / BlockSummation.blockSize
        slicesPerPlane = (shape.spatial + Self.slice - 1) / Self.slice
    }

    /// No units at all for an empty array: with a zero dimension the other ones may be
    /// huge, and units over them would be work (and divisions) over nothing.
    var count: Int {
        guard shape.elementCount > 0 else { return 0 }
        return shape.layout == .channelsFirst ? shape.batch * channels.count * slicesPerPlane : shape.batch * runsPerRow
    }

    /// The index of the first element of `unit` (or the element count, for `count`).
    /// Consecutive units cover consecutive elements in both layouts, so a range of units
    /// is a contiguous block of the output: what streaming output writes at a time.
    /// (Over every channel only.)
    func firstElement(ofUnit unit: Int) -> Int {
        guard shape.elementCount > 0 else { return 0 }
        if shape.layout == .channelsFirst {
            guard slicesPerPlane > 0 else { return 0 }
            return (unit / slicesPerPlane) * shape.spatial + (unit % slicesPerPlane) * Self.slice
        }
        let n = unit / runsPerRow, l0 = (unit % runsPerRow) * BlockSummation.blockSize
        return n * shape.batchStride + min(l0, shape.spatial) * shape.channels
    }

    /// Channels last, a unit's rows: the offset of its first row's channel 0 and how many
    /// rows (spatial positions) it covers.
    @inline(__always)
    func rows(ofUnit unit: Int) -> (first: Int, count: Int) {
        let n = unit / runsPerRow, l0 = (unit % runsPerRow) * BlockSummation.blockSize
        return (n * shape.batchStride + l0 * shape.spatialStride, min(BlockSummation.blockSize, shape.spatial - l0))
    }

    /// Calls `body(channel, offset of the run's first element, run length)` for every
    /// run of every unit in `range`.
    @inline(__always)
    func forEachRun(in range: Range<Int>, _ body: (_ channel: Int, _ offset: Int, _ length: Int) -> Void) {
        for unit in range {
            if shape.layout == .channelsFirst {
                let local = unit / slicesPerPlane, first = (unit % slicesPerPlane) * Self.slice
                let c = channels.lowerBound + local % channels.count
                let plane = (local / channels.count) * shape.channels + c
                let end = min(shape.spatial, first + Self.slice)
                var l0 = first
                while l0 < end {
                    body(c, plane * shape.spatial + l0, min(planeRun, end - l0))
                    l0 += planeRun
                }
            } else {
                let (first, length) = rows(ofUnit: unit)
                for c in channels { body(c, first + c * shape.channelStride, length) }
            }
        }
    }
}
