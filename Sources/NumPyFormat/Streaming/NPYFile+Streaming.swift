extension NPYFile {
    /// The array of the .npy file at `path` as a stream of pieces (``NPYArrayStream``),
    /// read in bounded memory whatever its size. With `declaringBFloat16`, an array of
    /// raw bytes (void) is read as bfloat16, as ``NPYArray/declaredBFloat16()`` reads it.
    public static func arrayStream(
        path: String, options: NPYReadOptions = NPYReadOptions(), declaringBFloat16: Bool = false
    ) throws -> NPYArrayStream {
        let file = try MappedFile(path: path)
        let source = NPYArrayStream.Source(
            open: { PayloadReader(file: file, stored: 0..<file.count) }, expectedCRC: nil,
            mismatch: { _ in preconditionFailure("an .npy file has no CRC to mismatch") })
        return try NPYArrayStream(
            source, checksum: .absent, options: options, context: ErrorContext(file: path),
            retype: { header, dataContext in
                declaringBFloat16 && header.dtype.kind == .void
                    ? try header.declaredBFloat16(context: dataContext) : header
            })
    }
}
