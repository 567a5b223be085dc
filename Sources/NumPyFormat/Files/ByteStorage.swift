import Glibc

/// Memory that array bytes live in: either a kept-alive file mapping or a buffer this
/// library allocated. `NPYArray` holds a reference so the bytes outlive every copy of
/// the array value, and never longer.
final class ByteStorage: @unchecked Sendable {
    // The pointer and count never change and the bytes are never written after the
    // storage is handed out, so sharing across threads is safe.
    private enum Owner {
        case mapping(MappedFile)
        case allocation
    }

    private let owner: Owner
    let base: UnsafeRawPointer?
    let count: Int

    /// Alignment of every buffer this library allocates: enough for any element type
    /// and for SIMD loads, and the same 64 bytes numpy aligns array data to in files.
    static let alignment = 64

    init(mapping: MappedFile) {
        owner = .mapping(mapping)
        base = mapping.base
        count = mapping.count
    }

    private init(allocated pointer: UnsafeMutableRawPointer?, count: Int) {
        owner = .allocation
        base = pointer.map { UnsafeRawPointer($0) }
        self.count = count
    }

    /// Allocates `count` bytes and lets `fill` initialise them before the storage becomes
    /// shared (and therefore immutable). A refused allocation throws `refused()` instead
    /// of trapping: `count` may come from an untrusted header, and running out of memory
    /// on a hostile file must be an error the caller can report, not a crash.
    static func allocate(
        count: Int, refused: () -> NumPyFormatError,
        _ fill: (UnsafeMutableRawBufferPointer) throws -> Void
    ) throws -> ByteStorage {
        var pointer: UnsafeMutableRawPointer? = nil
        if count > 0 {
            guard posix_memalign(&pointer, alignment, count) == 0, pointer != nil else { throw refused() }
        }
        do {
            try fill(UnsafeMutableRawBufferPointer(start: pointer, count: count))
        } catch {
            free(pointer)
            throw error
        }
        return ByteStorage(allocated: pointer, count: count)
    }

    /// A copy of bytes the caller already holds in memory, so the size is not in doubt.
    static func copying(_ bytes: UnsafeRawBufferPointer) -> ByteStorage {
        let refused = {
            NumPyFormatError(.system, file: NPYArray.memoryName, message: "cannot allocate \(bytes.count) bytes")
        }
        do {
            return try allocate(count: bytes.count, refused: refused) { destination in
                if let source = bytes.baseAddress, let target = destination.baseAddress {
                    target.copyMemory(from: source, byteCount: bytes.count)
                }
            }
        } catch {
            // A copy of memory that already exists failing is the ordinary out-of-memory
            // trap every Swift allocation has.
            fatalError("\(error)")
        }
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    var isMapped: Bool {
        if case .mapping = owner { return true }
        return false
    }

    deinit {
        if case .allocation = owner { free(UnsafeMutableRawPointer(mutating: base)) }
    }
}
