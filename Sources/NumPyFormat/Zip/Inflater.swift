import CZlib

/// A raw deflate stream (no zlib or gzip wrapper, as zip requires) inflated piece by
/// piece into buffers the caller provides, held to the member's declared sizes.
///
/// Output never goes past `declaredSize`: once that many bytes are out, one more byte
/// of output is an error (a lying header or a zip bomb), and the stream must then end
/// exactly at the last of its `input.count` compressed bytes. The CRC-32 of the output
/// is kept as it is produced, a window at a time, while each window is in cache. A
/// whole member (``Inflate``) and a member read in pieces (`PayloadReader`) both come
/// through here, so both refuse the same streams with the same messages.
final class Inflater {
    /// Output produced per zlib call; small enough that the CRC pass over it hits cache.
    private static let window = 1 << 20

    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeRawBufferPointer
    private let declaredSize: Int
    private let context: ErrorContext
    private let inputOffset: Int
    private let chunk: Int
    /// Compressed bytes taken so far.
    private(set) var consumed = 0
    /// Inflated bytes produced so far.
    private(set) var produced = 0
    /// The CRC-32 of the bytes produced so far.
    private(set) var crc: UInt32 = 0
    /// Set once the stream ended where the declared sizes say it must.
    private(set) var isFinished = false

    /// `input` is the member's compressed bytes, which start at `inputOffset` in the
    /// file; `chunk` as in ``CRC32/update(_:_:chunk:)``.
    init(
        _ input: UnsafeRawBufferPointer, declaredSize: Int, context: ErrorContext, inputOffset: Int,
        chunk: Int = zlibMaxChunk
    ) throws {
        self.input = input
        self.declaredSize = declaredSize
        self.context = context
        self.inputOffset = inputOffset
        self.chunk = chunk
        // zlib's state points back at the z_stream, so it lives on the heap and never
        // moves. It is stored last, once zlib has taken it: a throw before that runs no deinit.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard inflateInit2_(stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw ErrorContext(file: context.file, member: context.member)
                .error(.system, at: inputOffset, "cannot initialise zlib inflate")
        }
        self.stream = stream
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Fills `output` with the next inflated bytes and returns how many it holds: all of
    /// it, unless the declared size is reached first (then the rest of the declared bytes).
    func inflate(into output: UnsafeMutableRawBufferPointer) throws -> Int {
        var made = 0
        while made < output.count && produced < declaredSize && !isFinished {
            let room = min(Self.window, output.count - made, declaredSize - produced)
            let piece = UnsafeMutableRawBufferPointer(rebasing: output[made..<(made + room)])
            let result = step(into: piece)
            let count = room - Int(stream.pointee.avail_out)
            crc = CRC32.update(crc, UnsafeRawBufferPointer(rebasing: piece[0..<count]))
            produced += count
            made += count
            try handle(result)
        }
        return made
    }

    /// Requires the stream to end now that every declared byte is out: not one byte
    /// more of output, and every compressed byte used. Call once `inflate` has
    /// produced the declared size.
    func finish() throws {
        var probe: UInt8 = 0
        while !isFinished {
            let result = withUnsafeMutableBytes(of: &probe) { step(into: $0) }
            if stream.pointee.avail_out == 0 {
                throw failure(
                    .hostile,
                    "expected the member to inflate to its declared \(declaredSize) bytes, "
                        + "but it inflates to more (stopped there: possible zip bomb or lying header)")
            }
            try handle(result)
        }
    }

    /// One zlib call from the next compressed bytes (at most `chunk`) into `output`.
    private func step(into output: UnsafeMutableRawBufferPointer) -> Int32 {
        let inputPiece = min(chunk, input.count - consumed)
        stream.pointee.next_in =
            inputPiece == 0
            ? nil : UnsafeMutablePointer(mutating: (input.baseAddress! + consumed).assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(inputPiece)
        stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let result = CZlib.inflate(stream, Z_NO_FLUSH)
        consumed += inputPiece - Int(stream.pointee.avail_in)
        return result
    }

    /// What a zlib result means for a member of the declared sizes.
    private func handle(_ result: Int32) throws {
        switch result {
        case Z_STREAM_END:
            guard produced == declaredSize else {
                throw failure(
                    .truncated(expected: declaredSize, found: produced),
                    "expected \(declaredSize) bytes of inflated data (declared size), "
                        + "but the deflate stream ends after \(produced)")
            }
            guard consumed == input.count else {
                throw failure(
                    .inconsistent,
                    "expected \(input.count) bytes of compressed data (declared size), "
                        + "but the deflate stream ends after \(consumed)")
            }
            isFinished = true
        case Z_OK:
            return
        case Z_BUF_ERROR where consumed == input.count:
            throw failure(
                .truncated(expected: declaredSize, found: produced),
                "expected the deflate stream to end within the declared \(input.count) compressed bytes, "
                    + "but it continues (compressed data cut short or size wrong)")
        default:
            let detail = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(result)"
            throw failure(.corruptData, "expected valid deflate data, found corruption (\(detail))")
        }
    }

    /// Errors point at the compressed byte where inflation stopped.
    private func failure(_ kind: NumPyFormatError.Kind, _ message: String) -> NumPyFormatError {
        NumPyFormatError(
            kind, file: context.file, member: context.member, offset: inputOffset + consumed, message: message)
    }
}
