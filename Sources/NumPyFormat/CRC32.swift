import CZlib

/// zlib's crc32 takes a 32-bit length, so buffers over 4 GiB must be fed in pieces; one
/// GiB pieces keep every call far from that edge. Shared by every zlib call here.
let zlibMaxChunk = 1 << 30

/// The CRC-32 zip uses (zlib's `crc32`), over buffers of any size.
enum CRC32 {
    /// `chunk` is the largest piece handed to zlib at once; only tests make it small,
    /// to run the over-4-GiB path on small buffers.
    static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer, chunk: Int = zlibMaxChunk) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        var value = uLong(crc)
        var offset = 0
        while offset < bytes.count {
            let n = min(chunk, bytes.count - offset)
            value = crc32(value, (base + offset).assumingMemoryBound(to: Bytef.self), uInt(n))
            offset += n
        }
        return UInt32(truncatingIfNeeded: value)
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        update(0, bytes)
    }
}
