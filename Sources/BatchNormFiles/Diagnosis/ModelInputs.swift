import ExactBatchNorm
import NumPyFormat

/// The problem a diagnosis model is evaluated on: the inputs of `--inputs` as exact
/// doubles (float16, float32 and float64 all widen to double without rounding), with the
/// parameters filled in as the engine fills them (gamma 1, beta 0, running mean 0,
/// running variance 1).
struct ModelInputs {
    let x: [Double]
    let dout: [Double]?
    let shape: BatchNormShape
    let gamma: [Double]
    let beta: [Double]
    let runningMean: [Double]
    let runningVar: [Double]
    /// Settable: the wrong-momentum model screens other momenta.
    var parameters: BatchNormParameters
    /// Settable: the wrong-mode model evaluates the other mode.
    var training: Bool

    init(_ problem: BatchNormInputFile) throws {
        x = try problem.x.elements(as: Double.self)
        dout = try problem.dout?.elements(as: Double.self)
        shape = problem.shape
        let p = problem.parameters, channels = problem.shape.channels
        let fill = { (values: [Double]?, value: Double) in values ?? Array(repeating: value, count: channels) }
        gamma = fill(p.gamma, 1)
        beta = fill(p.beta, 0)
        runningMean = fill(p.runningMean, 0)
        runningVar = fill(p.runningVar, 1)
        parameters = p
        training = problem.mode == .training
        (channelIndex, sampleIndex) = Self.indices(problem.shape)
    }

    /// Each element's channel and sample, computed once so that the models' passes
    /// read them instead of dividing.
    private let channelIndex: [Int32]
    private let sampleIndex: [Int32]

    private static func indices(_ shape: BatchNormShape) -> (channel: [Int32], sample: [Int32]) {
        var channel: [Int32] = [], sample: [Int32] = []
        channel.reserveCapacity(shape.elementCount)
        sample.reserveCapacity(shape.elementCount)
        for n in 0..<shape.batch {
            for outer in 0..<(shape.layout == .channelsFirst ? shape.channels : shape.spatial) {
                for inner in 0..<(shape.layout == .channelsFirst ? shape.spatial : shape.channels) {
                    channel.append(Int32(shape.layout == .channelsFirst ? outer : inner))
                    sample.append(Int32(n))
                }
            }
        }
        return (channel, sample)
    }

    var count: Int { x.count }
    var channels: Int { shape.channels }

    /// The channel of the element at flat (C-order) index `i`.
    @inline(__always) func channel(_ i: Int) -> Int { Int(channelIndex[i]) }

    /// The group whose statistics normalise element `i`.
    @inline(__always) func group(_ i: Int, _ grouping: StatisticsGrouping) -> Int {
        switch grouping {
        case .channel: channel(i)
        case .perSample: Int(sampleIndex[i])
        case .all: 0
        }
    }

    func groupCount(_ grouping: StatisticsGrouping) -> Int {
        switch grouping {
        case .channel: channels
        case .perSample: shape.batch
        case .all: 1
        }
    }
}

/// Which elements share a mean and a variance.
enum StatisticsGrouping: Sendable {
    /// Every axis but the channel's: batch norm.
    case channel
    /// Every axis but the first, per sample: layer-norm statistics.
    case perSample
    /// Every axis, the channel's too.
    case all
}

/// A sum in working precision R with Neumaier's compensation: its error is about
/// 2u_R*|sum| + M*u_R^2*sum|terms|, independent of the order and of M to first order,
/// so a reduction of millions of terms keeps R's precision (a plain loop would lose
/// log2 M to M bits of it).
struct CompensatedSum<R: BinaryFloatingPoint> {
    private var sum: R = 0
    private var compensation: R = 0

    @inline(__always) mutating func add(_ v: R) {
        let t = sum + v
        compensation += abs(sum) >= abs(v) ? (sum - t) + v : (v - t) + sum
        sum = t
    }

    var value: R { sum + compensation }
}
