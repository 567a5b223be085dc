/// The bytes of one payload, an npz member's .npy bytes or a whole .npy file, read front
/// to back into buffers the caller provides, with their CRC-32.
///
/// Memory stays bounded whatever the payload's size: a deflated member is inflated a
/// buffer at a time (``Inflater``, which holds it to its declared sizes), a stored one
/// copied out a buffer at a time, and the mapped pages behind the reader are handed back
/// to the kernel as it passes them (`MappedFile.releasePages`), so neither compressed
/// nor stored bytes pile up in the process.
final class PayloadReader {
    private enum Source {
        case stored
        case deflated(Inflater)
    }

    /// Bytes the reader passes before it releases the pages behind it.
    private static let releaseStride = 8 << 20

    private let file: MappedFile
    private let source: Source
    /// Where the payload's stored or compressed bytes start in the file.
    private let start: Int
    /// The payload's size: its stored size, or its declared inflated size.
    let count: Int
    /// Payload bytes read so far.
    private(set) var position = 0
    private var storedCRC: UInt32 = 0
    /// The file offset below which pages have been released.
    private var released: Int

    /// The CRC-32 of the bytes read so far.
    var crc: UInt32 {
        if case .deflated(let inflater) = source { return inflater.crc }
        return storedCRC
    }

    /// The stored bytes `range` of `file`.
    init(file: MappedFile, stored range: Range<Int>) {
        self.file = file
        source = .stored
        start = range.lowerBound
        count = range.count
        released = range.lowerBound
    }

    /// The deflated bytes `range` of `file`, declared to inflate to `declaredSize`.
    init(file: MappedFile, deflated range: Range<Int>, declaredSize: Int, context: ErrorContext) throws {
        self.file = file
        let input = UnsafeRawBufferPointer(rebasing: file.bytes[range])
        source = .deflated(
            try Inflater(input, declaredSize: declaredSize, context: context, inputOffset: range.lowerBound))
        start = range.lowerBound
        count = declaredSize
        released = range.lowerBound
    }

    /// Fills `buffer` with the next bytes and returns how many: all of it unless the
    /// payload ends first, 0 at its end. Reaching the end of a deflated payload checks
    /// that its stream ends there too.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let wanted = min(buffer.count, count - position)
        let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted])
        var fileOffset: Int
        switch source {
        case .stored:
            let bytes = UnsafeRawBufferPointer(rebasing: file.bytes[(start + position)..<(start + position + wanted)])
            if wanted > 0 { target.copyMemory(from: bytes) }
            storedCRC = CRC32.update(storedCRC, bytes)
            position += wanted
            fileOffset = start + position
        case .deflated(let inflater):
            position += try inflater.inflate(into: target)
            if position == count { try inflater.finish() }
            fileOffset = start + inflater.consumed
        }
        if fileOffset - released >= Self.releaseStride || position == count {
            if position == count { fileOffset = max(fileOffset, released) }
            file.releasePages(released..<fileOffset)
            released = fileOffset
        }
        return wanted
    }

    /// Reads and discards the rest of the payload through `buffer` (for its CRC and,
    /// when deflated, its stream checks).
    func skipToEnd(through buffer: UnsafeMutableRawBufferPointer) throws {
        while try read(into: buffer) > 0 {}
    }
}
