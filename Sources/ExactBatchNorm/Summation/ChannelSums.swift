/// The exact per-channel sums every output is derived from: `S = sum x`,
/// `Q = sum x^2`, `T = sum dout` and `P = sum dout*x`.
struct ChannelSums: Sendable {
    var x = ExactAccumulator()
    var xx = ExactAccumulator()
    var dout = ExactAccumulator()
    var xDout = ExactAccumulator()
    var xTally = NonFiniteTally()
    var doutTally = NonFiniteTally()

    mutating func merge(_ other: ChannelSums) {
        x.add(other.x)
        xx.add(other.xx)
        dout.add(other.dout)
        xDout.add(other.xDout)
        xTally.merge(other.xTally)
        doutTally.merge(other.doutTally)
    }
}

enum ChannelSummation {
    /// Reads `x` (and `dout`) once and returns the exact sums of the channels in
    /// `channels` (in order; all by default). `training` asks for `S` and `Q`; `dout`, when given, adds
    /// `T` and `P`.
    ///
    /// Work is cut as ``Tiles`` says, and the units shared between threads; a problem
    /// with fewer units than threads (channels last with one row, as BatchNorm1d's
    /// (N, C) input becomes) shares out its channels instead. Where the one-pass sums
    /// apply, a channels-first plane is taken in runs of up to
    /// ``OnePassSummation/maxCount`` values rather than 512: each run has a fixed cost
    /// (its maxima, levels and six accumulator additions) that longer runs spread thinner.
    static func sums<X: BatchNormFloat>(
        x: Elements<X>, dout: Elements<X>?, shape: BatchNormShape,
        channels: Range<Int>? = nil, training: Bool, threads: Int
    ) -> [ChannelSums] {
        let channels = channels ?? 0..<shape.channels
        let onePass = training && OnePassSummation.applies(X.self, stride: shape.spatialStride)
        if onePass, let group = planeGroup(shape) {
            return filledByChannel(channels, threads: threads) { range, slots in
                let scratch = BlockSummation.allocateScratch(blocks: 4)
                defer { scratch.deallocate() }
                for (slot, c) in range.enumerated() {
                    groupedSums(
                        x: x, dout: dout, shape: shape, channel: c, group: group, scratch: scratch,
                        into: &slots[slot])
                }
            }
        }
        let planeRun = onePass ? OnePassSummation.maxCount : BlockSummation.blockSize
        let units = Tiles(shape, planeRun: planeRun, channels: channels).count
        if units < threads && channels.count >= threads {
            return filledByChannel(channels, threads: threads) { range, slots in
                let tiles = Tiles(shape, planeRun: planeRun, channels: range)
                accumulate(x: x, dout: dout, tiles: tiles, units: 0..<tiles.count, training: training, into: slots)
            }
        }
        let tiles = Tiles(shape, planeRun: planeRun, channels: channels)
        var partials = parallelRanges(count: units, threads: threads) { range in
            sums(x: x, dout: dout, tiles: tiles, units: range, training: training)
        }
        // Merged in place, each partial read where it lies (indexing the nested arrays
        // would copy every channel's sums, retaining and releasing their digits).
        var merged: [ChannelSums] = []
        swap(&merged, &partials[0])
        merged.withUnsafeMutableBufferPointer { target in
            for partial in partials.dropFirst() {
                partial.withUnsafeBufferPointer { source in
                    for c in source.indices { target[c].merge(source[c]) }
                }
            }
        }
        return merged
    }

    /// The sums of `channels`, which the threads share out: each fills the slots of its
    /// own channels (`fill(range, slots)`, slot 0 for `range.lowerBound`) where they lie
    /// in the result, so no channel's sums are copied (a copy retains and releases their
    /// digits) and none is merged.
    static func filledByChannel(
        _ channels: Range<Int>, threads: Int,
        _ fill: @Sendable (Range<Int>, UnsafeMutablePointer<ChannelSums>) -> Void
    ) -> [ChannelSums] {
        [ChannelSums](unsafeUninitializedCapacity: channels.count) { buffer, initialized in
            let target = SharedPointer(buffer.baseAddress!)
            _ = parallelRanges(count: channels.count, threads: threads, piecesPerThread: 4) { range in
                let slots = target.base + range.lowerBound
                // Each slot made in place: `initialize(repeating:)` copies one value into
                // every slot through the type's generic copy, a call and four retains each.
                for k in 0..<range.count { (slots + k).initialize(to: ChannelSums()) }
                let base = channels.lowerBound
                fill(base + range.lowerBound..<base + range.upperBound, slots)
            }
            initialized = channels.count
        }
    }

