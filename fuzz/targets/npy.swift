/// libFuzzer entry for the .npy reader: the preamble, the header-length field, the
/// Python-literal header parser and the dtype/shape/size checks, then a typed read of
/// whatever array survives.
///
/// Built by `make fuzz` together with the NumPyFormat sources in one module, so the
/// internal parser is reachable without a public testing hook. Any thrown
/// `NumPyFormatError` is a correct rejection; a crash, a sanitizer report or another
/// error type is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPYHeader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    do {
        let array = try NPYFile.read(bytes: bytes, name: "fuzz.npy")
        FuzzSupport.touch(array)
    } catch is NumPyFormatError {
    } catch {
        fatalError("NPY reader threw a non-NumPyFormatError: \(error)")
    }
    return 0
}
