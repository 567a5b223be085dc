/// A run of whole elements of an array read in pieces (``NPYArrayStream``), in the
/// order the file stores them: C order, or Fortran order when the header says so.
///
/// The bytes live in the stream's buffer and are valid only during the call that hands
/// the piece over; copy out what must outlive it.
public struct NPYArrayPiece {
    /// The header of the whole array (its dtype as read, bfloat16 when declared so).
    public let header: NPYArrayHeader
    /// The position of the first element here among all of the array's elements, in
    /// storage order.
    public let startIndex: Int
    /// How many elements this piece holds.
    public let count: Int
    /// The elements' raw bytes, in the dtype's byte order, 64-byte aligned.
    public let bytes: UnsafeRawBufferPointer
    /// Where these bytes are, for errors raised while reading them.
    let context: ErrorContext
    /// Set when the stream checked that every bool byte is 0 or 1.
    let booleansAreCanonical: Bool

    public var dtype: NPYDType { header.dtype }

    /// Calls `body` with the elements as `T`, converted as ``NPYArray/elements(as:)``
    /// converts (losslessly, or not at all), but left in storage order: in place when
    /// the bytes already are `T`'s native representation, else through a temporary
    /// buffer the size of this piece.
    public func withElements<T: NPYElement, R>(
        as type: T.Type = T.self, _ body: (UnsafeBufferPointer<T>) throws -> R
    ) throws -> R {
        guard NPYConversion.isLossless(from: dtype, to: T.npyDType) else {
            throw NPYConversion.refusal(from: dtype, to: T.self, context: context)
        }
        let inPlace = dtype == T.npyDType && (T.self != Bool.self || booleansAreCanonical)
        if inPlace, let base = bytes.baseAddress, Int(bitPattern: base) % MemoryLayout<T>.alignment == 0 {
            return try body(UnsafeBufferPointer(start: base.assumingMemoryBound(to: T.self), count: count))
        }
        let converted = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
        defer { converted.deallocate() }
        if let base = bytes.baseAddress, count > 0 {
            T._npyConvert(from: base, dtype: dtype, count: count, into: converted)
        }
        return try body(UnsafeBufferPointer(start: converted, count: count))
    }

    /// The items of a unicode or bytes piece as strings, in storage order, read and
    /// checked as ``NPYArray/strings()`` reads them.
    public func strings() throws -> [String] {
        try asArray().strings(numberingFrom: startIndex)
    }

    /// The items of a bytes (`|S`) piece, in storage order, trailing NULs removed.
    public func byteStrings() throws -> [[UInt8]] {
        try asArray().byteStrings()
    }

    /// This piece as a 1-d array of its own (a copy), whose errors point into the file.
    private func asArray() -> NPYArray {
        let pieceHeader = NPYArrayHeader(dtype: dtype, shape: [count], version: header.version)
        return NPYArray(
            header: pieceHeader, storage: .copying(bytes), dataOffset: 0, checksum: .absent, context: context)
    }
}
