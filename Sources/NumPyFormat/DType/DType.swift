/// A numpy element type restricted to what this library can hold without Python:
/// booleans, integers, IEEE floats and complex numbers, in either byte order,
/// fixed-width strings (unicode `<U4`, bytes `|S4`), raw bytes (void, `<V2`), and
/// bfloat16, which a file stores as `<V2` and declares some other way (see
/// `BFloat16DType.swift`).
///
/// numpy spells these as a `descr` string, `<f4`: a byte-order character, a kind letter
/// and a size. The size counts bytes, except for unicode, where it counts characters
/// (UTF-32 code units of 4 bytes each): `<U4` has items of 16 bytes. Object (`|O`),
/// datetime and structured dtypes are refused when parsing because their bytes cannot
/// be interpreted without numpy itself (object arrays are pickles, which means
/// arbitrary code execution). Void arrays are read, but no typed reader accepts them:
/// raw bytes have no values until something says what they are.
public struct NPYDType: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case bool, signedInteger, unsignedInteger, float, complex
        /// Fixed-width text: UTF-32 code units, NUL-padded (numpy's `str_`, letter U).
        case unicode
        /// Fixed-width byte strings, NUL-padded (numpy's `bytes_`, letter S).
        case bytes
        /// Raw bytes of any width with no element type (numpy's `void`, letter V).
        case void
        /// bfloat16: float32's upper half. Stored as `<V2` (as ml_dtypes saves it), so
        /// a descr never yields it; an array becomes bfloat16 when declared so.
        case bfloat16

        /// numpy's kind letter, as it appears in a descr.
        public var letter: Character {
            switch self {
            case .bool: "b"
            case .signedInteger: "i"
            case .unsignedInteger: "u"
            case .float: "f"
            case .complex: "c"
            case .unicode: "U"
            case .bytes: "S"
            case .void, .bfloat16: "V"
            }
        }

        /// True for the two string kinds, whose items are text rather than numbers.
        public var isString: Bool { self == .unicode || self == .bytes }
    }

    public enum ByteOrder: Sendable, Hashable {
        case little, big
        /// One-byte types have no byte order; numpy writes `|`.
        case notApplicable

        /// The order of the machine running this code.
        public static var native: ByteOrder {
            1.littleEndian == 1 ? .little : .big
        }
    }

    public let kind: Kind
    public let itemSize: Int
    public let byteOrder: ByteOrder

    /// Item sizes this library supports per numeric kind; anything else (`<f1`, `<i3`) is
    /// not a numpy type at all, or (float128) not one whose layout is portable. String
    /// kinds take any width up to `maxStringItemSize` (see `StringDType.swift`).
    static let supportedSizes: [Kind: [Int]] = [
        .bool: [1],
        .signedInteger: [1, 2, 4, 8],
        .unsignedInteger: [1, 2, 4, 8],
        .float: [2, 4, 8],
        .complex: [8, 16],
        .bfloat16: [2],
    ]

    /// Creates a dtype, normalising the byte order of one-byte types to
    /// `.notApplicable` so that `<i1` and `|i1` compare equal, as they do in numpy.
    public init(kind: Kind, itemSize: Int, byteOrder: ByteOrder = .native) throws(NumPyFormatError) {
        if kind.isString || kind == .void {
            try Self.checkStringItemSize(kind, itemSize)
        } else if Self.supportedSizes[kind]?.contains(itemSize) != true {
            throw NumPyFormatError(
                .unsupported,
                "unsupported item size \(itemSize) for kind \(kind.rawValue) "
                    + "(supported: \(Self.supportedSizes[kind]!.map(String.init).joined(separator: ", ")))")
        }
        self.kind = kind
        self.itemSize = itemSize
        self.byteOrder = Self.normalisedOrder(kind, itemSize, byteOrder == .notApplicable ? .native : byteOrder)
    }

    /// Trusted construction for the fixed tables in this module.
    init(uncheckedKind kind: Kind, itemSize: Int, byteOrder: ByteOrder) {
        self.kind = kind
        self.itemSize = itemSize
        self.byteOrder = Self.normalisedOrder(kind, itemSize, byteOrder)
    }

    /// Bytes strings and one-byte numbers have no byte order; unicode always has one,
    /// even `<U0` (numpy writes `<U0`, never `|U0`). Void keeps the character it was
    /// written with (ml_dtypes' bfloat16 is `<V2`, numpy's own void `|V2`), so that a
    /// descr reads back as it was; bfloat16 has a real byte order, as float16 does.
    private static func normalisedOrder(_ kind: Kind, _ itemSize: Int, _ order: ByteOrder) -> ByteOrder {
        switch kind {
        case .bytes: .notApplicable
        case .unicode, .void, .bfloat16: order
        default: itemSize == 1 ? .notApplicable : order
        }
    }

    /// The descr string numpy writes for this dtype, e.g. `<f4`, `|b1`, `>c16`.
    public var descr: String {
        let order: String
        switch byteOrder {
        case .little: order = "<"
        case .big: order = ">"
        case .notApplicable: order = "|"
        }
        return "\(order)\(kind.letter)\(kind == .unicode ? itemSize / 4 : itemSize)"
    }

    public var description: String { descr }

    /// numpy's name for the type, for messages (`float32`, `int64`, `complex128`).
    public var typeName: String {
        switch kind {
        case .bool: "bool"
        case .signedInteger: "int\(itemSize * 8)"
        case .unsignedInteger: "uint\(itemSize * 8)"
        case .float: "float\(itemSize * 8)"
        case .complex: "complex\(itemSize * 8)"
        case .unicode: "str\(itemSize * 8)"
        case .bytes: "bytes\(itemSize * 8)"
        case .void: "void\(itemSize * 8)"
        case .bfloat16: "bfloat16"
        }
    }

    /// True when bytes of this dtype must be swapped to be read on this machine (never
    /// for void, whose bytes are not numbers).
    public var needsByteSwap: Bool {
        kind != .void && byteOrder != .notApplicable && byteOrder != .native
    }

    /// The same type in the other byte order, or in the given one.
    public func withByteOrder(_ order: ByteOrder) -> NPYDType {
        NPYDType(uncheckedKind: kind, itemSize: itemSize, byteOrder: order)
    }

    /// The dtype whose native representation is `T`.
    public static func native<T: NPYElement>(_ type: T.Type = T.self) -> NPYDType {
        T.npyDType
    }

    /// Parses a numpy descr string.
    ///
    /// Accepts the byte-order characters numpy itself writes (`<`, `>`, `|`) and `=`
    /// (native), plus a missing order character for one-byte types. A multi-byte type
    /// with `|` is refused: its byte order would have to be guessed, and guessing is how
    /// readers produce silent garbage.
    public init(descr: String) throws(NumPyFormatError) {
        let (order, explicitNone, chars) = try Self.byteOrderPrefix(of: descr)
        guard let letter = chars.first else {
            throw NumPyFormatError(.malformed, "dtype descr '\(descr)' has no type letter")
        }
        let sizeText = chars.dropFirst()
        switch letter {
        case "O":
            throw NumPyFormatError(
                .unsupported,
                "object dtype '\(descr)' is not supported: object arrays are Python pickles")
        case "S", "a", "U":
            self = try Self.stringDType(
                descr: descr, letter: letter, sizeText: sizeText, order: order, noOrder: explicitNone)
        case "V":
            self = try Self.voidDType(descr: descr, sizeText: sizeText, order: order)
        case "M", "m":
            throw NumPyFormatError(.unsupported, "datetime dtype '\(descr)' is not supported")
        default:
            self = try Self.numberDType(
                descr: descr, letter: letter, sizeText: sizeText, order: order, noOrder: explicitNone)
        }
    }

    /// The byte order a descr starts with (nil when it has no order character), whether
    /// it says explicitly that there is none (`|`), and the rest.
    private static func byteOrderPrefix(
        of descr: String
    ) throws(NumPyFormatError) -> (order: ByteOrder?, explicitNone: Bool, rest: Substring) {
        var chars = Substring(descr)
        guard let first = chars.first else {
            throw NumPyFormatError(.malformed, "empty dtype descr")
        }
        let order: ByteOrder?
        switch first {
        case "<": order = .little
        case ">": order = .big
        case "=": order = .native
        case "|": order = nil
        default: return (nil, false, chars)
        }
        chars.removeFirst()
        return (order, first == "|", chars)
    }

    /// A bool, integer, float or complex dtype: a supported size, and a byte order
    /// wherever the items have more than one byte.
    private static func numberDType(
        descr: String, letter: Character, sizeText: Substring, order: ByteOrder?, noOrder explicitNone: Bool
    ) throws(NumPyFormatError) -> NPYDType {
        let kind: Kind
        switch letter {
        case "b": kind = .bool
        case "i": kind = .signedInteger
        case "u": kind = .unsignedInteger
        case "f": kind = .float
        case "c": kind = .complex
        default:
            throw NumPyFormatError(.unsupported, "unknown dtype descr '\(descr)'")
        }
        guard !sizeText.isEmpty, sizeText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let size = Int(sizeText), supportedSizes[kind]!.contains(size)
        else {
            throw NumPyFormatError(.unsupported, "unknown dtype descr '\(descr)'")
        }
        if size > 1 {
            if explicitNone {
                throw NumPyFormatError(
                    .malformed,
                    "dtype descr '\(descr)' has no byte order ('|') but its items are \(size) bytes")
            }
            guard order != nil else {
                throw NumPyFormatError(.malformed, "dtype descr '\(descr)' has no byte order character")
            }
        }
        return NPYDType(uncheckedKind: kind, itemSize: size, byteOrder: order ?? .notApplicable)
    }
}
