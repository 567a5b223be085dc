/// Why a batch-norm problem cannot be computed. Messages are one line and say what was
/// expected, because the command-line tool prints them as they are.
public enum BatchNormError: Error, Equatable, CustomStringConvertible {
    case unsupportedRank([Int])
    case lengthMismatch(name: String, expected: Int, found: Int)
    /// PyTorch refuses to train on a single value per channel: its variance is 0/0 in
    /// the unbiased running update.
    case oneValuePerChannel(shape: [Int])
    case invalidHyperparameter(name: String, value: Double)
    /// Training on a batch with no values per channel (a zero dimension other than the
    /// channels): there are no batch statistics. Torch returns empty outputs and leaves
    /// the running statistics alone, with mean and invstd left unset; bnfile has no
    /// honest values to write for those, so it refuses.
    case noValuesPerChannel(shape: [Int])
    /// A negative eps, which torch refuses in both modes: it makes var + eps negative
    /// (or zero) for a constant channel, and its square root meaningless.
    case negativeEps(value: Double, training: Bool)
    /// Dimensions whose nonzero product exceeds 2^63 - 1: no array can have them.
    case tooLarge([Int])
    /// An empty x naming more channels than `limit` with no per-channel input to back them.
    case unbackedChannels(shape: [Int], limit: Int)
    /// More channels than the per-channel work may hold in `limit` bytes.
    case workingMemory(channels: Int, bytes: Int, limit: Int)
    /// An element pass given another input than the problem it was prepared for
    /// (``PreparedBatchNorm``); the text says what differs.
    case notThePreparedProblem(String)

    /// Whether the problem is a configurable bound being exceeded, not bad input.
    public var limitExceeded: Bool {
        if case .workingMemory = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .unsupportedRank(let dims):
            return
                "x has shape \(dims); expected rank 2 to 5: (N,C), (N,C,L), (N,C,H,W) or (N,C,D,H,W), or channels last"
        case .lengthMismatch(let name, let expected, let found):
            return "\(name) has \(found) values; expected \(expected) (one per channel, or x's shape)"
        case .oneValuePerChannel(let shape):
            return "Expected more than 1 value per channel when training, got input size \(shape)"
        case .invalidHyperparameter(let name, let value):
            return "\(name) = \(value) is not a finite number"
        case .noValuesPerChannel(let shape):
            return "x has shape \(shape): no values per channel to train on (a zero dimension), so there are "
                + "no batch statistics; torch would return empty outputs with mean and invstd unset"
        case .negativeEps(let value, let training):
            return training
                ? "batch_norm eps must be positive during training, but got \(value) (torch refuses it too)"
                : "batch_norm eps must be non-negative, but got \(value) (torch refuses it too)"
        case .tooLarge(let dims):
            return "x has shape \(dims), whose nonzero dimensions multiply past 2^63-1, more than any array holds"
        case .unbackedChannels(let shape, let limit):
            return "x has shape \(shape): an empty batch whose header alone names more than \(limit) channels, "
                + "with no gamma, beta or running statistics holding values for them; give those arrays "
                + "to compute that many channels"
        case .workingMemory(let channels, let bytes, let limit):
            return "x has \(channels) channels, whose per-channel work needs about \(bytes) bytes of memory, "
                + "more than the limit of \(limit) bytes"
        case .notThePreparedProblem(let difference):
            return "the input is not the problem its channels were prepared for: \(difference)"
        }
    }
}
