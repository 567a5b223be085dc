/// The second pass: every element's `out` and `dx`, each rounded once.
///
/// For each element a fast path evaluates the formulas of ``ElementTerms`` in floating
/// point with an error bound (``ChannelBoundFormulas``, fixed per channel, for float16
/// and float32 data; ``FastFormulas``, carried through every operation, otherwise) and
/// keeps the result only if the whole error interval rounds to one value of the output
/// type. Otherwise — a true value within about 2^-50 of a rounding boundary, which
/// happens for ties and exactly representable results, or a channel whose constants are
/// extreme — the element is settled in double-double or, failing that, computed exactly
/// from the rationals (``ElementRun/settleDoubts(formulas:constants:channel:solved:out:dx:)``).
/// The output is therefore always the correctly rounded value; the fast path only
/// decides how much work that takes.
///
/// Each run of elements is done in a branch-free loop that writes the fast results and
/// ORs together their doubts (so it vectorizes), then, only if a doubt was raised, a
/// loop that finds the uncertain elements again and settles them (``ElementRun``).
struct ElementKernel<X: BatchNormFloat, Output: BatchNormFloat> {
    let x: Elements<X>
    let dout: Elements<X>?
    let shape: BatchNormShape
    let solved: SolvedChannels
    let plans: ChannelPlans

    /// Computes `out` (and `dx`) for the elements of the ``Tiles`` units in `units` and
    /// returns how many elements needed the exact path. `out[i]` and `dx[i]` receive
    /// element `firstElement + i`, so a caller can compute a block of the output at a time.
    /// Small channels-first planes are visited channel by channel across bands of whole
    /// batch rows (``BatchRows``), the rest unit by unit; either way each element is
    /// computed by the same formulas, so the order changes no bit.
    func run(
        units: Range<Int>, out: UnsafeMutablePointer<Output>, dx: UnsafeMutablePointer<Output>?,
        threads: Int
    ) -> Int {
        guard let rows = BatchRows(units, shape: shape) else {
            return runByUnit(units: units, out: out, dx: dx, threads: threads)
        }
        // The partial rows by unit, the whole rows between them channel by channel.
        let tiles = Tiles(shape)
        let firstElement = tiles.firstElement(ofUnit: units.lowerBound)
        var exactPaths = runByUnit(units: rows.head, out: out, dx: dx, threads: threads)
        for band in rows.bands {
            let offset = band.lowerBound * shape.batchStride - firstElement
            exactPaths += runByChannel(rows: band, out: out + offset, dx: dx.map { $0 + offset }, threads: threads)
        }
        let tailOffset = tiles.firstElement(ofUnit: rows.tail.lowerBound) - firstElement
        return exactPaths
            + runByUnit(units: rows.tail, out: out + tailOffset, dx: dx.map { $0 + tailOffset }, threads: threads)
    }

    /// The whole batch rows `rows` of a channels-first problem with small planes, shared
    /// out by channel: each channel's planes in those rows in one call
    /// (``ElementRun/computeContiguousPlanes(channel:planes:planeStride:plans:solved:out:dx:)``),
    /// `out[0]` being the first element of the first row.
    private func runByChannel(
        rows: Range<Int>, out: UnsafeMutablePointer<Output>, dx: UnsafeMutablePointer<Output>?, threads: Int
    ) -> Int {
        guard !rows.isEmpty else { return 0 }
        let sharedOut = SharedPointer(out), sharedDx = dx.map { SharedPointer($0) }
        let first = rows.lowerBound * shape.batchStride
        let parts = parallelRanges(count: shape.channels, threads: threads, piecesPerThread: 4) { channels in
            var exactPaths = 0
            for c in channels {
                let offset = c * shape.channelStride
                let run = ElementRun(
                    x: x + (first + offset), dout: dout.map { $0 + (first + offset) }, stride: 1,
                    count: shape.spatial)
                exactPaths += run.computeContiguousPlanes(
                    channel: c, planes: rows.count, planeStride: shape.batchStride, plans: plans, solved: solved,
                    out: sharedOut.base + offset, dx: sharedDx.map { $0.base + offset })
            }
            return exactPaths
        }
        return parts.reduce(0, +)
    }

    /// ``run(units:out:dx:threads:)`` with the units shared out among the threads as
    /// they come.
    private func runByUnit(
        units: Range<Int>, out: UnsafeMutablePointer<Output>, dx: UnsafeMutablePointer<Output>?,
        threads: Int
    ) -> Int {
        guard !units.isEmpty else { return 0 }
        let tiles = Tiles(shape)
        let firstElement = tiles.firstElement(ofUnit: units.lowerBound)
        let sharedOut = SharedPointer(out), sharedDx = dx.map { SharedPointer($0) }
        // Fewer units than threads (channels last with one row, as BatchNorm1d's (N, C)
        // input becomes): the threads share out the channels of every unit instead.
        let byChannel = units.count < threads && shape.layout == .channelsLast && shape.channels >= threads
        let parts = parallelRanges(
            count: byChannel ? shape.channels : units.count, threads: threads, piecesPerThread: 4
        ) { range in
            let visitedUnits =
                byChannel
                ? units
                : (range.lowerBound + units.lowerBound)..<(range.upperBound + units.lowerBound)
            let visitedTiles = byChannel ? Tiles(shape, channels: range) : tiles
            return runs(of: visitedTiles, units: visitedUnits) { offset in
                (sharedOut.base + (offset - firstElement), sharedDx.map { $0.base + (offset - firstElement) })
            }
        }
        return parts.reduce(0, +)
    }

