/// The inputs of a tile of a channels-last unit, some channels by up to ``Tiles``'
/// rows, copied channels first, so that each channel's run has unit stride.
///
/// In place, a channel's run is strided by the channel count, and with C a large power
/// of two (BatchNorm1d's (64, 4096)) its values all fall in one set of the L1 cache and
/// evict each other: an element of a run cost about ten nanoseconds in the element pass.
/// Copied a row at a time, each cache line read gives ``width`` channels' values, and the
/// unit-stride loops vectorize. The copies move bits, so both passes compute from the
/// same values as in place.
struct TileInputs<X: BatchNormFloat> {
    /// Channels per tile: a 64-byte cache line of float32.
    static var width: Int { 16 }
    static var capacity: Int { width * BlockSummation.blockSize }
    /// The smallest stride between a channel's values, in bytes, from which the copy
    /// pays: with the channels of (1024, 256) and (2048, 128) float32 inputs (1 KiB and
    /// 512 bytes apart) the element pass through tiles cost 1.09x and 1.13x the strided
    /// loops, with those of (256, 1024) and (64, 4096) (4 and 16 KiB) 0.72x and 0.80x
    /// (whole `bnbench engine` processes, medians of 5 and 7 pairs).
    static var strideBytes: Int { 2048 }

    /// Whether runs strided by `stride` elements go through tiles.
    static func pays(stride: Int) -> Bool { stride * MemoryLayout<X>.stride >= strideBytes }

    let x = UnsafeMutablePointer<X>.allocate(capacity: capacity)
    let dout: UnsafeMutablePointer<X>?

    init(hasDout: Bool) { dout = hasDout ? .allocate(capacity: Self.capacity) : nil }

    func deallocate() {
        x.deallocate()
        dout?.deallocate()
    }

    /// Copies `width` channels of `rows` rows, `stride` elements apart, the first row's
    /// first channel at `x` (and `dout`).
    @inline(__always)
    func load(rows: Int, width: Int, x source: Elements<X>, dout doutSource: Elements<X>?, stride: Int) {
        Self.turn(rows: rows, width: width) { r, b, k in x[k] = source[r &* stride &+ b] }
        if let dout, let doutSource {
            Self.turn(rows: rows, width: width) { r, b, k in dout[k] = doutSource[r &* stride &+ b] }
        }
    }

    /// Channel `b` of the tile, `rows` values with unit stride.
    @inline(__always)
    func run(_ b: Int, rows: Int) -> ElementRun<X> {
        ElementRun(
            x: Elements<X>(UnsafeRawPointer(x + b * rows)),
            dout: dout.map { Elements<X>(UnsafeRawPointer($0 + b * rows)) }, stride: 1, count: rows)
    }

    /// Calls `body(row, channel in the tile, index in the tile)` row by row, so that the
    /// unit's side is read or written a cache line at a time.
    @inline(__always)
    static func turn(rows: Int, width: Int, _ body: (Int, Int, Int) -> Void) {
        for r in 0..<rows {
            for b in 0..<width { body(r, b, b &* rows &+ r) }
        }
    }
}

/// A tile through the element pass: its inputs copied channels first
/// (``TileInputs``), each channel's outputs computed with unit stride, then copied back.
struct TransposedTile<X: BatchNormFloat, Output: BatchNormFloat> {
    let inputs: TileInputs<X>
    let out = UnsafeMutablePointer<Output>.allocate(capacity: TileInputs<X>.capacity)
    let dx: UnsafeMutablePointer<Output>?

    init(hasDout: Bool) {
        inputs = TileInputs(hasDout: hasDout)
        dx = hasDout ? .allocate(capacity: TileInputs<X>.capacity) : nil
    }

    func deallocate() {
        inputs.deallocate()
        out.deallocate()
        dx?.deallocate()
    }

    /// The outputs of `channels` over `rows` rows whose first row starts at `x` (and
    /// `dout`), written from `out` (and `dx`) with the unit's stride; returns how many
    /// elements took the exact path.
    @inline(__always)
    func compute(
        channels: Range<Int>, rows: Int, x source: Elements<X>, dout doutSource: Elements<X>?,
        kernel: ElementKernel<X, Output>, out target: UnsafeMutablePointer<Output>,
        dx dxTarget: UnsafeMutablePointer<Output>?
    ) -> Int {
        let width = channels.count, stride = kernel.shape.spatialStride
        inputs.load(rows: rows, width: width, x: source, dout: doutSource, stride: stride)
        var exactPaths = 0
        for (b, c) in channels.enumerated() {
            exactPaths += inputs.run(b, rows: rows).computeContiguous(
                channel: c, plans: kernel.plans, solved: kernel.solved, out: out + b * rows,
                dx: dxTarget == nil ? nil : dx.map { $0 + b * rows })
        }
        TileInputs<X>.turn(rows: rows, width: width) { r, b, k in target[r &* stride &+ b] = out[k] }
        if let dx, let dxTarget {
            TileInputs<X>.turn(rows: rows, width: width) { r, b, k in dxTarget[r &* stride &+ b] = dx[k] }
        }
        return exactPaths
    }
}
