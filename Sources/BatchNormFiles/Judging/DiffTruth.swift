import ArrayComparison
import ExactBatchNorm
import NumPyFormat

/// The true values of every key the exact engine produces, from the inputs that
/// produced A and B, with the error scale of each value.
///
/// The truth of a key is the exact value rounded once into the key's own format (the
/// dtype of A's and B's arrays), so a correctly rounded result — the exact engine's own
/// output file — comes out "exact", not merely "within rounding". Rounding a float64
/// result again would not do: exact -> float64 -> float32 is a double rounding, wrong
/// next to float32 midpoints, which are exactly the values test suites build.
///
/// In x's own format (out and dx normally share it) the truth of out and dx is streamed
/// (`stream`): the engine's first pass and per-channel algebra run once, before any key
/// is judged (`prepared()`, which gives the per-channel results every scale needs), then
/// its element pass computes the truth a block at a time and each block is judged and
/// dropped, so judging holds no whole output and the engine runs once. In another
/// format (the notebook's float64 dx for float32 inputs), and for a diagnosis, the
/// engine runs whole into that format (`truth(for:shape:format:)`, `elementTruth`),
/// once per format. Per-channel keys are rounded from the exact solution, and every
/// scale comes from it (`ErrorScales`, per-channel coefficients; element scales
/// computed a block at a time).
public final class DiffTruth {
    public let problem: BatchNormInputFile
    public let threads: Int
    public let layout: ChannelLayout
    /// The exact per-channel results, from the engine's first pass (`solved()`).
    var channels: BatchNormChannels?
    var scales: ErrorScales?
    /// The problem after the engine's first pass in x's format, whose element pass
    /// `stream` runs (`prepared()`).
    var preparedProblem: PreparedBatchNorm?
    /// out and dx rounded into each format asked for whole, computed on first use.
    var wholeRuns: [FloatFormat: (out: TypedValues, dx: TypedValues?)] = [:]

    public init(path: String, settings: BatchNormSettings, fallback: StatedSettings, options: NPYReadOptions) throws {
        problem = try BatchNormInputFile(path: path, settings: settings, fallback: fallback, options: options)
        threads = settings.threads
        layout = problem.settings.layout
    }

    /// The truth of a problem already read (a diagnosis's variant of the inputs).
    init(problem: BatchNormInputFile, threads: Int) {
        self.problem = problem
        self.threads = threads
        layout = problem.settings.layout
    }

    /// The format the engine's blocks come in: x's.
    public var streamedFormat: FloatFormat { problem.storedFloat.format }

    /// The shape `key` must have for the truth to apply, or nil when the engine does not
    /// produce the key (or not without dout): such keys are compared plainly.
    public func expectedShape(of key: String) -> [Int]? {
        if let quantity = ChannelQuantity(rawValue: key) {
            let gradient = quantity == .dgamma || quantity == .dbeta
            return gradient && problem.dout == nil ? nil : [problem.shape.channels]
        }
        if key == "out" || (key == "dx" && problem.dout != nil) { return problem.shape.dimensions }
        return nil
    }

    /// Refuses a key the engine produces with another shape than the inputs imply: the
    /// inputs are then not the ones that produced the files (or --layout is wrong), and
    /// judging values against the truth of another problem would be nonsense.
    public func requireShape(_ shape: [Int], of key: String) throws {
        guard let expected = expectedShape(of: key), shape != expected else { return }
        throw BatchNormFileError(
            "\(key) has shape \(shape) in A and B, but the inputs \(problem.path) give \(expected) "
                + "(layout \(layout.rawValue)); are these the inputs that produced them, with the right --layout?")
    }

    /// Before a float key is judged: the engine's first pass for any key it may produce
    /// (even dx without dout, whose channel figures are still shown), then the shape
    /// check, in the order of the keys, as errors should come.
    public func prepare(key: String, shape: [Int]) throws {
        guard key == "out" || key == "dx" || ChannelQuantity(rawValue: key) != nil else { return }
        _ = try solved()
        try requireShape(shape, of: key)
    }

    /// The truth for `key` as stored with `shape` in `format`, whole: values and scales as
    /// arrays (the diagnosis works on them); nil when the engine does not produce the key.
    public func truth(for key: String, shape: [Int], format: FloatFormat) throws -> TruthInput? {
        guard expectedShape(of: key) != nil else { return nil }
        try requireShape(shape, of: key)
        if let quantity = ChannelQuantity(rawValue: key) { return try channelTruth(quantity, format: format) }
        let output: ScaledOutput = key == "out" ? .out : .dx
        let values = try elementTruth(output, format: format)
        let scale = try withScales(output) { $0.scales.all() }
        return TruthInput(values: values.doubles, scale: scale, valuesPerChannel: problem.shape.valuesPerChannel)
    }

    /// A per-channel key's truth, rounded from the exact solution into `format`.
    func channelTruth(_ quantity: ChannelQuantity, format: FloatFormat) throws -> TruthInput? {
        let (channels, scales) = try solved()
        let values: [Double]? =
            switch format {
            case .float16: channels.perChannel(quantity, as: Float16.self)?.map(Double.init)
            case .bfloat16: channels.perChannel(quantity, as: BFloat16.self)?.map(\.exactDouble)
            case .float32: channels.perChannel(quantity, as: Float.self)?.map(Double.init)
            case .float64: channels.perChannel(quantity, as: Double.self)
            }
        guard let values, let scale = scales.perChannel[quantity] else { return nil }
        return TruthInput(values: values, scale: scale, valuesPerChannel: problem.shape.valuesPerChannel)
    }

    /// Each channel's conditioning and how finely `format` resolves its out, once a
    /// truth was computed (empty before).
    public func channelAccuracy(format: FloatFormat) -> [ChannelAccuracy] {
        guard let scales else { return [] }
        let limit = RoundingThreshold.standard.limit(valuesPerChannel: problem.shape.valuesPerChannel)
        return scales.conditioning.enumerated().map { channel, conditioning in
            ChannelAccuracy(
                channel: channel, meanOverStd: conditioning.meanOverStd,
                outResolution: limit * format.unitRoundoff * conditioning.outScale, format: format)
        }
    }
}
