/// Why a batch-norm problem cannot be computed. Messages are one line and say what was
/// expected, because the command-line tool prints them as they are.
public enum BatchNormError: Error, Equatable, CustomStringConvertible {
    case unsupportedRank([Int])
    case lengthMismatch(name: String, expected: Int, found: Int)
    /// PyTorch refuses to train on a single value per channel: its variance is 0/0 in
    /// the unbiased running update.
    case oneValuePerChannel(shape: [Int])
    case invalidHyperparameter(name: String, value: Double)

    public var description: String {
        switch self {
        case .unsupportedRank(let dims):
            return "x has shape \(dims); expected rank 2 to 5: (N,C), (N,C,L), (N,C,H,W) or (N,C,D,H,W), or channels last"
        case .lengthMismatch(let name, let expected, let found):
            return "\(name) has \(found) values; expected \(expected) (one per channel, or x's shape)"
        case .oneValuePerChannel(let shape):
            return "Expected more than 1 value per channel when training, got input size \(shape)"
        case .invalidHyperparameter(let name, let value):
            return "\(name) = \(value) is not a finite number"
        }
    }
}
