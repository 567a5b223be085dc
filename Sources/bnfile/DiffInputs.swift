import ArrayComparison
import NumPyFormat

/// One side of a diff: the keys of an .npz archive, or the single array of an .npy file
/// under a name chosen by the caller. Arrays are read only when their key is compared,
/// so `--keys` on a large archive reads just those members.
struct DiffFile {
    private enum Storage {
        case archive(NPZArchive)
        case single(key: String, array: NPYArray)
    }

    let path: String
    private let storage: Storage

    static func isNPY(_ path: String) -> Bool { path.lowercased().hasSuffix(".npy") }

    init(path: String, singleArrayKey: String, options: NPYReadOptions) throws {
        self.path = path
        if Self.isNPY(path) {
            let array = try NPYFile.read(path: path, options: options)
            storage = .single(key: singleArrayKey,
                              array: try BFloat16Keys.declared(array, key: singleArrayKey, options: options))
        } else {
            storage = .archive(try NPZArchive(path: path, options: options))
        }
    }

    /// In the file's order; an archive's bfloat16 declaration is not a key.
    var keys: [String] {
        switch storage {
        case .archive(let archive): archive.dataNames
        case .single(let key, _): [key]
        }
    }

    func array(_ key: String) throws -> NPYArray {
        switch storage {
        case .archive(let archive): return try archive.array(named: key)
        case .single(_, let array): return array
        }
    }
}

/// Which keys to compare and what two .npy files are called.
enum DiffKeys {
    /// An .npy file has no key names. Two files of the same name in two directories
    /// (mine/out.npy, torch/out.npy) are that key, so `--inputs` can judge them against
    /// the truth; `--keys NAME` names the array outright; otherwise it is "array".
    static func singleArrayKey(a: String, b: String, requested: [String]?) throws -> String {
        if let requested {
            guard requested.count == 1 else {
                throw ToolError("two .npy files hold one array: --keys may give it one name, got \(requested.joined(separator: ","))")
            }
            return requested[0]
        }
        let stemA = stem(a), stemB = stem(b)
        return stemA == stemB && !stemA.isEmpty ? stemA : "array"
    }

    static func stem(_ path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return String(name.dropLast(".npy".count))
    }

    /// A's keys in A's order, then the keys only in B; or the requested ones, in the
    /// order given. A requested key in neither file is a typo, not a difference: the
    /// user would otherwise read "0 of 0 keys differ" as success.
    static func select(a: DiffFile, b: DiffFile, requested: [String]?) throws -> [String] {
        let present = a.keys + b.keys.filter { !a.keys.contains($0) }
        guard let requested else { return present }
        var chosen: [String] = []
        for key in requested where !chosen.contains(key) { chosen.append(key) }
        let missing = chosen.filter { !present.contains($0) }
        guard missing.isEmpty else {
            throw ToolError("--keys: \(missing.joined(separator: ", ")) in neither \(a.path) nor \(b.path); "
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
enum DiffValueKind: Equatable {
    case float(FloatFormat)
    case exact(NPYDType.Kind, itemSize: Int)
    case unsupported

    init(_ dtype: NPYDType) {
        switch dtype.kind {
        case .float: self = FloatFormat(descr: dtype.withByteOrder(.little).descr).map(Self.float) ?? .unsupported
        case .bool, .signedInteger, .unsignedInteger: self = .exact(dtype.kind, itemSize: dtype.itemSize)
        case .bfloat16: self = .float(.bfloat16)
        case .complex, .unicode, .bytes, .void: self = .unsupported
        }
    }

    /// The grid the values are compared on: integers and bools as float64.
    var format: FloatFormat {
        if case .float(let format) = self { return format }
        return .float64
    }

    var isFloat: Bool {
        if case .float = self { return true }
        return false
    }
}

/// One key of A and B, read and aligned: either a structural difference, or two
/// same-shaped arrays of values in C order with the rule to compare them by.
/// `isFloat` is false for integer and bool arrays, which have no rounding to judge.
enum DiffPair {
    case structural(KeyOutcome)
    case values(a: [Double], b: [Double], shape: [Int], format: FloatFormat, tolerance: Tolerance, isFloat: Bool)

    /// Shape is checked before dtype, as torch's assert_close does.
    static func load(key: String, a: DiffFile, b: DiffFile, rtol: Double?, atol: Double?) throws -> DiffPair {
        let inA = a.keys.contains(key), inB = b.keys.contains(key)
        guard inA else { return .structural(.onlyInB) }
        guard inB else { return .structural(.onlyInA) }
        let arrayA = try a.array(key), arrayB = try b.array(key)
        guard arrayA.shape == arrayB.shape else {
            return .structural(.shapeMismatch(a: arrayA.shape, b: arrayB.shape))
        }
        let kind = DiffValueKind(arrayA.dtype)
        guard kind == DiffValueKind(arrayB.dtype) else {
            return .structural(.dtypeMismatch(a: arrayA.dtype.descr, b: arrayB.dtype.descr))
        }
        let tolerance: Tolerance
        switch kind {
        case .float(let format):
            tolerance = Tolerance.resolved(for: format, rtol: rtol, atol: atol)
        case .exact:
            let source = rtol == nil && atol == nil
                ? "exact: \(arrayA.dtype.typeName) values" : "--rtol/--atol flags; exact by default for \(arrayA.dtype.typeName)"
            tolerance = Tolerance(rtol: rtol ?? 0, atol: atol ?? 0, source: source)
        case .unsupported:
            let void = arrayA.dtype.isTwoByteVoid ? "; if they hold bfloat16, declare them with --bfloat16 \(key)" : ""
            throw ToolError("\(key): \(arrayA.dtype.descr) (\(arrayA.dtype.typeName)) arrays cannot be compared; "
                + "leave the key out with --keys" + void)
        }
        return .values(a: try doubles(arrayA, key: key, path: a.path), b: try doubles(arrayB, key: key, path: b.path),
                       shape: arrayA.shape, format: kind.format, tolerance: tolerance,
                       isFloat: kind.isFloat)
    }

    /// The values as doubles, in C order, each exactly. 64-bit integers are the only
    /// dtypes whose values may not fit a double; they are checked one by one.
    static func doubles(_ array: NPYArray, key: String, path: String) throws -> [Double] {
        func exactly<I: BinaryInteger & NPYElement>(_: I.Type) throws -> [Double] {
            try array.elements(as: I.self).map { value in
                guard let double = Double(exactly: value) else {
                    throw ToolError("\(path): \(key) holds \(value), which a double cannot hold exactly; "
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
