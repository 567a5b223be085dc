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
    func run(
        units: Range<Int>, out: UnsafeMutablePointer<Output>, dx: UnsafeMutablePointer<Output>?,
        threads: Int
    ) -> Int {
        let tiles = Tiles(shape)
        let firstElement = tiles.firstElement(ofUnit: units.lowerBound)
        let sharedOut = SharedPointer(out), sharedDx = dx.map { SharedPointer($0) }
        // Fewer units than threads (channels last with one row, as BatchNorm1d's (N, C)
        // input becomes): the threads share out the channels of every unit instead.
        let byChannel = units.count < threads && shape.layout == .channelsLast && shape.channels >= threads
        let parts = parallelRanges(count: byChannel ? shape.channels : units.count, threads: threads) { range in
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
