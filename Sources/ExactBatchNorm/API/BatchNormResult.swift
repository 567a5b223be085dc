/// The per-channel outputs, by their file key.
public enum ChannelQuantity: String, CaseIterable, Sendable {
    case mean
    case invstd
    case runningMean = "running_mean"
    case runningVar = "running_var"
    case dgamma
    case dbeta
}

/// The per-channel results of one pass, held exactly and rounded into whatever type
/// the caller asks for (torch keeps them in gamma's dtype).
public struct BatchNormChannels: Sendable {
    let channels: ChannelResults
    let hasGradients: Bool
    /// How many elements the fast path could not certify and the exact path computed.
    public let exactPathCount: Int

    /// The quantity for every channel, each rounded once into `P`; nil for the
    /// gradients when no `dout` was given.
    public func perChannel<P: BatchNormFloat>(_ quantity: ChannelQuantity, as _: P.Type) -> [P]? {
        // The roundings run for a concrete type (this is called from other modules,
        // where `P` is generic), and the arrays are the same type as `[P]`.
        ExactBatchNorm.requireEngineType(P.self)
        switch P.elementType {
        case .float16: return unsafeBitCast(values(quantity, as: Float16.self), to: [P]?.self)
        case .bfloat16: return unsafeBitCast(values(quantity, as: BFloat16.self), to: [P]?.self)
        case .float32: return unsafeBitCast(values(quantity, as: Float.self), to: [P]?.self)
        case .float64: return unsafeBitCast(values(quantity, as: Double.self), to: [P]?.self)
        }
    }

    private func values<P: BatchNormFloat>(_ quantity: ChannelQuantity, as _: P.Type) -> [P]? {
        if !hasGradients && (quantity == .dgamma || quantity == .dbeta) { return nil }
        return channels.indices.map { c in channels.value(quantity, of: c)!.rounded(as: P.self) }
    }
}

/// The outputs of one forward and backward pass: `out` and `dx` rounded into `Output`,
/// and the per-channel results.
public struct BatchNormResult<Output: BatchNormFloat>: Sendable {
    public let out: [Output]
    public let dx: [Output]?
    public let channels: BatchNormChannels

    public var exactPathCount: Int { channels.exactPathCount }

    public func perChannel<P: BatchNormFloat>(_ quantity: ChannelQuantity, as type: P.Type) -> [P]? {
        channels.perChannel(quantity, as: type)
    }
}
