/// A row-major shape seen as `outer x channels x inner` around one axis.
///
/// Walking the flat buffer as three nested loops gives each element's channel for free
/// (no division per element), which keeps the scan of 10^7 values a single cheap pass.
/// Without a channel axis the whole array is one "channel" and the loops degenerate.
struct ChannelLayout: Sendable {
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

/// The multi-dimensional (row-major, C order) index of a flat position, which is what a
/// user types into `x[...]` to look at the element in Python.
public func multiIndex(ofFlat flat: Int, shape: [Int]) -> [Int] {
    var index = [Int](repeating: 0, count: shape.count)
    var remainder = flat
    for axis in shape.indices.reversed() where shape[axis] > 0 {
        index[axis] = remainder % shape[axis]
        remainder /= shape[axis]
    }
    return index
}

/// The number of elements of `shape`: zero as soon as one dimension is zero, without
/// multiplying the others, which may then be too large to multiply (shape (0, 2^62, 4)).
func elementCount(of shape: [Int]) -> Int {
    shape.contains(0) ? 0 : shape.reduce(1, *)
}
