/// An NPY format version. Only three exist: 1.0 (2-byte header length, latin-1),
/// 2.0 (4-byte length, for headers over 64 KiB) and 3.0 (4-byte length, UTF-8 text).
public struct NPYVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let major: UInt8
    public let minor: UInt8

    public static let v1 = NPYVersion(major: 1, minor: 0)
    public static let v2 = NPYVersion(major: 2, minor: 0)
    public static let v3 = NPYVersion(major: 3, minor: 0)
    public static let all: [NPYVersion] = [.v1, .v2, .v3]

    public init(major: UInt8, minor: UInt8) {
        self.major = major
        self.minor = minor
    }

    /// Bytes used by the header-length field after the magic and version.
    var headerLengthFieldSize: Int { self == .v1 ? 2 : 4 }

    public var description: String { "\(major).\(minor)" }

    public static func < (a: NPYVersion, b: NPYVersion) -> Bool {
        (a.major, a.minor) < (b.major, b.minor)
    }
}

/// What an NPY header says about the array that follows it.
public struct NPYArrayHeader: Hashable, Sendable {
    public var dtype: NPYDType
    /// Dimensions, outermost first; empty for a 0-d (scalar) array.
    public var shape: [Int]
    /// True when the data is stored column-major (first index varies fastest).
    public var fortranOrder: Bool
    /// The version read from the file, or the one a writer will use.
    public var version: NPYVersion

    /// numpy's limit on dimensions (`NPY_MAXDIMS` is 64 in numpy 2); a header with more
    /// is refused rather than trusted.
    public static let maxRank = 64

    public init(dtype: NPYDType, shape: [Int], fortranOrder: Bool = false, version: NPYVersion = .v1) {
        self.dtype = dtype
        self.shape = shape
        self.fortranOrder = fortranOrder
        self.version = version
    }

    public var rank: Int { shape.count }

    /// Number of elements, or nil when the product of dimensions overflows 64 bits.
    public var elementCount: Int? { CheckedArithmetic.product(shape) }

    /// Bytes of array data, or nil when it overflows 64 bits.
    public var byteCount: Int? {
        elementCount.flatMap { CheckedArithmetic.multiply($0, dtype.itemSize) }
    }
}
