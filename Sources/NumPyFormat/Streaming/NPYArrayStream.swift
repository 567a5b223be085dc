/// An array read front to back in pieces, in memory bounded by the piece size whatever
/// the array's size, stored or deflated: `NPZArchive.arrayStream(named:)` and
/// `NPYFile.arrayStream(path:options:declaringBFloat16:)` make one.
///
/// Making the stream reads only the .npy header (from the payload's first bytes) and
/// checks it as ``NPZArchive/array(named:)`` would. ``forEachPiece(maxBytes:_:)`` then
/// hands over the elements in storage order, a buffer at a time: a deflated member is
/// inflated a buffer at a time, the CRC-32 is kept running over every byte, bool bytes
/// are checked as they pass, and the mapped pages already read are given back.
///
/// The first pass checks everything a whole read checks, and reports what it finds in
/// the same order with the same messages: a broken deflate stream at once; then a CRC
/// mismatch, which outranks every other finding because nothing else about corrupt bytes
/// is worth saying; then the header's, the bool bytes' or the consumer's own error. So
/// a finding before the end is held until the rest of the payload has been read for its
/// CRC. Each further pass reads the bytes again from the file (inflating them again)
/// without the CRC, for consumers that need two passes, such as a variance after a mean.
public final class NPYArrayStream {
    /// The bytes of one piece when the caller does not say.
    public static let defaultPieceSize = 4 << 20

    /// The array's header, with its dtype as read (bfloat16 where declared so).
    public let header: NPYArrayHeader
    /// `.verified` once a pass has ended without a CRC mismatch, if the CRC is checked.
    public let checksum: NPYChecksumStatus
    private let source: Source
    private let dataOffset: Int
    private let dataCount: Int
    /// Where the data starts, for errors about bool bytes and strings.
    private let dataContext: ErrorContext
    private let validatesBooleans: Bool
    /// The payload the header was read from, and the data bytes its prefix already held.
    private var pending: (payload: PayloadReader, leftover: [UInt8])?
    private var passes = 0

    /// How the payload is read, and what its CRC must be.
    struct Source {
        var open: () throws -> PayloadReader
        /// The CRC-32 to check on the first pass, or nil.
        var expectedCRC: UInt32?
        var mismatch: (_ found: UInt32) -> NumPyFormatError
    }

    /// Reads the header from `source`'s payload; `retype` turns the header read into the
    /// one the caller gets (a bfloat16 declaration), with errors in the data's context.
    init(
        _ source: Source, checksum: NPYChecksumStatus, options: NPYReadOptions, context: ErrorContext,
        retype: (NPYArrayHeader, ErrorContext) throws -> NPYArrayHeader
    ) throws {
        let payload = try source.open()
        var prefix = [UInt8](repeating: 0, count: min(payload.count, NPYReader.longestPrefix(options: options)))
        _ = try prefix.withUnsafeMutableBytes { try payload.read(into: $0) }
        do {
            let parsed = try prefix.withUnsafeBytes {
                try NPYReader.parse($0, totalCount: payload.count, options: options, context: context)
            }
            dataContext = ErrorContext(
                file: context.file, member: context.member, base: context.base + parsed.dataOffset,
                offsetSpace: context.offsetSpace)
            header = try retype(parsed.header, dataContext)
            dataOffset = parsed.dataOffset
            dataCount = parsed.dataCount
        } catch {
            try Self.finishWithCRC(payload, source, expected: source.expectedCRC, through: nil)
            throw error
        }
        self.source = source
        self.checksum = checksum
        validatesBooleans = header.dtype.kind == .bool && options.strictBooleans
        pending = (payload, Array(prefix[min(dataOffset, prefix.count)...]))
    }

    /// Hands `body` the elements in pieces of at most `maxBytes` (but at least one
    /// element, and all of them when items have no bytes), in storage order; see the
    /// type's description for what is checked and when errors are reported. Each call
    /// is one pass over the data; only the first checks the CRC.
    public func forEachPiece(maxBytes: Int = defaultPieceSize, _ body: (NPYArrayPiece) throws -> Void) throws {
        try pass(maxBytes: maxBytes, delivering: true, body)
    }

    /// Reads the array through once, unless a pass already has, so that its CRC and its
    /// bool bytes are checked even when no element is wanted.
    public func verify() throws {
        guard passes == 0 else { return }
        try pass(maxBytes: Self.defaultPieceSize, delivering: validatesBooleans) { _ in }
    }

