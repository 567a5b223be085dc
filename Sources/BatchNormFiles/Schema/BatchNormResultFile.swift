import ExactBatchNorm
import NumPyFormat

/// The exact results of a problem as an .npz, the schema `bnfile run` writes and
/// `bnfile diff` reads: `out` and `dx` in x's dtype, the per-channel keys in the
/// per-channel dtype (`BatchNormInputFile.channelDType`), then the settings solved with.
///
/// Each value is the true value rounded once into its key's dtype: computed for that
/// dtype, never rounded through a wider one (which would be a double rounding).
public enum BatchNormResultFile {
    /// The per-channel keys in the order they are written.
    public static let channelKeys: [ChannelQuantity] = [.dgamma, .dbeta, .runningMean, .runningVar, .mean, .invstd]

    /// Computes `problem` and writes every result through `writer`, then finishes it.
    ///
    /// Stored output is streamed: `out` and `dx` go to the file a block at a time as the
    /// engine computes them, so the process holds the (memory-mapped) inputs and about
    /// a megabyte of outputs rather than both whole outputs. Deflated output needs each
    /// member's bytes in sequence, so it computes whole arrays first.
    public static func write(
        _ problem: BatchNormInputFile, to writer: NPZWriter, compression: NPZCompression,
        threads: Int
    ) throws {
        let channels = try problem.storedFloat.dispatch(
            ElementResults(problem: problem, writer: writer, compression: compression, threads: threads))
        guard let channelFormat = StoredFloat(problem.channelDType) else {
            preconditionFailure("BatchNormInputFile checked every per-channel input's dtype")
        }
        try channelFormat.dispatch(ChannelResults(channels: channels, writer: writer))
        try problem.settings.write(to: writer)
        try writer.finish()
    }
}

/// `out` and `dx` in x's type; returns the per-channel results for the rest.
private struct ElementResults: StoredFloatBody {
    let problem: BatchNormInputFile
    let writer: NPZWriter
    let compression: NPZCompression
    let threads: Int

    func run<X: BatchNormFloat & NPYElement>(_: X.Type) throws -> BatchNormChannels {
        if compression != .stored {
            let result = try problem.evaluate(X.self, as: X.self, threads: threads)
            let shape = problem.x.shape
            try result.out.withUnsafeBufferPointer { try writer.add("out", elements: $0, shape: shape) }
            if let dx = result.dx {
                try dx.withUnsafeBufferPointer { try writer.add("dx", elements: $0, shape: shape) }
            }
            return result.channels
        }
        let header = NPYArrayHeader(dtype: X.npyDType, shape: problem.x.shape)
        let members = problem.dout == nil ? [("out", header)] : [("out", header), ("dx", header)]
        var computed: BatchNormChannels? = nil
        try writer.addStored(members) { pieces in
            computed = try problem.evaluate(X.self, threads: threads) { _, out, dx in
                try pieces.write(UnsafeRawBufferPointer(out), to: "out")
                if let dx { try pieces.write(UnsafeRawBufferPointer(dx), to: "dx") }
            }
        }
        return computed!
    }
}

/// The per-channel keys in the per-channel type.
private struct ChannelResults: StoredFloatBody {
    let channels: BatchNormChannels
    let writer: NPZWriter

    func run<P: BatchNormFloat & NPYElement>(_: P.Type) throws {
        for key in BatchNormResultFile.channelKeys {
            guard let values = channels.perChannel(key, as: P.self) else { continue }
            try values.withUnsafeBufferPointer { try writer.add(key.rawValue, elements: $0, shape: [values.count]) }
        }
    }
}
