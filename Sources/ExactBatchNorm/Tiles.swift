/// How both passes cut the data into runs of one channel's values, grouped into units
/// that threads share out.
///
/// Channels first, a unit is one `(n, c)` plane, contiguous in memory, cut into runs of
/// up to `planeRun` values (512 unless a pass asks for longer) that follow each other:
/// the hardware prefetcher sees one sequential stream per unit. (Units of one 512-value
/// slice across all channels, as below, jump 2 KiB runs between planes; every run then
/// starts with cache misses, which cost the first pass more time than its arithmetic.) Channels last, a unit is one batch row by up to 512 spatial
/// positions covering every channel: each channel's run is strided by `C` inside a tile
/// that stays in cache while its channels are visited.
struct Tiles {
    let shape: BatchNormShape
    let runsPerRow: Int
    /// The longest run a channels-first plane is cut into.
    let planeRun: Int

    init(_ shape: BatchNormShape, planeRun: Int = BlockSummation.blockSize) {
        self.shape = shape
        self.planeRun = planeRun
        runsPerRow = (shape.spatial + BlockSummation.blockSize - 1) / BlockSummation.blockSize
    }

    var count: Int {
        shape.layout == .channelsFirst ? shape.batch * shape.channels : shape.batch * runsPerRow
    }

    /// The index of the first element of `unit` (or the element count, for `count`).
    /// Consecutive units cover consecutive elements in both layouts, so a range of units
    /// is a contiguous block of the output: what streaming output writes at a time.
    func firstElement(ofUnit unit: Int) -> Int {
        if shape.layout == .channelsFirst { return unit * shape.spatial }
        let n = unit / runsPerRow, l0 = (unit % runsPerRow) * BlockSummation.blockSize
        return n * shape.batchStride + min(l0, shape.spatial) * shape.channels
    }

    /// Calls `body(channel, offset of the run's first element, run length)` for every
    /// run of every unit in `range`.
    @inline(__always)
    func forEachRun(in range: Range<Int>, _ body: (_ channel: Int, _ offset: Int, _ length: Int) -> Void) {
        let block = BlockSummation.blockSize
        for unit in range {
            if shape.layout == .channelsFirst {
                let c = unit % shape.channels
                let plane = (unit / shape.channels) * shape.batchStride + c * shape.channelStride
                var l0 = 0
                while l0 < shape.spatial {
                    body(c, plane + l0, min(planeRun, shape.spatial - l0))
                    l0 += planeRun
                }
            } else {
                let n = unit / runsPerRow
                let l0 = (unit % runsPerRow) * block
                let length = min(block, shape.spatial - l0)
                for c in 0 ..< shape.channels {
                    body(c, n * shape.batchStride + c * shape.channelStride + l0 * shape.spatialStride, length)
                }
            }
        }
    }
}
