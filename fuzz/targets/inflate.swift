/// libFuzzer entry for the inflate path on its own: the first two bytes give the
/// declared inflated size (up to 64 KiB), the rest is the raw deflate stream. Inflate
/// must fill exactly the declared bytes or throw, whatever the stream holds.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInflate(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size >= 2 else { return 0 }
    let declared = Int(data[0]) | Int(data[1]) << 8
    let input = UnsafeRawBufferPointer(start: data + 2, count: size - 2)
    let output = UnsafeMutableRawBufferPointer.allocate(byteCount: max(declared, 1), alignment: 64)
    defer { output.deallocate() }
    do {
        let crc = try Inflate.inflate(
            input, into: UnsafeMutableRawBufferPointer(rebasing: output[0..<declared]),
            context: ErrorContext(file: "fuzz.zip", member: "x.npy"), inputOffset: 0)
        // A successful inflate must report the CRC of exactly the bytes it produced.
        precondition(crc == CRC32.checksum(UnsafeRawBufferPointer(rebasing: output[0..<declared])))
    } catch is NumPyFormatError {
    } catch {
        fatalError("inflate threw a non-NumPyFormatError: \(error)")
    }
    return 0
}
