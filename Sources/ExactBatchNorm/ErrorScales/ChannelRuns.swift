extension BatchNormShape {
    /// Calls `body(start, stride, count)` for every run of channel `c`'s values, in
    /// memory order: a plane of `spatial` contiguous values in channels first, `spatial`
    /// values `channels` apart in channels last. The closure is called once per run, not
    /// per element, so per-element loops stay plain strided loops.
    @inline(__always)
    func forEachRun(ofChannel c: Int, _ body: (_ start: Int, _ stride: Int, _ count: Int) -> Void) {
        guard elementCount > 0 else { return }  // the other dimensions may be huge
        for n in 0..<batch { body(n * batchStride + c * channelStride, spatialStride, spatial) }
    }

    /// Calls `body(channel, lower, upper)` for each maximal piece of the flat positions
    /// `range` that lies in one channel, in order: long pieces in channels first, one
    /// element each in channels last, where consecutive positions are consecutive
    /// channels (found without a division).
    @inline(__always)
    func forEachPiece(in range: Range<Int>, _ body: (_ channel: Int, _ lower: Int, _ upper: Int) -> Void) {
        guard !range.isEmpty else { return }
        if layout == .channelsLast {
            var c = range.lowerBound % channels
            for i in range {
                body(c, i, i + 1)
                c += 1
                if c == channels { c = 0 }
            }
            return
        }
        var i = range.lowerBound
        while i < range.upperBound {
            let plane = i / spatial
            let end = min(range.upperBound, (plane + 1) * spatial)
            body(plane % channels, i, end)
            i = end
        }
    }
}
