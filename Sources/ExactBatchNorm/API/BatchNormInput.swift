/// The element types the engine reads and writes.
public enum BatchNormElementType: String, Sendable, CaseIterable {
    case float16
    case bfloat16
    case float32
    case float64
}

extension BatchNormFloat {
    /// This type's case of ``BatchNormElementType``.
    public static var elementType: BatchNormElementType {
        switch binaryFormat {
        case .binary16: .float16
        case .bfloat16: .bfloat16
        case .binary32: .float32
        default: .float64
        }
    }
}

/// One batch-normalization problem, as the engine takes it: `x` (and `dout`, for the
/// backward pass) as raw native-endian, C-order bytes of `elementType` at any alignment
/// (a memory-mapped array inside a numpy-written .npz is used in place), their shape,
/// the per-channel parameters and the mode.
///
/// The buffers are borrowed, not copied: they must stay valid while the engine runs.
public struct BatchNormInput {
    public var x: UnsafeRawBufferPointer
    public var dout: UnsafeRawBufferPointer?
    public var elementType: BatchNormElementType
    public var shape: BatchNormShape
    public var parameters: BatchNormParameters
    public var mode: BatchNormMode

    public init(
        x: UnsafeRawBufferPointer, dout: UnsafeRawBufferPointer?, elementType: BatchNormElementType,
        shape: BatchNormShape, parameters: BatchNormParameters = BatchNormParameters(),
        mode: BatchNormMode = .training
    ) {
        self.x = x
        self.dout = dout
        self.elementType = elementType
        self.shape = shape
        self.parameters = parameters
        self.mode = mode
    }

    /// The same from typed buffers.
    public init<X: BatchNormFloat>(
        x: UnsafeBufferPointer<X>, dout: UnsafeBufferPointer<X>?, shape: BatchNormShape,
        parameters: BatchNormParameters = BatchNormParameters(),
        mode: BatchNormMode = .training
    ) {
        self.init(
            x: UnsafeRawBufferPointer(x), dout: dout.map { UnsafeRawBufferPointer($0) },
            elementType: X.elementType, shape: shape, parameters: parameters, mode: mode)
    }
}

/// Which of the engine's fast paths may run: both, unless a test forces the fallback to
/// show that it gives the same bits.
struct EnginePaths: Sendable {
    /// The element pass's certified floating-point formulas; off, every element is
    /// computed from its exact terms.
    var fastElements = true
    /// The certified double-double channel solve; off, every channel is solved in big
    /// rationals.
    var certifiedSolve = true

    static let all = EnginePaths()
}

extension EnginePaths {
    /// Whether the certified solve sums a problem's channels in lanes straight from the
    /// data (``LaneSums``) rather than through exact sums: channels adjacent in memory
    /// and few values each, every fast path on.
    func summedInLanes<X: BatchNormFloat>(_: X.Type, shape: BatchNormShape) -> Bool {
        fastElements && certifiedSolve && LaneSums.applies(X.self, shape: shape)
    }
}
