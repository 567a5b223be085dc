/// A row-major shape split as `outer x channels x inner` around one axis: the loop
/// bounds of a comparison pass. (Not ExactBatchNorm's `ChannelLayout`, which names
/// where the channel axis of a batch-norm tensor is.)
///
/// Element `i` lies in channel `(i / inner) % channels`. The scans take it a run of one
/// channel at a time (`forEachRun`), so long runs cost one division each and the
/// per-channel figures are updated once per run, not per element.
/// Without a channel axis the whole array is one "channel" and the loops degenerate.
struct ChannelSplit: Sendable {
    let outer: Int
    let channels: Int
    let inner: Int
    /// The resolved axis, nil when there is no channel breakdown.
    let axis: Int?

    /// `axis` may be negative, counting from the end as numpy does (so -1 selects the
    /// channel of a channels-last tensor); anything outside `-rank..<rank` means "no
    /// per-channel breakdown" rather than an error, because a default axis of 1 is
    /// meaningless for 0-d and 1-d arrays (dbeta, running_mean) and should just be skipped.
    /// An empty array has no breakdown either: with a zero dimension its others may be
    /// huge (shape (0, 2^40)), and loops or per-channel counters over them would be work
    /// and memory spent on nothing.
    init(shape: [Int], axis requested: Int?) {
        let total = elementCount(of: shape)
        let rank = shape.count
        guard let requested, requested >= -rank, requested < rank, total > 0 else {
            self.init(outer: 1, channels: 1, inner: total, axis: nil)
            return
        }
        let axis = requested < 0 ? requested + rank : requested
        let inner = shape[(axis + 1)...].reduce(1, *)
        let outer = shape[..<axis].reduce(1, *)
        self.init(outer: outer, channels: shape[axis], inner: inner, axis: axis)
    }

    private init(outer: Int, channels: Int, inner: Int, axis: Int?) {
        self.outer = outer
        self.channels = channels
        self.inner = inner
        self.axis = axis
    }

    /// The number of channels that have figures of their own: 0 without an axis.
    var breakdownCount: Int { axis == nil ? 0 : channels }

    /// The channel of flat position `i`.
    @inline(__always)
    func channel(of i: Int) -> Int { inner == 0 ? 0 : (i / inner) % channels }

    /// Whether the non-empty `range` lies in one channel's run.
    @inline(__always)
    func isOneRun(_ range: Range<Int>) -> Bool {
        inner == 0 || range.lowerBound / inner == (range.upperBound - 1) / inner
    }

    /// Channels last (`inner` 1): calls `body(channel, lower, upper)` for each maximal
    /// piece of `range` whose positions are consecutive channels, `lower` in `channel`,
    /// `lower + 1` in `channel + 1` and so on, in order; so that per-channel figures are
    /// updated from per-element ones as two arrays side by side.
    @inline(__always)
    func forEachRow(in range: Range<Int>, _ body: (_ channel: Int, _ lower: Int, _ upper: Int) -> Void) {
        var i = range.lowerBound
        while i < range.upperBound {
            let channel = i % channels
            let end = min(range.upperBound, i + (channels - channel))
            body(channel, i, end)
            i = end
        }
    }

    /// Calls `body(channel, lower, upper)` for each maximal piece of `range` that lies in
    /// one channel, in order. Channels last (`inner` 1) gives one piece per element,
    /// found without a division.
    @inline(__always)
    func forEachRun(in range: Range<Int>, _ body: (_ channel: Int, _ lower: Int, _ upper: Int) -> Void) {
        guard !range.isEmpty else { return }
        if inner == 1 {
            var channel = range.lowerBound % channels
            for i in range {
                body(channel, i, i + 1)
                channel += 1
                if channel == channels { channel = 0 }
            }
            return
        }
        var i = range.lowerBound
        while i < range.upperBound {
            let run = i / inner
            let end = min(range.upperBound, (run + 1) * inner)
            body(run % channels, i, end)
            i = end
        }
    }
}

/// Zeroed memory for counters that a scan updates in its inner loops: a Swift array held
/// in a value would be checked for uniqueness on every increment.
final class Counters<T: BitwiseCopyable>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    let count: Int

    init(count: Int, zero: T) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: zero, count: max(count, 1))
    }

    deinit { pointer.deallocate() }

    var values: [T] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}