    /// How many of a channel's planes the one-pass sums take as one run, or nil where
    /// planes go one by one: channels first, planes of at most half
    /// ``OnePassSummation/maxCount`` values, a batch of more than one. A 7x7 plane is 49
    /// values, and a run's fixed cost (survey, levels, six accumulator additions) is
    /// then most of its time; a run of the whole batch's planes pays it once per channel
    /// and needs no merging of partial sums between threads, which take whole channels.
    static func planeGroup(_ shape: BatchNormShape) -> Int? {
        guard shape.layout == .channelsFirst, shape.batch > 1, shape.spatial > 0,
            shape.spatial * 2 <= OnePassSummation.maxCount
        else { return nil }
        return OnePassSummation.maxCount / shape.spatial
    }

    /// Adds one channel's sums, its planes taken `group` at a time as one run; a group the
    /// one-pass sums decline (values more than 26 binades apart, a non-finite value) goes
    /// plane by plane through the general path, with the same exact result. `scratch`
    /// is the general path's (``BlockSummation/allocateScratch(blocks:)``, four blocks).
    static func groupedSums<X: BatchNormFloat>(
        x: Elements<X>, dout: Elements<X>?, shape: BatchNormShape, channel c: Int, group: Int,
        scratch: UnsafeMutablePointer<Double>, into sums: inout ChannelSums
    ) {
        var n = 0
        while n < shape.batch {
            let count = min(group, shape.batch - n)
            let first = n * shape.batchStride + c * shape.channelStride
            let planes = OnePassSummation.Planes(count: shape.spatial, planes: count, stride: shape.batchStride)
            if !OnePassSummation.accumulate(
                x: x + first, dout: dout.map { $0 + first }, planes: planes, into: &sums)
            {
                planes.forEach { offset in
                    accumulateTile(
                        x: x + first + offset, dout: dout.map { $0 + first + offset }, stride: 1,
                        count: shape.spatial, training: true, scratch: scratch, into: &sums)
                }
            }
            n += count
        }
    }

