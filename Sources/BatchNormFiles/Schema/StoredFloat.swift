import ExactBatchNorm
import NumPyFormat

/// The four float formats a batch-norm input may be stored in, decided once from the
/// dtype, and the one dispatch from that format to the Swift element type.
///
/// The dispatch is a `switch` over this enum, so adding a format fails to compile until
/// every caller handles it; a `default:` over item sizes would instead read any other
/// array silently as float64.
public enum StoredFloat: Sendable, Equatable {
    case float16, bfloat16, float32, float64

    /// nil for any dtype that is not a float of 2, 4 or 8 bytes or a declared bfloat16.
    public init?(_ dtype: NPYDType) {
        if dtype.kind == .bfloat16 {
            self = .bfloat16
            return
        }
        guard dtype.kind == .float else { return nil }
        switch dtype.itemSize {
        case 2: self = .float16
        case 4: self = .float32
        case 8: self = .float64
        default: return nil
        }
    }

    /// Calls `body` with the Swift type of this format's elements.
    public func dispatch<Body: StoredFloatBody>(_ body: Body) throws -> Body.Result {
        switch self {
        case .float16: try body.run(Float16.self)
        case .bfloat16: try body.run(BFloat16.self)
        case .float32: try body.run(Float.self)
        case .float64: try body.run(Double.self)
        }
    }
}

/// Work generic over a float element type, for `StoredFloat.dispatch` (Swift closures
/// cannot be generic, so the body is a type with a generic method).
public protocol StoredFloatBody {
    associatedtype Result
    func run<X: BatchNormFloat & NPYElement>(_ type: X.Type) throws -> Result
}
