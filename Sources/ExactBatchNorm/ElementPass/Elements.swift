/// Read-only elements of type `X` at any byte alignment.
///
/// Arrays inside an .npz written by numpy start wherever the zip headers end, so their
/// float32 data is usually not 4-byte aligned. Reading through unaligned loads (which
/// cost nothing extra on x86-64 and ARM64) lets the engine work on the memory-mapped
/// file as it is, instead of copying every input into aligned memory first.
struct Elements<X: BatchNormFloat>: @unchecked Sendable {
    let base: UnsafeRawPointer

    init(_ base: UnsafeRawPointer) { self.base = base }

    @inline(__always)
    subscript(index: Int) -> X {
        base.loadUnaligned(fromByteOffset: index * MemoryLayout<X>.stride, as: X.self)
    }

    @inline(__always)
    static func + (elements: Elements, offset: Int) -> Elements {
        Elements(elements.base + offset * MemoryLayout<X>.stride)
    }
}
