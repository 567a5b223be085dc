/// Options for writing .npz archives.
public struct NPZWriteOptions: Sendable {
    /// How members are written unless an `add` call says otherwise.
    public var compression: NPZCompression
    /// Whether the archive's data is handed to the device while it is being written:
    /// for callers that `fsync` the file when it is complete, as an atomic output does.
    /// The flush then waits for the last blocks only, not for every byte, and the
    /// device works while the data is still being computed. Durability still comes
    /// from the caller's `fsync` alone: this starts writes, it does not wait for them,
    /// and a file system that cannot take the hint simply does not get it. Off by
    /// default, since an archive nobody flushes would be sent to the device sooner,
    /// and so more often, than the kernel would send it.
    public var writesBehind: Bool

    public init(compression: NPZCompression = .stored, writesBehind: Bool = false) {
        self.compression = compression
        self.writesBehind = writesBehind
    }
}

/// How an .npz member is written: stored as it is, as `np.savez` writes, or deflated, as
/// `np.savez_compressed` writes.
public struct NPZCompression: Sendable, Hashable {
    /// The deflate level, or nil for stored.
    public let level: DeflateLevel?

    /// Zip method 0: the bytes as they are, which readers can map in place.
    public static let stored = NPZCompression(level: nil)

    /// Zip method 8 at deflate's default level, numpy's choice.
    public static let deflated = NPZCompression(level: .default)

    /// Zip method 8 at `level`.
    public static func deflated(level: DeflateLevel) -> NPZCompression {
        NPZCompression(level: level)
    }

    /// How a reader will find the member stored.
    public var storage: NPZStorage { level == nil ? .stored : .deflated }
}

/// How hard deflate works: 0 (framing only, no compression) to 9 (smallest output,
/// slowest). Every level writes a stream any inflater reads; only size and speed differ.
public struct DeflateLevel: Sendable, Hashable, Comparable {
    /// 0 to 9.
    public let value: Int

    /// nil unless `value` is 0 to 9.
    public init?(_ value: Int) {
        guard (0...9).contains(value) else { return nil }
        self.value = value
    }

    private init(checked value: Int) { self.value = value }

    /// Level 1.
    public static let fastest = DeflateLevel(checked: 1)
    /// Level 6, zlib's default and so Python's zipfile's and numpy's.
    public static let `default` = DeflateLevel(checked: 6)
    /// Level 9.
    public static let smallest = DeflateLevel(checked: 9)

    public static func < (a: DeflateLevel, b: DeflateLevel) -> Bool { a.value < b.value }
}
