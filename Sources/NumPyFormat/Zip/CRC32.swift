import CFoldedCRC
import CZlib
import Dispatch

/// zlib's crc32 takes a 32-bit length, so buffers over 4 GiB must be fed in pieces; one
/// GiB pieces keep every call far from that edge. Shared by every zlib call here.
let zlibMaxChunk = 1 << 30

/// The CRC-32 zip uses (zlib's `crc32`), over buffers of any size.
///
/// Checking the CRC is most of the cost of reading a stored member (the data itself is
/// memory-mapped, not copied), and zlib's table-driven CRC runs at about 3.5 GB/s here.
/// Where the processor has carry-less multiplication, whole 16-byte blocks go through
/// ``bn_crc32_folded`` instead, several times faster; large buffers are also split
/// between threads and the pieces' CRCs joined with zlib's `crc32_combine`, which is
/// exact (CRCs of concatenations are linear in the pieces' CRCs). zlib takes the odd
/// tail bytes, and everything on processors without the instructions.
enum CRC32 {
    static let foldingAvailable = bn_crc32_folded_available() != 0
    /// Below this a buffer is not worth splitting between threads.
    static let parallelThreshold = 8 << 20

    /// `chunk` is the largest piece handed to zlib at once; tests make it small to run
    /// the over-4-GiB path on small buffers, and then zlib does all the work.
    static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer, chunk: Int = zlibMaxChunk) -> UInt32 {
        guard bytes.baseAddress != nil else { return crc }
        if chunk != zlibMaxChunk || bytes.count < parallelThreshold { return serial(crc, bytes, chunk: chunk) }
        let parts = min(Platform.processorCount, bytes.count / (parallelThreshold / 2))
        guard parts > 1 else { return serial(crc, bytes, chunk: chunk) }
        // Piece boundaries on 64-byte multiples keep every piece on the folded path.
        let pieceSize = (bytes.count / parts) & ~63
        var pieceCRCs = [UInt32](repeating: 0, count: parts)
        pieceCRCs.withUnsafeMutableBufferPointer { results in
            // Each worker reads its own piece and writes its own result slot.
            nonisolated(unsafe) let out = results.baseAddress!
            nonisolated(unsafe) let data = bytes.baseAddress!
            let total = bytes.count
            DispatchQueue.concurrentPerform(iterations: parts) { i in
                let start = i * pieceSize, end = i == parts - 1 ? total : start + pieceSize
                let piece = UnsafeRawBufferPointer(start: data + start, count: end - start)
                out[i] = serial(i == 0 ? crc : 0, piece, chunk: chunk)
            }
        }
        var value = uLong(pieceCRCs[0])
        for i in 1..<parts {
            let length = i == parts - 1 ? bytes.count - i * pieceSize : pieceSize
            value = crc32_combine(value, uLong(pieceCRCs[i]), .init(length))
        }
        return UInt32(truncatingIfNeeded: value)
    }

    /// One thread: whole 16-byte blocks folded where possible, the rest through zlib.
    static func serial(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer, chunk: Int) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        var value = crc
        var offset = 0
        let blocks = bytes.count & ~15
        if foldingAvailable && chunk == zlibMaxChunk && blocks >= 64 {
            value = bn_crc32_folded(value, base.assumingMemoryBound(to: UInt8.self), blocks)
            offset = blocks
        }
        var z = uLong(value)
        while offset < bytes.count {
            let n = min(chunk, bytes.count - offset)
            z = crc32(z, (base + offset).assumingMemoryBound(to: Bytef.self), uInt(n))
            offset += n
        }
        return UInt32(truncatingIfNeeded: z)
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        update(0, bytes)
    }
}
