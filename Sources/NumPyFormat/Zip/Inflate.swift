/// Inflates a zip member's raw deflate stream into a buffer of exactly its declared size.
///
/// The declared size is the only size trusted: output goes straight into the final
/// buffer (no intermediate copies), and inflation stops with an error the moment the
/// stream would produce more than was declared, so a zip bomb costs at most the
/// declared (and limit-checked) allocation. The CRC is computed on each piece while it
/// is still in cache. ``Inflater`` does the work; a member read in pieces uses it too.
enum Inflate {
    /// Returns the CRC-32 of the inflated bytes. `output.count` is the declared size.
    static func inflate(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
        context: ErrorContext, inputOffset: Int, chunk: Int = zlibMaxChunk
    ) throws -> UInt32 {
        let inflater = try Inflater(
            input, declaredSize: output.count, context: context, inputOffset: inputOffset, chunk: chunk)
        _ = try inflater.inflate(into: output)
        try inflater.finish()
        return inflater.crc
    }
}
