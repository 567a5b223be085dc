/// What happened to one key (one array name) of the two files.
///
/// Structural differences are differences: a key missing from one file or an array of
/// another shape or dtype is as much a failed reproduction as a wrong value, and must
/// fail the run rather than be skipped silently.
public enum KeyOutcome: Sendable, Equatable {
    case compared(KeyComparison)
    case onlyInA
    case onlyInB
    case shapeMismatch(a: [Int], b: [Int])
    /// dtype names or descrs as the caller knows them ("<f4", "bfloat16", "<i8", ...).
    case dtypeMismatch(a: String, b: String)

    public var comparison: KeyComparison? {
        if case .compared(let comparison) = self { return comparison }
        return nil
    }

    /// A short name, also the `kind` field of the JSON.
    public var kind: String {
        switch self {
        case .compared: "compared"
        case .onlyInA: "onlyInA"
        case .onlyInB: "onlyInB"
        case .shapeMismatch: "shapeMismatch"
        case .dtypeMismatch: "dtypeMismatch"
        }
    }

    /// A phrase for people: "only in A", "shape (2, 3) vs (3, 2)", "dtype <f4 vs <f8".
    public var structuralDescription: String? {
        switch self {
        case .compared: nil
        case .onlyInA: "only in A"
        case .onlyInB: "only in B"
        case .shapeMismatch(let a, let b): "shape \(NumberText.shape(a)) vs \(NumberText.shape(b))"
        case .dtypeMismatch(let a, let b): "dtype \(a) vs \(b)"
        }
    }
}

extension KeyOutcome: Codable {
    private enum CodingKeys: String, CodingKey {
        case kind, comparison, shapeA, shapeB, dtypeA, dtypeB
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        switch self {
        case .compared(let comparison): try container.encode(comparison, forKey: .comparison)
        case .onlyInA, .onlyInB: break
        case .shapeMismatch(let a, let b):
            try container.encode(a, forKey: .shapeA)
            try container.encode(b, forKey: .shapeB)
        case .dtypeMismatch(let a, let b):
            try container.encode(a, forKey: .dtypeA)
            try container.encode(b, forKey: .dtypeB)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try container.decode(String.self, forKey: .kind)
        switch kind {
        case "compared": self = .compared(try container.decode(KeyComparison.self, forKey: .comparison))
        case "onlyInA": self = .onlyInA
        case "onlyInB": self = .onlyInB
        case "shapeMismatch":
            self = .shapeMismatch(
                a: try container.decode([Int].self, forKey: .shapeA),
                b: try container.decode([Int].self, forKey: .shapeB))
        case "dtypeMismatch":
            self = .dtypeMismatch(
                a: try container.decode(String.self, forKey: .dtypeA),
                b: try container.decode(String.self, forKey: .dtypeB))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: container, debugDescription: "unknown key outcome \(kind)")
        }
    }
}