    /// Every run of `units` in `tiles`, on this thread, into the outputs that `place`
    /// gives for a run's first element offset; returns how many elements took the
    /// exact path.
    @inline(__always)
    private func runs(
        of tiles: Tiles, units: Range<Int>,
        place: (Int) -> (out: UnsafeMutablePointer<Output>, dx: UnsafeMutablePointer<Output>?)
    ) -> Int {
        let stride = shape.spatialStride
        if TileInputs<X>.pays(stride: stride) {
            return transposedRuns(of: tiles, units: units, place: place)
        }
        var exactPaths = 0
        tiles.forEachRun(in: units) { channel, offset, length in
            let run = ElementRun(x: x + offset, dout: dout.map { $0 + offset }, stride: stride, count: length)
            let (runOut, runDx) = place(offset)
            // Unit stride (channels first) gets its own copy of the loops, with the
            // stride a constant, so that they vectorize.
            if stride == 1 {
                exactPaths += run.computeContiguous(
                    channel: channel, plans: plans, solved: solved,
                    out: runOut, dx: runDx)
            } else {
                exactPaths += run.compute(
                    channel: channel, plans: plans, solved: solved,
                    out: runOut, dx: runDx)
            }
        }
        return exactPaths
    }

    /// Channels last: each unit's channels ``TileInputs/width`` at a time, through a
    /// tile turned channels first and back (see ``TransposedTile``).
    private func transposedRuns(
        of tiles: Tiles, units: Range<Int>,
        place: (Int) -> (out: UnsafeMutablePointer<Output>, dx: UnsafeMutablePointer<Output>?)
    ) -> Int {
        let tile = TransposedTile<X, Output>(hasDout: dout != nil)
        defer { tile.deallocate() }
        var exactPaths = 0
        let width = TileInputs<X>.width
        for unit in units {
            let (first, rows) = tiles.rows(ofUnit: unit)
            var c = tiles.channels.lowerBound
            while c < tiles.channels.upperBound {
                let channels = c..<min(c + width, tiles.channels.upperBound)
                let (out, dx) = place(first + c)
                exactPaths += tile.compute(
                    channels: channels, rows: rows, x: x + (first + c), dout: dout.map { $0 + (first + c) },
                    kernel: self, out: out, dx: dx)
                c = channels.upperBound
            }
        }
        return exactPaths
    }
}

/// A range of channels-first units (planes, batch row by batch row) as the partial row
/// it starts with, the whole rows after that, and the partial row it ends with; nil
/// where the element pass takes units one by one regardless: planes too large for their
/// per-run cost to matter (then one stream per unit reads best), or cut into slices,
/// or a single plane a channel.
struct BatchRows {
    let head: Range<Int>
    let whole: Range<Int>
    let tail: Range<Int>

    /// The largest plane whose channels go by channel: a 7x7 plane is 49 values. With
    /// 14x14 planes (196) the loop outweighs the setup it saves, and reading a channel's
    /// planes across rows rather than in memory order made (32,256,14,14) 1.09x slower
    /// (`bnbench engine`, one thread, medians of twelve alternating rounds).
    static let largestPlane = 64
    /// Whole rows taken together, channel by channel: each is one more stream of every
    /// array for the prefetcher to follow, and (32,2048,7,7) taken 32 rows at once ran
    /// 1.14x slower than plane by plane, 4 rows at a time 0.92x.
    static let rowsPerBand = 4

    /// The whole rows in bands of up to ``rowsPerBand``.
    var bands: [Range<Int>] {
        stride(from: whole.lowerBound, to: whole.upperBound, by: Self.rowsPerBand).map {
            $0..<min($0 + Self.rowsPerBand, whole.upperBound)
        }
    }

    init?(_ units: Range<Int>, shape: BatchNormShape) {
        let c = shape.channels
        guard shape.layout == .channelsFirst, shape.batch > 1, c > 0, shape.spatial > 0,
            shape.spatial <= Self.largestPlane
        else { return nil }
        let firstWhole = (units.lowerBound + c - 1) / c, endWhole = units.upperBound / c
        guard endWhole - firstWhole >= 2 else { return nil }
        head = units.lowerBound..<firstWhole * c
        whole = firstWhole..<endWhole
        tail = endWhole * c..<units.upperBound
    }
}
