import ArrayComparison
import NumPyFormat

/// One side of a diff: the keys of an .npz archive, or the single array of an .npy file
/// under a name chosen by the caller. Arrays are read only when their key is compared,
/// so `--keys` on a large archive reads just those members.
public struct DiffFile {
    private enum Storage {
        case archive(NPZArchive)
        case single(key: String, array: NPYArray)
    }

    public let path: String
    private let storage: Storage

    public static func isNPY(_ path: String) -> Bool { path.lowercased().hasSuffix(".npy") }

    /// The settings the file records (a result written by bnfile or an exporter).
    public let stated: StatedSettings

    public init(path: String, singleArrayKey: String, options: NPYReadOptions) throws {
        self.path = path
        if Self.isNPY(path) {
            let array = try NPYFile.read(path: path, options: options)
            storage = .single(
                key: singleArrayKey,
                array: try BFloat16Declaration.declared(array, key: singleArrayKey, options: options))
            stated = StatedSettings()
        } else {
            let archive = try NPZArchive(path: path, options: options)
            storage = .archive(archive)
            stated = try StatedSettings(reading: archive, path: path)
        }
    }

    /// The keys that hold data, not settings, in the file's order.
    public var dataKeys: [String] { keys.filter { !StatedSettings.keys.contains($0) } }

    /// In the file's order; an archive's bfloat16 declaration is not a key.
    public var keys: [String] {
        switch storage {
        case .archive(let archive): archive.dataNames
        case .single(let key, _): [key]
        }
    }

    public func array(_ key: String) throws -> NPYArray {
        switch storage {
        case .archive(let archive): return try archive.array(named: key)
        case .single(_, let array): return array
        }
    }
}

/// Which keys to compare and what two .npy files are called.
public enum DiffKeys {
    /// An .npy file has no key names. Two files of the same name in two directories
    /// (mine/out.npy, torch/out.npy) are that key, so `--inputs` can judge them against
    /// the truth; `--keys NAME` names the array outright; otherwise it is "array".
    public static func singleArrayKey(a: String, b: String, requested: [String]?) throws -> String {
        if let requested {
            guard requested.count == 1 else {
                throw BatchNormFileError(
                    "two .npy files hold one array: --keys may give it one name, got \(requested.joined(separator: ","))"
                )
            }
            return requested[0]
        }
        let stemA = stem(a), stemB = stem(b)
        return stemA == stemB && !stemA.isEmpty ? stemA : "array"
    }

    public static func stem(_ path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return String(name.dropLast(".npy".count))
    }

    /// A's keys in A's order, then the keys only in B; or the requested ones, in the
    /// order given. A requested key in neither file is a typo, not a difference: the
    /// user would otherwise read "0 of 0 keys differ" as success.
    public static func select(a: DiffFile, b: DiffFile, requested: [String]?) throws -> [String] {
        let present = a.dataKeys + b.dataKeys.filter { !a.dataKeys.contains($0) }
        guard let requested else { return present }
        var chosen: [String] = []
        for key in requested where !chosen.contains(key) { chosen.append(key) }
        let missing = chosen.filter { !present.contains($0) }
        guard missing.isEmpty else {
            throw BatchNormFileError(
                "--keys: \(missing.joined(separator: ", ")) in neither \(a.path) nor \(b.path); "
                    + "keys present: \(present.isEmpty ? "none" : present.joined(separator: ", "))")
        }
        return chosen
    }
}

/// How the values of one dtype are compared.
///
/// Floats are compared on their own grid (`FloatFormat`). Integer and bool arrays are
/// compared exactly — a state dict's `num_batches_tracked` must not make a diff of
/// batch-norm outputs fail or error out — as float64 with a zero tolerance, which is
/// exact as long as every value converts to a double exactly (checked). Complex arrays
/// are not batch-norm data: trouble, with `--keys` as the way around them.
public enum DiffValueKind: Equatable {
    case float(FloatFormat)
    case exact(NPYDType.Kind, itemSize: Int)
    case unsupported

    public init(_ dtype: NPYDType) {
        switch dtype.kind {
        case .float: self = FloatFormat(descr: dtype.withByteOrder(.little).descr).map(Self.float) ?? .unsupported
        case .bool, .signedInteger, .unsignedInteger: self = .exact(dtype.kind, itemSize: dtype.itemSize)
        case .bfloat16: self = .float(.bfloat16)
        case .complex, .unicode, .bytes, .void: self = .unsupported
        }
    }

    /// The grid the values are compared on: integers and bools as float64.
    public var format: FloatFormat {
        if case .float(let format) = self { return format }
        return .float64
    }

    public var isFloat: Bool {
        if case .float = self { return true }
        return false
    }
}

/// One key of A and B, read and aligned: either a structural difference, or two
/// same-shaped arrays of values in C order with the rule to compare them by.
/// `isFloat` is false for integer and bool arrays, which have no rounding to judge.
public enum DiffPair {
    case structural(KeyOutcome)
    case values(DiffValues)

