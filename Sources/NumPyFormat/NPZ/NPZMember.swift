/// How an npz member's bytes are kept in the archive.
public enum NPZStorage: String, Sendable {
    /// Zip method 0, as `np.savez` writes: readable in place from the mapped file.
    case stored
    /// Zip method 8, as `np.savez_compressed` writes.
    case deflated
}

/// What the central directory says about one array, available without loading it.
public struct NPZMember: Sendable, Hashable {
    /// The array name: the member name without its `.npy` suffix, as numpy names keys.
    public let name: String
    /// The zip member name, e.g. `x.npy`.
    public let memberName: String
    public let storage: NPZStorage
    public let compressedSize: Int
    /// Size of the member's .npy payload (header and data).
    public let uncompressedSize: Int
    /// The CRC-32 the archive declares for the payload.
    public let crc32: UInt32
    public let localHeaderOffset: Int
    /// File offset of the member's (stored or compressed) payload.
    public let dataOffset: Int

    /// numpy's array name for a member: `x.npy` is `x`; names without the suffix stand as they are.
    static func arrayName(forMember member: String) -> String {
        member.hasSuffix(".npy") ? String(member.dropLast(4)) : member
    }
}
