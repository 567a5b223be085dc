/// numpy's fixed-width string dtypes: unicode (`<U4`, `>U4`) and bytes (`|S4`, `S4`).
///
/// A unicode item of n characters is n UTF-32 code units in the dtype's byte order, 4n
/// bytes; a bytes item of n characters is n bytes and has no byte order. Both are padded
/// with NULs, which numpy strips from the end when it hands an item to Python. `<U0` and
/// `|S0` (items of no bytes) are legal: numpy reads them as empty strings.
extension NPYDType {
    /// numpy keeps item sizes in a C int; a wider string dtype is not one numpy can make,
    /// and is refused before any size arithmetic could overflow.
    static let maxStringItemSize = Int(Int32.max)

    /// Characters per item: code units for unicode, bytes for bytes strings.
    public var stringLength: Int? {
        switch kind {
        case .unicode: itemSize / 4
        case .bytes: itemSize
        default: nil
        }
    }

    /// A unicode dtype of `characters` code units in the given byte order.
    public static func unicode(characters: Int, byteOrder: ByteOrder = .native) throws(NumPyFormatError) -> NPYDType {
        guard characters >= 0, characters <= maxStringItemSize / 4 else {
            throw NumPyFormatError(
                .unsupported, "unsupported unicode length \(characters) (at most \(maxStringItemSize / 4))")
        }
        return try NPYDType(kind: .unicode, itemSize: 4 * characters, byteOrder: byteOrder)
    }

    /// Checks a string or void item size (void takes any width, as bytes strings do).
    static func checkStringItemSize(_ kind: Kind, _ itemSize: Int) throws(NumPyFormatError) {
        let unit = kind == .unicode ? 4 : 1
        guard itemSize >= 0, itemSize <= maxStringItemSize, itemSize % unit == 0 else {
            throw NumPyFormatError(
                .unsupported,
                "unsupported item size \(itemSize) for kind \(kind.rawValue) "
                    + "(a multiple of \(unit) from 0 to \(maxStringItemSize))")
        }
    }

    /// Parses the part of a descr after its byte-order character, for the letters S, a
    /// (numpy's deprecated alias of S) and U. Bytes strings take any order character or
    /// none, as numpy does; unicode needs `<`, `>` or `=`, like every multi-byte type.
    static func stringDType(
        descr: String, letter: Character, sizeText: Substring, order: ByteOrder?, noOrder: Bool
    ) throws(NumPyFormatError) -> NPYDType {
        guard !sizeText.isEmpty, sizeText.count <= 10, sizeText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let length = Int(sizeText)
        else {
            throw NumPyFormatError(
                .malformed, "unknown dtype descr '\(descr)' (expected a length after '\(letter)', e.g. '<U4')")
        }
        guard letter == "U" else {
            guard length <= maxStringItemSize else {
                throw NumPyFormatError(.malformed, "string dtype '\(descr)' is wider than numpy allows")
            }
            return NPYDType(uncheckedKind: .bytes, itemSize: length, byteOrder: .notApplicable)
        }
        guard length <= maxStringItemSize / 4 else {
            throw NumPyFormatError(.malformed, "string dtype '\(descr)' is wider than numpy allows")
        }
        guard let order, !noOrder else {
            throw NumPyFormatError(
                .malformed,
                "dtype descr '\(descr)' has no byte order ('<' or '>') but its characters are 4 bytes")
        }
        return NPYDType(uncheckedKind: .unicode, itemSize: 4 * length, byteOrder: order)
    }
}
