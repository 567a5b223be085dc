/// A row-major shape split as `outer x channels x inner` around one axis: the loop
/// bounds of a comparison pass. (Not ExactBatchNorm's `ChannelLayout`, which names
/// where the channel axis of a batch-norm tensor is.)
///
/// Walking the flat buffer as three nested loops gives each element's channel for free
/// (no division per element), which keeps the scan of 10^7 values a single cheap pass.
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
}