    /// The sums of `tiles`' channels over the units in `units`, on this thread.
    static func sums<X: BatchNormFloat>(
        x: Elements<X>, dout: Elements<X>?, tiles: Tiles, units: Range<Int>,
        training: Bool
    ) -> [ChannelSums] {
        var sums = Array(repeating: ChannelSums(), count: tiles.channels.count)
        sums.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            accumulate(x: x, dout: dout, tiles: tiles, units: units, training: training, into: base)
        }
        return sums
    }

    /// Adds the values of the units in `units` to the sums of `tiles`' channels, which
    /// lie from `sums` on (the first channel's first), on this thread.
    static func accumulate<X: BatchNormFloat>(
        x: Elements<X>, dout: Elements<X>?, tiles: Tiles, units: Range<Int>,
        training: Bool, into sums: UnsafeMutablePointer<ChannelSums>
    ) {
        let first = tiles.channels.lowerBound
        let scratch = BlockSummation.allocateScratch(blocks: 4)
        defer { scratch.deallocate() }
        let stride = tiles.shape.spatialStride
        if TileInputs<X>.pays(stride: stride) {
            return accumulateTiles(
                x: x, dout: dout, tiles: tiles, units: units, training: training, scratch: scratch, into: sums)
        }
        tiles.forEachRun(in: units) { c, offset, length in
            accumulateTile(
                x: x + offset, dout: dout.map { $0 + offset }, stride: stride, count: length,
                training: training, scratch: scratch, into: &sums[c - first])
        }
    }

    /// ``accumulate(x:dout:tiles:units:training:into:)`` for channels far apart: each
    /// unit's channels ``TileInputs/width`` at a time, copied channels first (see
    /// ``TileInputs``) and summed with unit stride.
    static func accumulateTiles<X: BatchNormFloat>(
        x: Elements<X>, dout: Elements<X>?, tiles: Tiles, units: Range<Int>,
        training: Bool, scratch: UnsafeMutablePointer<Double>, into sums: UnsafeMutablePointer<ChannelSums>
    ) {
        let tile = TileInputs<X>(hasDout: dout != nil)
        defer { tile.deallocate() }
        let first = tiles.channels.lowerBound, stride = tiles.shape.spatialStride
        for unit in units {
            let (start, rows) = tiles.rows(ofUnit: unit)
            var c = first
            while c < tiles.channels.upperBound {
                let channels = c..<min(c + TileInputs<X>.width, tiles.channels.upperBound)
                tile.load(
                    rows: rows, width: channels.count, x: x + (start + c), dout: dout.map { $0 + (start + c) },
                    stride: stride)
                for (b, channel) in channels.enumerated() {
                    let run = tile.run(b, rows: rows)
                    accumulateTile(
                        x: run.x, dout: run.dout, stride: 1, count: rows, training: training, scratch: scratch,
                        into: &sums[channel - first])
                }
                c = channels.upperBound
            }
        }
    }

    /// Products of two float16 or float32 values are exact in double (at most 48
    /// significant bits, exponents far inside double's range), so they can go through
    /// the vectorized block sums; float64 products take the exact integer route.
    @inline(__always)
    static func productsAreExactInDouble<X: BatchNormFloat>(_: X.Type) -> Bool {
        2 * X.binaryFormat.precision <= 53
    }

    /// Widens `count` values read with `stride` into `buffer`, zero-padded to whole
    /// lanes (zeros change no sum); returns the padded count.
    @inline(__always)
    static func gather<X: BatchNormFloat>(
        _ source: Elements<X>, stride: Int, count: Int,
        into buffer: UnsafeMutablePointer<Double>
    ) -> Int {
        let lanes = BlockSummation.lanes
        var k = 0
        if stride == 1 {
            let raw = source.base
            let target = UnsafeMutableRawPointer(buffer)
            while k + lanes <= count {
                let v = raw.loadUnaligned(fromByteOffset: k * MemoryLayout<X>.stride, as: SIMD8<X>.self)
                target.storeBytes(of: X.widened(v), toByteOffset: k * 8, as: BlockSummation.Lanes.self)
                k += lanes
            }
        }
        while k < count {
            buffer[k] = source[k * stride].exactDouble
            k += 1
        }
        let padded = BlockSummation.paddedCount(count)
        for k in count..<padded { buffer[k] = 0 }
        return padded
    }

    /// The largest magnitude in a padded block, and whether every value is finite
    /// (`v * 0` is NaN exactly for NaN and infinities, and NaN survives any sum).
    @inline(__always)
    static func survey(_ values: UnsafePointer<Double>, count: Int) -> (largest: Double, finite: Bool) {
        let raw = UnsafeRawPointer(values)
        var largest = BlockSummation.Lanes(repeating: 0)
        var probe = BlockSummation.Lanes(repeating: 0)
        var offset = 0
        while offset < count * 8 {
            let v = raw.load(fromByteOffset: offset, as: BlockSummation.Lanes.self)
            let magnitude = v.replacing(with: -v, where: v .< 0)
            largest = largest.replacing(with: magnitude, where: magnitude .> largest)
            probe += v * 0
            offset += BlockSummation.lanes * 8
        }
        var m = 0.0, p = 0.0
        for lane in 0..<BlockSummation.lanes {
            m = Swift.max(m, largest[lane])
            p += probe[lane]
        }
        return (m, !p.isNaN)
    }

    /// Widens a run into `buffer` and surveys it: the padded count, the largest
    /// magnitude, and whether the channel is still finite (a non-finite value is noted
    /// in `tally`, and the channel's exact sums stop there).
    @inline(__always)
    static func load<X: BatchNormFloat>(
        _ source: Elements<X>, stride: Int, count: Int,
        into buffer: UnsafeMutablePointer<Double>, tally: inout NonFiniteTally
    )
        -> (padded: Int, largest: Double, finite: Bool)
    {
        let padded = gather(source, stride: stride, count: count, into: buffer)
        let (largest, finite) = survey(buffer, count: padded)
        if !finite { for k in 0..<count { tally.note(buffer[k]) } }
        return (padded, largest, finite && tally.isFinite)
    }

    /// Adds the exact sum of `a[k] * b[k]`: through the vectorized block sums when the
    /// products are exact doubles (float16 and float32 data), else one by one as exact
    /// integer products.
    @inline(__always)
    static func addProducts(
        _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, count: Int, padded: Int,
        largest: Double, exactInDouble: Bool, scratch: UnsafeMutablePointer<Double>,
        into accumulator: inout ExactAccumulator
    ) {
        if exactInDouble {
            multiply(a, b, count: padded, into: scratch)
            BlockSummation.addExactSum(scratch, count: padded, largest: largest, to: &accumulator)
        } else {
            for k in 0..<count { accumulator.addProduct(a[k], b[k]) }
        }
    }

    /// `target[k] = a[k] * b[k]` over a padded block, in lanes.
    @inline(__always)
    static func multiply(
        _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, count: Int,
        into target: UnsafeMutablePointer<Double>
    ) {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b), rt = UnsafeMutableRawPointer(target)
        var offset = 0
        while offset < count * 8 {
            let product =
                ra.load(fromByteOffset: offset, as: BlockSummation.Lanes.self)
                * rb.load(fromByteOffset: offset, as: BlockSummation.Lanes.self)
            rt.storeBytes(of: product, toByteOffset: offset, as: BlockSummation.Lanes.self)
            offset += BlockSummation.lanes * 8
        }
    }

    @inline(__always)
    static func accumulateTile<X: BatchNormFloat>(
        x: Elements<X>, dout: Elements<X>?, stride: Int,
        count: Int, training: Bool,
        scratch: UnsafeMutablePointer<Double>,
        into sums: inout ChannelSums
    ) {
        if training, OnePassSummation.applies(X.self, stride: stride),
            OnePassSummation.accumulate(x: x, dout: dout, count: count, into: &sums)
        {
            return
        }
        if training, stride != 1, count <= BlockSummation.blockSize,
            accumulateGathered(x: x, dout: dout, stride: stride, count: count, scratch: scratch, into: &sums)
        {
            return
        }
        // The general path works in blocks that fit its scratch.
        let block = BlockSummation.blockSize
        if count > block {
            var start = 0
            while start < count {
                generalBlock(
                    x: x + start * stride, dout: dout.map { $0 + start * stride }, stride: stride,
                    count: min(block, count - start), training: training, scratch: scratch, into: &sums)
                start += block
            }
        } else {
            generalBlock(
                x: x, dout: dout, stride: stride, count: count, training: training, scratch: scratch,
                into: &sums)
        }
    }

    /// A strided run (channels last, and BatchNorm1d's (N, C) read as such) through the
    /// one-pass sums: its values copied, unchanged, next to each other in `scratch`.
    /// Returns false, having added nothing, where the one-pass sums decline the run.
    @inline(__always)
    static func accumulateGathered<X: BatchNormFloat>(
        x: Elements<X>, dout: Elements<X>?, stride: Int, count: Int,
        scratch: UnsafeMutablePointer<Double>,
        into sums: inout ChannelSums
    ) -> Bool {
        guard OnePassSummation.applies(X.self, stride: 1) else { return false }
        let slots = UnsafeMutableRawPointer(scratch), size = MemoryLayout<X>.stride
        let block = BlockSummation.blockSize
        for k in 0..<count { slots.storeBytes(of: x[k &* stride], toByteOffset: k &* size, as: X.self) }
        let gathered = Elements<X>(UnsafeRawPointer(slots))
        guard let dout else { return OnePassSummation.accumulate(x: gathered, dout: nil, count: count, into: &sums) }
        for k in 0..<count {
            slots.storeBytes(of: dout[k &* stride], toByteOffset: (block &+ k) &* size, as: X.self)
        }
        return OnePassSummation.accumulate(x: gathered, dout: gathered + block, count: count, into: &sums)
    }

    /// At most ``BlockSummation/blockSize`` values through the level-by-level extraction.
    @inline(__always)
    static func generalBlock<X: BatchNormFloat>(
        x: Elements<X>, dout: Elements<X>?, stride: Int,
        count: Int, training: Bool,
        scratch: UnsafeMutablePointer<Double>,
        into sums: inout ChannelSums
    ) {
        let block = BlockSummation.blockSize
        let xv = scratch, xx = scratch + block, dv = scratch + 2 * block, xd = scratch + 3 * block
        let exactProducts = productsAreExactInDouble(X.self)
        let (padded, xMax, xOK) = load(x, stride: stride, count: count, into: xv, tally: &sums.xTally)
        if training && xOK {
            addProducts(
                xv, xv, count: count, padded: padded, largest: xMax * xMax, exactInDouble: exactProducts,
                scratch: xx, into: &sums.xx)
        }
        if let dout {
            let (_, dMax, dOK) = load(dout, stride: stride, count: count, into: dv, tally: &sums.doutTally)
            if dOK && xOK {
                addProducts(
                    xv, dv, count: count, padded: padded, largest: xMax * dMax, exactInDouble: exactProducts,
                    scratch: xd, into: &sums.xDout)
            }
            if dOK { BlockSummation.addExactSum(dv, count: padded, largest: dMax, to: &sums.dout) }
        }
        if training && xOK {
            BlockSummation.addExactSum(xv, count: padded, largest: xMax, to: &sums.x)
        }
    }
}
