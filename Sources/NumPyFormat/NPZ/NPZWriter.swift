/// Writes an .npz archive one array at a time, so arrays never need to be in memory
/// together and each one is written straight from the caller's buffer.
///
/// Each array `x` becomes member `x.npy` whose payload is exactly what `np.save` writes.
/// Stored members' data is aligned to 64 bytes in the file (padding in a local-header
/// extra field), so readers that map the file get aligned arrays. Deflated members are
/// streamed and their local header is patched afterwards, which needs a seekable output.
/// Writing into a temporary file and renaming it is the caller's business.
///
/// bfloat16 arrays are written as `<V2`, as ml_dtypes saves them, and `finish()` adds
/// the `bfloat16` member that declares them (`NPZBFloat16Declaration`), unless the
/// caller added an array of that name itself.
public final class NPZWriter {
    public let options: NPZWriteOptions
    var output: FileOutput
    private let ownsDescriptor: Bool
    var entries: [ZipEntry] = []
    var arrayNames: Set<String> = []
    /// bfloat16 arrays in the order added, for the declaration `finish()` writes.
    var bfloat16Names: [String] = []
    private var state: State = .open

    private enum State { case open, finished, failed }

    /// Creates (or truncates) `path`; `finish()` closes it.
    public init(path: String, options: NPZWriteOptions = NPZWriteOptions()) throws {
        self.options = options
        output = try FileOutput.create(path: path, writesBehind: options.writesBehind)
        ownsDescriptor = true
    }

    /// Writes to a descriptor the caller owns and closes, starting at its current
    /// position. `name` stands for the file in errors.
    public init(fileDescriptor: Int32, name: String, options: NPZWriteOptions = NPZWriteOptions()) {
        self.options = options
        output = FileOutput(fd: fileDescriptor, name: name, writesBehind: options.writesBehind)
        ownsDescriptor = false
    }

    deinit {
        if ownsDescriptor && state != .finished { try? output.close() }
    }

    /// Adds an array as member `name.npy`, written as `options.compression` says.
    public func add(_ name: String, _ array: NPYArray) throws {
        try add(name, array, compression: options.compression)
    }

    /// Adds an array as member `name.npy`, written as `compression` says.
    public func add(_ name: String, _ array: NPYArray, compression: NPZCompression) throws {
        try array.withUnsafeBytes { try add(name, header: array.header, data: $0, compression: compression) }
    }

    /// Adds elements of `T`'s native dtype, laid out per `fortranOrder`, without copying
    /// them, written as `options.compression` says.
    public func add<T: NPYElement>(
        _ name: String, elements: UnsafeBufferPointer<T>, shape: [Int], fortranOrder: Bool = false
    ) throws {
        try add(name, elements: elements, shape: shape, fortranOrder: fortranOrder, compression: options.compression)
    }

    /// Adds elements of `T`'s native dtype, laid out per `fortranOrder`, without copying
    /// them, written as `compression` says.
    public func add<T: NPYElement>(
        _ name: String, elements: UnsafeBufferPointer<T>, shape: [Int], fortranOrder: Bool = false,
        compression: NPZCompression
    ) throws {
        let header = NPYArrayHeader(dtype: T.npyDType, shape: shape, fortranOrder: fortranOrder)
        try add(name, header: header, data: UnsafeRawBufferPointer(elements), compression: compression)
    }

    /// Adds raw data described by `header` (in its dtype's byte order and its layout),
    /// written as `options.compression` says.
    public func add(_ name: String, header: NPYArrayHeader, data: UnsafeRawBufferPointer) throws {
        try add(name, header: header, data: data, compression: options.compression)
    }

    /// Adds raw data described by `header` (in its dtype's byte order and its layout),
    /// written as `compression` says.
    public func add(
        _ name: String, header: NPYArrayHeader, data: UnsafeRawBufferPointer, compression: NPZCompression
    ) throws {
        let (memberName, expected) = try admit(name, header)
        guard data.count == expected else {
            throw ErrorContext(file: output.name, member: memberName).error(
                .invalidRequest,
                "expected \(expected) bytes of data for shape \(pythonTuple(header.shape)) "
                    + "of \(header.dtype.descr), got \(data.count)")
        }
        let npyHeader = NPYFile.encodeHeader(header)
        try failing {
            try npyHeader.withUnsafeBytes { headerBytes in
                let payload = [headerBytes, data]
                if let level = compression.level {
                    try writeDeflated(memberName, payload, level: level)
                } else {
                    try writeStored(memberName, payload)
                }
            }
        }
    }

