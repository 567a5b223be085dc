/// Where the channel axis sits in memory.
public enum ChannelLayout: String, Sendable, CaseIterable {
    /// `(N, C, ...)`: PyTorch's default (NCHW).
    case channelsFirst = "nchw"
    /// `(N, ..., C)`: channels last (NHWC), as TensorFlow and torch.channels_last use.
    case channelsLast = "nhwc"
}

/// The shape of `x` reduced to what batch normalization needs: `batch` outer rows,
/// `channels`, and `spatial` values per row and channel, placed according to `layout`.
///
/// Element `(n, c, l)` lives at `n * batchStride + c * channelStride + l * spatialStride`;
/// both layouts are the same computation with different strides, which is why nothing
/// downstream branches on the layout.
public struct BatchNormShape: Sendable, Equatable {
    public let dimensions: [Int]
    public let layout: ChannelLayout
    public let batch: Int
    public let channels: Int
    public let spatial: Int

    public init(dimensions: [Int], layout: ChannelLayout) throws(BatchNormError) {
        guard (2...5).contains(dimensions.count) else {
            throw .unsupportedRank(dimensions)
        }
        guard dimensions.allSatisfy({ $0 >= 0 }) else { throw .unsupportedRank(dimensions) }
        guard Self.nonzeroProductFits(dimensions) else { throw .tooLarge(dimensions) }
        self.dimensions = dimensions
        self.layout = layout
        batch = dimensions[0]
        channels = layout == .channelsFirst ? dimensions[1] : dimensions[dimensions.count - 1]
        let middle = layout == .channelsFirst ? dimensions.dropFirst(2) : dimensions.dropFirst().dropLast()
        spatial = middle.reduce(1, *)
    }

    /// Whether the product of the nonzero dimensions fits in an `Int`. It then bounds
    /// every product of any of them, so `valuesPerChannel`, `elementCount`, strides and
    /// per-channel counts cannot overflow even when a zero dimension makes the array
    /// empty while the others are huge, as in (0, 2^62, 4).
    static func nonzeroProductFits(_ dimensions: [Int]) -> Bool {
        var product = 1
        for d in dimensions where d != 0 {
            let (next, overflow) = product.multipliedReportingOverflow(by: d)
            if overflow { return false }
            product = next
        }
        return true
    }

    /// Values per channel, `M`: every axis but the channel axis.
    public var valuesPerChannel: Int { batch * spatial }
    public var elementCount: Int { batch * channels * spatial }

    /// The same elements described for iteration. Channels first with one value per
    /// row and channel, as BatchNorm1d's (N, C) input, is exactly channels last with N
    /// spatial positions: element (n, c) sits at n*C + c either way. Read channels first,
    /// every run would be a single value; read channels last, runs are 512 positions long.
    var forIteration: BatchNormShape {
        guard layout == .channelsFirst, spatial == 1, batch > 1 else { return self }
        return BatchNormShape(
            batch: 1, channels: channels, spatial: batch, dimensions: dimensions,
            layout: .channelsLast)
    }

    private init(batch: Int, channels: Int, spatial: Int, dimensions: [Int], layout: ChannelLayout) {
        self.batch = batch
        self.channels = channels
        self.spatial = spatial
        self.dimensions = dimensions
        self.layout = layout
    }

    var batchStride: Int { channels * spatial }
    var channelStride: Int { layout == .channelsFirst ? spatial : 1 }
    var spatialStride: Int { layout == .channelsFirst ? 1 : channels }
}