    /// One pass over the payload; pieces go to `body` only when `delivering`.
    private func pass(maxBytes: Int, delivering: Bool, _ body: (NPYArrayPiece) throws -> Void) throws {
        // A piece holds whole elements; a pass that delivers none needs no element room.
        let itemSize = header.dtype.itemSize
        let capacity = !delivering || itemSize == 0 ? max(64, maxBytes) : max(1, maxBytes / itemSize) * itemSize
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: ByteStorage.alignment)
        defer { buffer.deallocate() }
        let (payload, leftover) = try takePayload(through: buffer)
        let expected = passes == 0 ? source.expectedCRC : nil
        var finding: Error? = nil
        if delivering {
            do {
                try deliver(from: payload, leftover: leftover, through: buffer, to: body)
            } catch let failure as PayloadFailure {
                throw failure.underlying
            } catch {
                finding = error
            }
        }
        try Self.finishWithCRC(payload, source, expected: expected, through: buffer)
        if let finding { throw finding }
        passes += 1
    }

    /// Reads the data into `buffer` a piece at a time and hands each piece to `body`.
    private func deliver(
        from payload: PayloadReader, leftover: [UInt8], through buffer: UnsafeMutableRawBufferPointer,
        to body: (NPYArrayPiece) throws -> Void
    ) throws {
        let itemSize = header.dtype.itemSize
        guard itemSize > 0 else {
            return try body(
                piece(
                    UnsafeRawBufferPointer(start: buffer.baseAddress, count: 0), at: 0,
                    count: header.elementCount ?? 0))
        }
        var delivered = 0
        var leftoverUsed = 0
        while delivered < dataCount {
            let wanted = min(buffer.count, dataCount - delivered)
            let fromLeftover = min(wanted, leftover.count - leftoverUsed)
            leftover[leftoverUsed..<(leftoverUsed + fromLeftover)].withUnsafeBytes {
                UnsafeMutableRawBufferPointer(rebasing: buffer[0..<fromLeftover]).copyMemory(from: $0)
            }
            leftoverUsed += fromLeftover
            do {
                _ = try payload.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[fromLeftover..<wanted]))
            } catch {
                throw PayloadFailure(underlying: error)
            }
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<wanted])
            try checkBooleans(bytes, at: delivered)
            try body(piece(bytes, at: delivered, count: wanted / itemSize))
            delivered += wanted
        }
    }

    private func piece(_ bytes: UnsafeRawBufferPointer, at byteOffset: Int, count: Int) -> NPYArrayPiece {
        let itemSize = header.dtype.itemSize
        var context = dataContext
        context.base += byteOffset
        return NPYArrayPiece(
            header: header, startIndex: itemSize == 0 ? 0 : byteOffset / itemSize, count: count, bytes: bytes,
            context: context, booleansAreCanonical: validatesBooleans)
    }

    /// numpy writes bools as single bytes 0 and 1; any other byte is refused, as
    /// `NPYBooleans` refuses it in a whole array.
    private func checkBooleans(_ bytes: UnsafeRawBufferPointer, at byteOffset: Int) throws {
        guard validatesBooleans, let bad = bytes.firstIndex(where: { $0 > 1 }) else { return }
        throw dataContext.error(
            .corruptData, at: byteOffset + bad, "expected bool byte 0 or 1, found 0x\(hex(bytes[bad], digits: 2))")
    }

    /// The payload positioned at the first data byte: the one the header came from on
    /// the first pass, a new one (its header bytes skipped) on every later pass.
    private func takePayload(through buffer: UnsafeMutableRawBufferPointer) throws -> (PayloadReader, [UInt8]) {
        if let pending {
            self.pending = nil
            return pending
        }
        let payload = try source.open()
        var skipped = 0
        while skipped < dataOffset {
            let piece = min(buffer.count, dataOffset - skipped)
            skipped += try payload.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<piece]))
        }
        return (payload, [])
    }

    /// Reads what is left of `payload` (for its CRC and its stream's checks) and checks
    /// the CRC against `expected`.
    private static func finishWithCRC(
        _ payload: PayloadReader, _ source: Source, expected: UInt32?, through buffer: UnsafeMutableRawBufferPointer?
    ) throws {
        let scratch = buffer ?? .allocate(byteCount: defaultPieceSize, alignment: ByteStorage.alignment)
        defer { if buffer == nil { scratch.deallocate() } }
        try payload.skipToEnd(through: scratch)
        if let expected, payload.crc != expected { throw source.mismatch(payload.crc) }
    }
}

/// An error reading the payload itself (a broken deflate stream), which is reported at
/// once, unlike findings about the bytes read.
private struct PayloadFailure: Error {
    var underlying: Error
}
