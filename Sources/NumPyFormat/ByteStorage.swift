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
    /// shared (and therefore immutable).
    static func allocate(
        count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Void
    ) rethrows -> ByteStorage {
        let pointer =
            count == 0 ? nil : UnsafeMutableRawPointer.allocate(byteCount: count, alignment: alignment)
        do {
            try fill(UnsafeMutableRawBufferPointer(start: pointer, count: count))
        } catch {
            pointer?.deallocate()
            throw error
        }
        return ByteStorage(allocated: pointer, count: count)
    }

    static func copying(_ bytes: UnsafeRawBufferPointer) -> ByteStorage {
        allocate(count: bytes.count) { destination in
            if let source = bytes.baseAddress, let target = destination.baseAddress {
                target.copyMemory(from: source, byteCount: bytes.count)
            }
        }
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    var isMapped: Bool {
        if case .mapping = owner { return true }
        return false
    }

    deinit {
        if case .allocation = owner, let base { UnsafeMutableRawPointer(mutating: base).deallocate() }
    }
}
