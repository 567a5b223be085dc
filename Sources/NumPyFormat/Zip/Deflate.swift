import CZlib

/// A raw deflate stream (no zlib or gzip wrapper, as zip requires) that hands its
/// output to a sink in large pieces.
///
/// Settings match what `np.savez_compressed` gets from Python's zipfile: the default
/// level (`DeflateLevel.default`, zlib's 6), 15-bit window, memory level 8. Same
/// settings, same zlib, so the speed is zlib's speed; everything around it avoids copies.
final class Deflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutableRawBufferPointer
    private let name: String
    private static let outputSize = 1 << 20

    init(level: DeflateLevel, name: String) throws {
        self.name = name
        // zlib's state points back at the z_stream, so it lives on the heap and never
        // moves. Both buffers are stored last, once zlib has taken the stream: a throw
        // before that runs no deinit, so nothing is freed twice.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = deflateInit2_(
            stream, Int32(level.value), Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
            Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw NumPyFormatError(
                .system, file: name, message: "cannot initialise zlib deflate (level \(level.value))")
        }
        self.stream = stream
        output = .allocate(byteCount: Self.outputSize, alignment: 16)
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        output.deallocate()
    }

    /// Upper bound on the compressed size of `count` bytes, for deciding up front
    /// whether a member needs ZIP64 fields.
    func bound(_ count: Int) -> Int {
        // deflateBound takes a uLong (64-bit here) so it needs no chunking.
        Int(deflateBound(stream, uLong(count)))
    }

    /// Compresses `input`, passing full output buffers to `sink`.
    /// `chunk` as in ``CRC32/update(_:_:chunk:)``.
    func compress(
        _ input: UnsafeRawBufferPointer, chunk: Int = zlibMaxChunk,
        sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var offset = 0
        while offset < input.count {
            let n = min(chunk, input.count - offset)
            stream.pointee.next_in = UnsafeMutablePointer(
                mutating: (input.baseAddress! + offset).assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(n)
            while stream.pointee.avail_in > 0 {
                try step(flush: Z_NO_FLUSH, sink: sink)
            }
            offset += n
        }
    }

    /// Ends the stream, passing the remaining output to `sink`.
    func finish(sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        while try !step(flush: Z_FINISH, sink: sink) {}
    }

    /// One deflate call into the output buffer; returns true at stream end.
    @discardableResult
    private func step(flush: Int32, sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let status = deflate(stream, flush)
        guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
            throw NumPyFormatError(.system, file: name, message: "zlib deflate failed with status \(status)")
        }
        let made = output.count - Int(stream.pointee.avail_out)
        if made > 0 { try sink(UnsafeRawBufferPointer(rebasing: output[0..<made])) }
        return status == Z_STREAM_END
    }
}
