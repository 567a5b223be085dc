/// Reading and writing single-array .npy files.
public enum NPYFile {
    /// Reads an .npy file by mapping it: the returned array's bytes are the file's pages,
    /// kept mapped for as long as the array lives.
    public static func read(path: String, options: NPYReadOptions = NPYReadOptions()) throws -> NPYArray {
        let file = try MappedFile(path: path)
        return try NPYArray.parse(
            storage: ByteStorage(mapping: file), checksum: .absent, options: options,
            context: ErrorContext(file: path))
    }

    /// Reads .npy bytes already in memory; `name` stands for the file in error messages.
    public static func read(
        bytes: [UInt8], name: String = NPYArray.memoryName, options: NPYReadOptions = NPYReadOptions()
    ) throws -> NPYArray {
        let storage = bytes.withUnsafeBytes { ByteStorage.copying($0) }
        return try NPYArray.parse(
            storage: storage, checksum: .absent, options: options, context: ErrorContext(file: name))
    }

    /// Reads only the header of an .npy file (the data must still all be present).
    public static func readHeader(path: String, options: NPYReadOptions = NPYReadOptions()) throws -> NPYArrayHeader {
        let file = try MappedFile(path: path)
        return try NPYReader.parse(file.bytes, options: options, context: ErrorContext(file: path)).header
    }

    /// The header bytes `np.save` writes for `header` (magic through the newline before
    /// the data), choosing the lowest version that fits. `header.version` is ignored.
    public static func encodeHeader(_ header: NPYArrayHeader) -> [UInt8] {
        NPYHeaderEncoder.encode(header).bytes
    }

    /// The complete .npy encoding of an array.
    public static func encode(_ array: NPYArray) -> [UInt8] {
        var bytes = encodeHeader(array.header)
        array.withUnsafeBytes { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Writes an .npy file, as `np.save` would.
    public static func write(_ array: NPYArray, to path: String) throws {
        try array.withUnsafeBytes { try write(header: array.header, data: $0, to: path) }
    }

    /// Writes an .npy file from a header and data the caller holds (no copy is made):
    /// the header bytes, then the data in a single write.
    public static func write(header: NPYArrayHeader, data: UnsafeRawBufferPointer, to path: String) throws {
        let expected = try NPYArray.checkedByteCount(header, context: ErrorContext(file: path))
        guard data.count == expected else {
            throw NumPyFormatError(
                .invalidRequest,
                file: path,
                message: "expected \(expected) bytes of data for shape \(pythonTuple(header.shape)) "
                    + "of \(header.dtype.descr), got \(data.count)")
        }
        var output = try FileOutput.create(path: path)
        do {
            try output.write(encodeHeader(header))
            try output.write(data)
        } catch {
            try? output.close()
            throw error
        }
        try output.close()
    }
}
