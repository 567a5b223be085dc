/// Whether a loaded array's bytes were checked against a checksum.
public enum NPYChecksumStatus: String, Sendable {
    /// The npz member's CRC-32 matched (a mismatch is an error, never a status).
    case verified
    /// The npz member has a CRC-32 but `NPYReadOptions.verifyCRC` was off.
    case notChecked
    /// The format has no checksum (.npy files, arrays built in memory).
    case absent
}

/// An array read from a file or built in memory: its header and its raw bytes.
///
/// The bytes are either owned or a view into a memory-mapped file that the array keeps
/// mapped for as long as any copy of it lives. Nothing is interpreted until the caller
/// asks for a typed view, and then only through explicit, lossless conversions.
public struct NPYArray: Sendable {
    public let header: NPYArrayHeader
    /// How the bytes were verified when loaded.
    public let checksum: NPYChecksumStatus
    private let storage: ByteStorage
    private let dataOffset: Int
    /// Where these bytes came from, for errors raised during typed access.
    let context: ErrorContext

    init(
        header: NPYArrayHeader, storage: ByteStorage, dataOffset: Int,
        checksum: NPYChecksumStatus, context: ErrorContext
    ) {
        self.header = header
        self.storage = storage
        self.dataOffset = dataOffset
        self.checksum = checksum
        self.context = context
    }

    public var dtype: NPYDType { header.dtype }
    public var shape: [Int] { header.shape }
    public var fortranOrder: Bool { header.fortranOrder }
    /// Always representable: checked against the available bytes when the array was made.
    public var count: Int { header.elementCount! }
    public var byteCount: Int { count * header.dtype.itemSize }

    /// True when the bytes are read in place from a memory-mapped file.
    public var isMemoryMapped: Bool { storage.isMapped }

    /// The raw array data, in the dtype's byte order and the header's layout.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.base.map { $0 + dataOffset }, count: byteCount))
    }

    /// A copy of the raw array data.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    // MARK: Typed access

    /// The elements as `T`, in C (row-major) order, converted where the stored dtype is
    /// not `T`'s native representation: byte-swapped, reordered from Fortran order,
    /// widened. Throws if the conversion could lose information.
    public func elements<T: NPYElement>(as type: T.Type = T.self) throws -> [T] {
        try checkConvertible(to: T.self)
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            convert(into: buffer.baseAddress!)
            initialized = count
        }
    }

    /// Calls `body` with the elements as `T` in C order, without copying when the bytes
    /// already are exactly that: `T`'s native dtype, C order (or a shape where the orders
    /// coincide), suitably aligned. Otherwise converts into a temporary buffer that lives
    /// only for the duration of `body`.
    public func withUnsafeElements<T: NPYElement, R>(
        as type: T.Type = T.self, _ body: (UnsafeBufferPointer<T>) throws -> R
    ) throws -> R {
        try checkConvertible(to: T.self)
        if isDirectlyUsable(as: T.self), let base = storage.base {
            let typed = (base + dataOffset).assumingMemoryBound(to: T.self)
            return try body(UnsafeBufferPointer(start: typed, count: count))
        }
        let temporary = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
        defer { temporary.deallocate() }
        convert(into: temporary)
        return try body(UnsafeBufferPointer(start: temporary, count: count))
    }

    /// Calls `body` with the elements' bytes as native-endian `T` in C order, at
    /// whatever alignment they have in the file: no copy whenever the dtype and order
    /// already match, even when the data is misaligned, as it usually is inside a
    /// numpy-written .npz. For readers that load with `loadUnaligned`.
    public func withUnsafeElementBytes<T: NPYElement, R>(
        as type: T.Type = T.self, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R {
        try checkConvertible(to: T.self)
        if dtype == T.npyDType, !fortranOrder || layoutsCoincide(shape), T.self != Bool.self,
            let base = storage.base
        {
            return try body(UnsafeRawBufferPointer(start: base + dataOffset, count: byteCount))
        }
        return try withUnsafeElements(as: T.self) { try body(UnsafeRawBufferPointer($0)) }
    }

    /// Whether `withUnsafeElements(as: T.self)` will use the stored bytes in place.
    public func isDirectlyUsable<T: NPYElement>(as _: T.Type) -> Bool {
        guard dtype == T.npyDType, !fortranOrder || layoutsCoincide(shape) else { return false }
        // Bools go through `!= 0` unless the bytes were proven to be 0/1 at load time.
        if T.self == Bool.self && !booleansAreCanonical { return false }
        guard let base = storage.base else { return true }
        return Int(bitPattern: base + dataOffset) % MemoryLayout<T>.alignment == 0
    }

    /// The same bytes under another header of the same data size: a view, not a copy.
    func retyped(_ header: NPYArrayHeader) -> NPYArray {
        NPYArray(header: header, storage: storage, dataOffset: dataOffset, checksum: checksum, context: context)
    }

    /// Set when strict bool checking has proven every byte is 0 or 1.
    var booleansAreCanonical: Bool { dtype.kind == .bool && validatedBooleans }
    var validatedBooleans: Bool = false

    private func checkConvertible<T: NPYElement>(to _: T.Type) throws {
        guard NPYConversion.isLossless(from: dtype, to: T.npyDType) else {
            throw NPYConversion.refusal(from: dtype, to: T.self, context: context)
        }
    }

    /// Fills `destination` with all elements in C order. Conversion must have been checked.
    private func convert<T: NPYElement>(into destination: UnsafeMutablePointer<T>) {
        let count = self.count
        guard count > 0, let base = storage.base else { return }
        let source = UnsafeRawPointer(base + dataOffset)
        let reorder = fortranOrder && !layoutsCoincide(shape)
        let sameBytes = dtype == T.npyDType && T.self != Bool.self
        if !reorder {
            if sameBytes {
                UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: byteCount)
            } else {
                T._npyConvert(from: source, dtype: dtype, count: count, into: destination)
            }
            return
        }
        let fortran = UnsafeMutablePointer<T>.allocate(capacity: count)
        defer { fortran.deallocate() }
        if sameBytes {
            UnsafeMutableRawPointer(fortran).copyMemory(from: source, byteCount: byteCount)
        } else {
            T._npyConvert(from: source, dtype: dtype, count: count, into: fortran)
        }
        copyFortranToC(fortran, destination, shape: shape)
    }
}

