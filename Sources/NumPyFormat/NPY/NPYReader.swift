/// The fixed start of every .npy file.
let npyMagic: [UInt8] = [0x93] + Array("NUMPY".utf8)
/// Magic plus the two version bytes.
let npyPreambleSize = 8

/// Reads and validates an NPY preamble and header from bytes that may come from an
/// untrusted file. Every length is checked against the bytes that exist before it is
/// used, so a lying header costs nothing but an error.
enum NPYReader {
    struct Parsed {
        var header: NPYArrayHeader
        /// Offset of the first data byte, relative to the parsed bytes.
        var dataOffset: Int
        var dataCount: Int
    }

    /// The longest prefix `parse` can need: magic, version, a 4-byte length and the
    /// longest header text `options` accept.
    static func longestPrefix(options: NPYReadOptions) -> Int {
        npyPreambleSize + 4 + max(0, options.maxHeaderSize)
    }

    /// Parses the header at the start of `bytes`, the first bytes of a payload of
    /// `totalCount` bytes (all of it when nil). A prefix of at least
    /// `min(totalCount, longestPrefix(options:))` bytes is enough: the data itself is
    /// only counted, never read, so a payload read in pieces is checked exactly as a
    /// whole one, with the same messages.
    static func parse(
        _ bytes: UnsafeRawBufferPointer, totalCount: Int? = nil, options: NPYReadOptions, context: ErrorContext
    ) throws -> Parsed {
        let total = totalCount ?? bytes.count
        let version = try readPreamble(bytes, context: context)
        let (textStart, declared) = try headerTextExtent(
            bytes, totalCount: total, version: version, options: options, context: context)
        let text = Array(bytes[textStart..<(textStart + declared)])
        let textContext = ErrorContext(
            file: context.file, member: context.member, base: context.base + textStart,
            offsetSpace: context.offsetSpace)
        try checkEncoding(text, version: version, context: textContext)
        let (dtype, shape, fortran) = try NPYHeaderFields.decode(text, context: textContext)
        let header = NPYArrayHeader(dtype: dtype, shape: shape, fortranOrder: fortran, version: version)
        let dataOffset = textStart + declared
        let shapeText = pythonTuple(shape)
        guard ArraySizeLimit.nonzeroBytes(shape: shape, itemSize: dtype.itemSize) != nil,
            let dataCount = header.byteCount
        else {
            throw textContext.error(.malformed, at: 0, ArraySizeLimit.refusal(shape: shape, dtype: dtype))
        }
        let dataAvailable = total - dataOffset
        guard dataCount <= dataAvailable else {
            throw context.error(
                .truncated(expected: dataCount, found: dataAvailable),
                at: total,
                "expected \(dataCount) bytes of array data for shape \(shapeText) of \(dtype.descr), "
                    + "found \(dataAvailable): the data is cut short")
        }
        return Parsed(header: header, dataOffset: dataOffset, dataCount: dataCount)
    }

    /// Where the header text starts and its declared length, checked against the
    /// `totalCount` bytes that exist and against `options.maxHeaderSize`.
    private static func headerTextExtent(
        _ bytes: UnsafeRawBufferPointer, totalCount total: Int, version: NPYVersion, options: NPYReadOptions,
        context: ErrorContext
    ) throws -> (start: Int, length: Int) {
        let lengthSize = version.headerLengthFieldSize
        let textStart = npyPreambleSize + lengthSize
        guard total >= textStart else {
            throw context.error(
                .truncated(expected: textStart, found: total),
                at: npyPreambleSize,
                "expected a \(lengthSize)-byte header length (version \(version)), "
                    + "but the data ends after \(total) bytes")
        }
        let declared =
            lengthSize == 2
            ? Int(readLE(UInt16.self, bytes, at: npyPreambleSize))
            : Int(readLE(UInt32.self, bytes, at: npyPreambleSize))
        let available = total - textStart
        guard declared <= available else {
            throw context.error(
                .truncated(expected: declared, found: available),
                at: npyPreambleSize,
                "expected \(declared) bytes of header text (declared length), "
                    + "but only \(available) remain: the file is cut inside the header")
        }
        guard declared <= options.maxHeaderSize else {
            throw context.error(
                .limitExceeded(.maxHeaderSize, maximum: options.maxHeaderSize, found: declared),
                at: npyPreambleSize,
                "expected a header of at most \(options.maxHeaderSize) bytes (maxHeaderSize), found \(declared)")
        }
        return (textStart, declared)
    }

    /// Checks magic and version, reporting a short file as cut rather than as bad magic
    /// when every byte that is present matches.
    static func readPreamble(_ bytes: UnsafeRawBufferPointer, context: ErrorContext) throws -> NPYVersion {
        let present = min(bytes.count, npyMagic.count)
        for i in 0..<present where bytes[i] != npyMagic[i] {
            throw context.error(
                .wrongFormat,
                at: 0,
                "expected magic \\x93NUMPY of an .npy file, found \(escape(bytes[0..<present]))")
        }
        guard bytes.count >= npyPreambleSize else {
            throw context.error(
                .truncated(expected: npyPreambleSize, found: bytes.count),
                at: bytes.count,
                "expected the 8-byte magic and version, but the data ends after \(bytes.count) bytes")
        }
        let version = NPYVersion(major: bytes[6], minor: bytes[7])
        guard NPYVersion.all.contains(version) else {
            throw context.error(.unsupported, at: 6, "expected NPY version 1.0, 2.0 or 3.0, found \(version)")
        }
        return version
    }

    /// Versions 1 and 2 are latin-1 and numpy only ever writes ASCII there; version 3
    /// exists solely to allow UTF-8, so it must be valid UTF-8.
    private static func checkEncoding(_ text: [UInt8], version: NPYVersion, context: ErrorContext) throws {
        if version < .v3 {
            if let bad = text.firstIndex(where: { $0 >= 0x80 }) {
                throw context.error(
                    .malformed,
                    at: bad,
                    "expected ASCII header text in a version \(version) file, "
                        + "found byte 0x\(hex(text[bad], digits: 2)) (only version 3.0 headers may hold UTF-8)")
            }
            return
        }
        var iterator = text.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var position = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): position += scalar.count
            case .emptyInput: return
            case .error:
                throw context.error(
                    .malformed,
                    at: position,
                    "expected UTF-8 header text in a version 3.0 file, "
                        + "found invalid byte 0x\(hex(text[position], digits: 2))")
            }
        }
    }
}

/// Little-endian load at any alignment; file formats make no alignment promises.
@inline(__always)
func readLE<T: FixedWidthInteger & BitwiseCopyable>(
    _: T.Type, _ bytes: UnsafeRawBufferPointer, at offset: Int
) -> T {
    T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
}

/// Bytes as a Python-style escaped string for messages: printable ASCII stays, others
/// become `\xNN`.
func escape<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    if bytes.isEmpty { return "nothing (empty data)" }
    var out = ""
    for b in bytes {
        if b >= 0x20 && b < 0x7f && b != UInt8(ascii: "\\") {
            out.append(Character(Unicode.Scalar(b)))
        } else {
            out += "\\x" + hex(b, digits: 2)
        }
    }
    return out
}
