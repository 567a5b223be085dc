#if canImport(Glibc)
import Glibc
#endif
// The reader targets compile this file into NumPyFormat itself; the run target
// (built with -D FUZZ_RUN) imports the library.
#if FUZZ_RUN
import NumPyFormat
#endif

/// Helpers shared by the fuzz entry points (compiled into each target).
enum FuzzSupport {
    /// Reads every element of an accepted array through the typed API, so the fuzzer
    /// also checks that a header the reader accepted describes bytes that really exist.
    static func touch(_ array: NPYArray) {
        var sum: UInt8 = 0
        array.withUnsafeBytes { for b in $0 { sum &+= b } }
        if array.dtype.kind == .float && array.dtype.itemSize == 8 {
            _ = try? array.elements(as: Double.self)
        } else if array.dtype.kind == .float && array.dtype.itemSize == 4 {
            _ = try? array.elements(as: Float.self)
        } else if array.dtype.kind == .bool {
            _ = try? array.elements(as: Bool.self)
        } else if array.dtype.kind.isString {
            _ = try? array.strings()  // code points and UTF-8 checked at offsets
        } else if array.dtype.isTwoByteVoid || array.dtype.kind == .bfloat16 {
            _ = try? array.declaredBFloat16().elements(as: Float.self)
        }
        blackHole = sum
    }

    nonisolated(unsafe) static var blackHole: UInt8 = 0

    nonisolated(unsafe) private static var scratchPath: String?

    /// Writes the input to this process's scratch file (in /dev/shm when there is one,
    /// so it never touches a disk) and returns its path.
    static func scratchFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> String {
        let path =
            scratchPath
            ?? {
                let folder = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
                let made = "\(folder)/npz-fuzz-\(getpid()).npz"
                scratchPath = made
                atexit { if let path = FuzzSupport.scratchPath { unlink(path) } }
                return made
            }()
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "cannot write the fuzz scratch file \(path)")
        var done = 0
        while done < size, let data {
            let n = write(fd, data + done, size - done)
            precondition(n > 0)
            done += n
        }
        close(fd)
        return path
    }
}