// MARK: Building arrays in memory

extension NPYArray {
    /// Stands for the file name in errors about arrays that never were in a file.
    public static let memoryName = "(in memory)"

    /// An array holding a copy of `bytes`, which must be exactly the data `header`
    /// describes (in its dtype's byte order and its layout).
    public init(header: NPYArrayHeader, copying bytes: UnsafeRawBufferPointer) throws {
        let context = ErrorContext(file: Self.memoryName)
        let expected = try Self.checkedByteCount(header, context: context)
        guard bytes.count == expected else {
            throw context.error(
                .invalidRequest,
                "expected \(expected) bytes for shape \(pythonTuple(header.shape)) of \(header.dtype.descr), "
                    + "got \(bytes.count)")
        }
        self.init(
            header: header, storage: .copying(bytes), dataOffset: 0, checksum: .absent, context: context)
        if header.dtype.kind == .bool {
            try NPYBooleans.validate(self)
            validatedBooleans = true
        }
    }

    public init(header: NPYArrayHeader, bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { try NPYArray(header: header, copying: $0) }
    }

    /// An array of `T`'s native dtype holding a copy of `elements`, laid out in C order
    /// (or Fortran order if `fortranOrder`, in which case `elements` must already be in
    /// that order).
    public init<T: NPYElement>(
        copying elements: UnsafeBufferPointer<T>, shape: [Int], fortranOrder: Bool = false
    ) throws {
        let header = NPYArrayHeader(dtype: T.npyDType, shape: shape, fortranOrder: fortranOrder)
        try self.init(header: header, copying: UnsafeRawBufferPointer(elements))
    }

    public init<T: NPYElement>(_ elements: [T], shape: [Int], fortranOrder: Bool = false) throws {
        self = try elements.withUnsafeBufferPointer {
            try NPYArray(copying: $0, shape: shape, fortranOrder: fortranOrder)
        }
    }

    /// A 1-d array of `elements`.
    public init<T: NPYElement>(_ elements: [T]) throws {
        try self.init(elements, shape: [elements.count])
    }

    /// Validates a header that is about to be written or filled, returning its data size.
    static func checkedByteCount(_ header: NPYArrayHeader, context: ErrorContext) throws -> Int {
        guard header.shape.count <= NPYArrayHeader.maxRank else {
            throw context.error(
                .invalidRequest, "expected at most \(NPYArrayHeader.maxRank) dimensions, got \(header.shape.count)")
        }
        if let negative = header.shape.first(where: { $0 < 0 }) {
            throw context.error(
                .invalidRequest, "expected non-negative dimensions, got \(negative) in \(pythonTuple(header.shape))")
        }
        guard ArraySizeLimit.nonzeroBytes(shape: header.shape, itemSize: header.dtype.itemSize) != nil,
            let bytes = header.byteCount
        else {
            throw context.error(.invalidRequest, ArraySizeLimit.refusal(shape: header.shape, dtype: header.dtype))
        }
        return bytes
    }

    /// Parses NPY bytes held by `storage` (a whole .npy file, or one npz member's payload)
    /// into an array that views them in place.
    static func parse(
        storage: ByteStorage, checksum: NPYChecksumStatus, options: NPYReadOptions, context: ErrorContext
    ) throws -> NPYArray {
        try parse(
            view: storage, offset: 0, count: storage.count, checksum: checksum, options: options, context: context)
    }

    /// Parses the NPY bytes at `offset..<offset+count` of `storage` (a stored member
    /// inside a mapped archive); `context.base` is the file offset of `offset`.
    static func parse(
        view storage: ByteStorage, offset: Int, count: Int, checksum: NPYChecksumStatus,
        options: NPYReadOptions, context: ErrorContext
    ) throws -> NPYArray {
        let bytes = UnsafeRawBufferPointer(rebasing: storage.bytes[offset..<(offset + count)])
        let parsed = try NPYReader.parse(bytes, options: options, context: context)
        var array = NPYArray(
            header: parsed.header, storage: storage, dataOffset: offset + parsed.dataOffset,
            checksum: checksum,
            context: ErrorContext(
                file: context.file, member: context.member, base: context.base + parsed.dataOffset,
                offsetSpace: context.offsetSpace))
        if parsed.header.dtype.kind == .bool && options.strictBooleans {
            try NPYBooleans.validate(array)
            array.validatedBooleans = true
        }
        return array
    }
}

/// numpy writes bools as single bytes 0 and 1. Any other byte is corruption or a
/// mislabelled dtype, and must not reach a Swift `Bool` unconverted.
enum NPYBooleans {
    static func validate(_ array: NPYArray) throws {
        try array.withUnsafeBytes { bytes in
            if let bad = bytes.firstIndex(where: { $0 > 1 }) {
                throw array.context.error(
                    .corruptData,
                    at: bad, "expected bool byte 0 or 1, found 0x\(hex(bytes[bad], digits: 2))")
            }
        }
    }
}