    /// Checks a new member's name and header; returns its member name and data size.
    func admit(_ name: String, _ header: NPYArrayHeader) throws -> (memberName: String, size: Int) {
        let memberName = name + ".npy"
        let context = ErrorContext(file: output.name, member: memberName)
        guard state == .open else {
            throw context.error(
                .invalidRequest, state == .finished ? "the archive is already finished" : "an earlier write failed")
        }
        guard !name.isEmpty, !name.utf8.contains(0), memberName.utf8.count <= Int(UInt16.max) else {
            throw context.error(.invalidRequest, "expected a non-empty array name without NUL bytes, under 64 KiB")
        }
        guard arrayNames.insert(name).inserted else {
            throw context.error(.invalidRequest, "expected unique array names, but '\(name)' was already added")
        }
        let size = try NPYArray.checkedByteCount(header, context: context)
        if header.dtype.kind == .bfloat16 { bfloat16Names.append(name) }
        return (memberName, size)
    }

    /// Writes `entry.crc` into its local header, which went out before the data.
    func patchCRC(_ entry: ZipEntry) throws {
        var bytes: [UInt8] = []
        appendLE(entry.crc, to: &bytes)
        try output.patch(bytes, at: ZipWriter.crcOffset(entry))
    }

    /// Runs `body`; if it throws, the archive is left failed (no further writes).
    func failing(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            state = .failed
            throw error
        }
    }

    /// Writes the central directory and end records; closes the file if this writer opened it.
    public func finish() throws {
        guard state == .open else {
            throw NumPyFormatError(
                .invalidRequest,
                file: output.name,
                message: state == .finished ? "the archive is already finished" : "an earlier write failed")
        }
        guard !entries.isEmpty else {
            // An empty zip is valid, but readers (this one included) refuse empty npz files.
            throw NumPyFormatError(
                .invalidRequest, file: output.name, message: "expected at least one array before finishing")
        }
        let declaration = NPZBFloat16Declaration.arrayName
        if !bfloat16Names.isEmpty && !arrayNames.contains(declaration) {
            try add(
                declaration, try NPYArray(strings: bfloat16Names, shape: [bfloat16Names.count]), compression: .stored)
        }
        do {
            let directoryOffset = output.position
            var directory: [UInt8] = []
            for entry in entries { directory += ZipWriter.centralRecord(entry) }
            directory += ZipWriter.endRecords(
                entryCount: entries.count, directoryOffset: directoryOffset, directorySize: directory.count)
            try output.write(directory)
            state = .finished
            if ownsDescriptor { try output.close() }
        } catch {
            state = .failed
            throw error
        }
    }

    private func writeStored(_ memberName: String, _ payload: [UnsafeRawBufferPointer]) throws {
        let size = payload.reduce(0) { $0 + $1.count }
        let crc = payload.reduce(UInt32(0)) { CRC32.update($0, $1) }
        let entry = ZipEntry(
            writing: memberName, method: 0, crc: crc, compressedSize: size,
            uncompressedSize: size, localHeaderOffset: output.position)
        try output.write(ZipWriter.localHeader(entry, zip64: size > ZipWriter.zip64Threshold, align: true))
        for part in payload { try output.write(part) }
        entries.append(entry)
    }

    /// Streams the payload through deflate, computing the CRC on each slice just before
    /// it is compressed (while it is in cache), then patches CRC and compressed size into
    /// the local header.
    private func writeDeflated(_ memberName: String, _ payload: [UnsafeRawBufferPointer], level: DeflateLevel) throws {
        let size = payload.reduce(0) { $0 + $1.count }
        let deflater = try Deflater(level: level, name: output.name)
        let zip64 = max(size, deflater.bound(size)) > ZipWriter.zip64Threshold
        var entry = ZipEntry(
            writing: memberName, method: 8, crc: 0, compressedSize: 0,
            uncompressedSize: size, localHeaderOffset: output.position)
        try output.write(ZipWriter.localHeader(entry, zip64: zip64, align: false))
        let dataStart = output.position
        var crc: UInt32 = 0
        let slice = 1 << 20
        for part in payload {
            var offset = 0
            while offset < part.count {
                let piece = UnsafeRawBufferPointer(rebasing: part[offset..<min(part.count, offset + slice)])
                crc = CRC32.update(crc, piece)
                try deflater.compress(piece) { try output.write($0) }
                offset += piece.count
            }
        }
        try deflater.finish { try output.write($0) }
        entry.crc = crc
        entry.compressedSize = output.position - dataStart
        if !zip64 && entry.compressedSize > ZipWriter.zip64Threshold {
            throw NumPyFormatError(
                .system,
                file: output.name, member: memberName, offset: dataStart,
                message: "compressed size \(entry.compressedSize) exceeded zlib's bound; cannot record it")
        }
        try patchCRC(entry)
        var sizeBytes: [UInt8] = []
        if zip64 {
            appendLE(UInt64(entry.compressedSize), to: &sizeBytes)
        } else {
            appendLE(UInt32(entry.compressedSize), to: &sizeBytes)
        }
        try output.patch(sizeBytes, at: ZipWriter.compressedSizeOffset(entry, zip64: zip64))
        entries.append(entry)
    }
}