    /// Shape is checked before dtype, as torch's assert_close does. Two float dtypes
    /// are no structural difference: each side keeps its own format for the truth, and
    /// A and B are compared on the looser one's grid under its tolerance.
    public static func load(key: String, a: DiffFile, b: DiffFile, rtol: Double?, atol: Double?) throws -> DiffPair {
        let inA = a.keys.contains(key), inB = b.keys.contains(key)
        guard inA else { return .structural(.onlyInB) }
        guard inB else { return .structural(.onlyInA) }
        let arrayA = try a.array(key), arrayB = a.path == b.path ? arrayA : try b.array(key)
        guard arrayA.shape == arrayB.shape else {
            return .structural(.shapeMismatch(a: arrayA.shape, b: arrayB.shape))
        }
        let kindA = DiffValueKind(arrayA.dtype), kindB = DiffValueKind(arrayB.dtype)
        let kind: DiffValueKind
        switch (kindA, kindB) {
        case (.float(let fa), .float(let fb)): kind = .float(fa.precision <= fb.precision ? fa : fb)
        default:
            guard kindA == kindB else {
                return .structural(.dtypeMismatch(a: arrayA.dtype.descr, b: arrayB.dtype.descr))
            }
            kind = kindA
        }
        let tolerance: Tolerance
        switch kind {
        case .float(let format):
            tolerance = Tolerance.resolved(for: format, rtol: rtol, atol: atol)
        case .exact:
            let source =
                rtol == nil && atol == nil
                ? "exact: \(arrayA.dtype.typeName) values"
                : "--rtol/--atol flags; exact by default for \(arrayA.dtype.typeName)"
            tolerance = Tolerance(rtol: rtol ?? 0, atol: atol ?? 0, source: source)
        case .unsupported:
            let void = arrayA.dtype.isTwoByteVoid ? "; if they hold bfloat16, declare them with --bfloat16 \(key)" : ""
            throw BatchNormFileError(
                "\(key): \(arrayA.dtype.descr) (\(arrayA.dtype.typeName)) arrays cannot be compared; "
                    + "leave the key out with --keys" + void)
        }
        // A file judged against itself (bnfile check, `diff F F --inputs`) is read once.
        let same = a.path == b.path
        // Integers and bools are converted now, each checked to fit a double exactly.
        let exactA = kind.isFloat ? nil : try doubles(arrayA, key: key, path: a.path)
        return .values(
            DiffValues(
                key: key, arrayA: arrayA, arrayB: arrayB, pathA: a.path, pathB: b.path, sameArray: same,
                exactA: exactA,
                exactB: kind.isFloat ? nil : same ? exactA : try doubles(arrayB, key: key, path: b.path),
                shape: arrayA.shape, format: kind.format, formatA: kindA.format, formatB: kindB.format,
                tolerance: tolerance, isFloat: kind.isFloat,
                dtypeNote: arrayA.dtype == arrayB.dtype
                    ? nil
                    : "\(key): A is \(arrayA.dtype.typeName), B is \(arrayB.dtype.typeName); compared on \(kind.format.rawValue)'s grid, each judged in its own"
            ))
    }

    /// The values as doubles, in C order, each exactly. 64-bit integers are the only
    /// dtypes whose values may not fit a double; they are checked one by one.
    public static func doubles(_ array: NPYArray, key: String, path: String) throws -> [Double] {
        func exactly<I: BinaryInteger & NPYElement>(_: I.Type) throws -> [Double] {
            try array.elements(as: I.self).map { value in
                guard let double = Double(exactly: value) else {
                    throw BatchNormFileError(
                        "\(path): \(key) holds \(value), which a double cannot hold exactly; "
                            + "bnfile compares integers as doubles")
                }
                return double
            }
        }
        switch (array.dtype.kind, array.dtype.itemSize) {
        case (.signedInteger, 8): return try exactly(Int64.self)
        case (.unsignedInteger, 8): return try exactly(UInt64.self)
        default: return try array.elements(as: Double.self)
        }
    }
}

/// Two arrays of one key, ready to compare: float arrays as they are stored (read a
/// block at a time, in place), integer and bool arrays as exact doubles.
public struct DiffValues {
    public var key: String
    public var arrayA: NPYArray
    public var arrayB: NPYArray
    public var pathA: String
    public var pathB: String
    /// A and B are one file's array (a file judged against itself).
    public var sameArray: Bool
    var exactA: [Double]?
    var exactB: [Double]?
    public var shape: [Int]
    /// The grid A and B are compared on.
    public var format: FloatFormat
    public var formatA: FloatFormat
    public var formatB: FloatFormat
    public var tolerance: Tolerance
    public var isFloat: Bool
    /// Set when the dtypes differ.
    public var dtypeNote: String?

    /// A's values whole, as doubles (each exactly), for what needs them all at once: a
    /// diagnosis, the hint about accumulated gradients.
    public func valuesA() throws -> [Double] { try exactA ?? DiffPair.doubles(arrayA, key: key, path: pathA) }
    public func valuesB() throws -> [Double] {
        try exactB ?? (sameArray ? valuesA() : DiffPair.doubles(arrayB, key: key, path: pathB))
    }

    /// Calls `body` with block sources of A's and B's values (B's is A's for one array).
    func withBlocks<R>(_ body: (any ValueBlocks, any ValueBlocks) throws -> R) throws -> R {
        if let exactA, let exactB { return try body(ArrayBlocks(exactA), ArrayBlocks(exactB)) }
        return try arrayA.withValueBlocks(key: key, path: pathA) { a in
            if sameArray { return try body(a, a) }
            return try arrayB.withValueBlocks(key: key, path: pathB) { b in try body(a, b) }
        }
    }
}
