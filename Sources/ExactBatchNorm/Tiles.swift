/// How both passes cut the data: tiles of one batch row by up to
/// ``BlockSummation/blockSize`` spatial positions, each covering every channel.
///
/// A tile's run for one channel is contiguous in channels-first layout and strided by
/// `C` in channels-last layout, where the tile (block size times C values) stays in
/// cache while its channels are visited. Work is split between threads by whole tiles.
struct Tiles {
    let shape: BatchNormShape
    let tilesPerRow: Int

    init(_ shape: BatchNormShape) {
        self.shape = shape
        tilesPerRow = (shape.spatial + BlockSummation.blockSize - 1) / BlockSummation.blockSize
    }

    var count: Int { shape.batch * tilesPerRow }

    /// Calls `body(channel, offset of the run's first element, run length)` for every
    /// channel of every tile in `range`.
    @inline(__always)
    func forEachRun(in range: Range<Int>, _ body: (_ channel: Int, _ offset: Int, _ length: Int) -> Void) {
        for tile in range {
            let n = tile / tilesPerRow
            let l0 = (tile % tilesPerRow) * BlockSummation.blockSize
            let length = min(BlockSummation.blockSize, shape.spatial - l0)
            for c in 0 ..< shape.channels {
                body(c, n * shape.batchStride + c * shape.channelStride + l0 * shape.spatialStride, length)
            }
        }
    }
}
