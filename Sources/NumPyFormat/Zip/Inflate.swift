import CZlib

/// Inflates a zip member's raw deflate stream into a buffer of exactly its declared size.
///
/// The declared size is the only size trusted: output goes straight into the final
/// buffer (no intermediate copies), and inflation stops with an error the moment the
/// stream would produce more than was declared, so a zip bomb costs at most the
/// declared (and limit-checked) allocation. The CRC is computed on each piece while it
/// is still in cache.
enum Inflate {
    /// Output produced per inflate call; small enough that the CRC pass over it hits cache.
    private static let window = 1 << 20

    /// Returns the CRC-32 of the inflated bytes.
    static func inflate(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
        context: ErrorContext, inputOffset: Int, chunk: Int = zlibMaxChunk
    ) throws -> UInt32 {
        var consumed = 0
        /// Errors point at the compressed byte where inflation stopped.
        func failure(_ message: String) -> NumPyFormatError {
            NumPyFormatError(
                file: context.file, member: context.member, offset: inputOffset + consumed, message: message)
        }
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // zlib's state points back at the z_stream, so it lives on the heap and never moves.
        defer {
            inflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        guard inflateInit2_(stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw failure("cannot initialise zlib inflate")
        }
        var produced = 0
        var crc: UInt32 = 0
        var overflowProbe: UInt8 = 0
        while true {
            let inputPiece = min(chunk, input.count - consumed)
            stream.pointee.next_in = inputPiece == 0
                ? nil : UnsafeMutablePointer(mutating: (input.baseAddress! + consumed).assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(inputPiece)
            let outputPiece = min(window, output.count - produced)
            let result: Int32
            let madeBytes: Int
            if outputPiece > 0 {
                stream.pointee.next_out = (output.baseAddress! + produced).assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(outputPiece)
                result = CZlib.inflate(stream, Z_NO_FLUSH)
                madeBytes = outputPiece - Int(stream.pointee.avail_out)
                crc = CRC32.update(crc, UnsafeRawBufferPointer(start: output.baseAddress! + produced, count: madeBytes))
                produced += madeBytes
            } else {
                // Declared size reached: any further byte is one too many.
                result = withUnsafeMutablePointer(to: &overflowProbe) { probe in
                    stream.pointee.next_out = probe
                    stream.pointee.avail_out = 1
                    return CZlib.inflate(stream, Z_NO_FLUSH)
                }
                madeBytes = 1 - Int(stream.pointee.avail_out)
                if madeBytes > 0 {
                    throw failure(
                        "expected the member to inflate to its declared \(output.count) bytes, "
                            + "but it inflates to more (stopped there: possible zip bomb or lying header)")
                }
            }
            consumed += inputPiece - Int(stream.pointee.avail_in)
            switch result {
            case Z_STREAM_END:
                guard produced == output.count else {
                    throw failure(
                        "expected \(output.count) bytes of inflated data (declared size), "
                            + "but the deflate stream ends after \(produced)")
                }
                guard consumed == input.count else {
                    throw failure(
                        "expected \(input.count) bytes of compressed data (declared size), "
                            + "but the deflate stream ends after \(consumed)")
                }
                return crc
            case Z_OK:
                continue
            case Z_BUF_ERROR where consumed == input.count:
                throw failure(
                    "expected the deflate stream to end within the declared \(input.count) compressed bytes, "
                        + "but it continues (compressed data cut short or size wrong)")
            default:
                let detail = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(result)"
                throw failure("expected valid deflate data, found corruption (\(detail))")
            }
        }
    }
}
