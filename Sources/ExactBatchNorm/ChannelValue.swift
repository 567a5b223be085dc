/// A per-channel output: an exact value to be rounded into the caller's type, or a
/// non-finite value that the rules for NaN and infinity decided.
enum ChannelValue: Sendable {
    case exact(ExactExpression)
    case special(Double)

    func rounded<P: BatchNormFloat>(as _: P.Type) -> P {
        switch self {
        case .exact(let e): return P(exactly: e)
        case .special(let d): return P(roundingDouble: d)
        }
    }
}
