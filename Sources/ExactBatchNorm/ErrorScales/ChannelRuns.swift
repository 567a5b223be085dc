extension BatchNormShape {
    /// Calls `body(channel, start, stride, count)` for every run of one channel's
    /// values: a plane of `spatial` contiguous values in channels first, `spatial`
    /// values `channels` apart in channels last. Every element is visited exactly once,
    /// runs in memory order of their starts, so per-element loops stay plain strided loops
    /// and the closure is called once per run, not per element.
    @inline(__always)
    func forEachChannelRun(_ body: (_ channel: Int, _ start: Int, _ stride: Int, _ count: Int) -> Void) {
        guard elementCount > 0 else { return }  // the other dimensions may be huge
        for n in 0 ..< batch {
            for c in 0 ..< channels {
                body(c, n * batchStride + c * channelStride, spatialStride, spatial)
            }
        }
    }
}
