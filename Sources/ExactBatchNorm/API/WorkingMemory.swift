/// The engine's memory beyond the inputs and outputs, checked before any work.
///
/// Per channel the engine keeps its results and its element plan (``ChannelResults``,
/// ``ChannelPlans``: 137 bytes a channel of float32 data) and the parameters widened to
/// double (32 bytes); the exact sums exist for at most 8192 channels at a time, and big
/// rationals only for the channels the exact path solves. `bnfile run` on (2, 2^21) and
/// (2, 2^20) float32 inputs peaked 183 bytes a channel apart, files aside (`/usr/bin/time`),
/// whatever the number of values per channel. A header of shape (0, 2^40) has no data,
/// yet asks for 2^40 of them; the check turns that into an error before anything is
/// allocated.
extension BatchNormShape {
    /// The per-channel working bytes assumed: the measured 183 bytes with room for the
    /// exact channels and for float64 plans (136 bytes of fast constants each, not an 80-byte bound).
    public static let workingBytesPerChannel = 512

    /// About how many bytes the per-channel work needs, or nil past `Int.max`.
    public var perChannelWorkingBytes: Int? {
        let (bytes, overflow) = channels.multipliedReportingOverflow(by: Self.workingBytesPerChannel)
        return overflow ? nil : bytes
    }

    /// Refuses a shape whose per-channel work would need more than `limit` bytes.
    public func requireWorkingMemory(atMost limit: Int) throws(BatchNormError) {
        let bytes = perChannelWorkingBytes
        guard let bytes, bytes <= limit else {
            throw .workingMemory(channels: channels, bytes: bytes ?? Int.max, limit: limit)
        }
    }
}

extension BatchNormShape {
    /// The most channels computed for an empty x with no per-channel input to back them.
    ///
    /// A non-empty x has at least one value per channel, so its channel count is bounded
    /// by the bytes that exist; so is that of a given gamma, beta or running statistic.
    /// An empty x without them names its channels in its header alone: (0, 1048576) is a
    /// 236-byte file that asked for a minute of exact per-channel work and 6 GB. Up to
    /// this many such channels (about 0.4 GB and a few seconds) are computed, as torch
    /// would; more are refused.
    public static let unbackedChannelLimit = 1 << 16

    /// Refuses an empty x with more than `unbackedChannelLimit` channels when
    /// `parameters` holds no per-channel array for them.
    public func requireBackedChannels(_ parameters: BatchNormParameters) throws(BatchNormError) {
        let backed = [parameters.gamma, parameters.beta, parameters.runningMean, parameters.runningVar]
            .contains { $0 != nil }
        guard elementCount > 0 || backed || channels <= Self.unbackedChannelLimit else {
            throw .unbackedChannels(shape: dimensions, limit: Self.unbackedChannelLimit)
        }
    }
}
