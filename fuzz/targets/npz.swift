#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer entry for the .npz container reader: end-record search, ZIP64 records,
/// central directory, local headers and data descriptors, then every member's load
/// (CRC, inflate, NPY parse).
///
/// `NPZArchive` reads by memory-mapping a path, so each input is written to one
/// per-process scratch file first; that costs a few microseconds and keeps the fuzzed
/// code exactly the code `bnfile` runs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPZ(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let path = FuzzSupport.scratchFile(data, size)
    // Small limits so a declared-huge member is refused rather than allocated: the
    // fuzzer's RSS limit would otherwise report the (correct) big allocation as a leak.
    var options = NPYReadOptions()
    options.maxBytes = 1 << 24
    do {
        let archive = try NPZArchive(path: path, options: options)
        for name in archive.names {
            FuzzSupport.touch(try archive.array(named: name))
        }
    } catch is NumPyFormatError {
    } catch {
        fatalError("NPZ reader threw a non-NumPyFormatError: \(error)")
    }
    return 0
}
