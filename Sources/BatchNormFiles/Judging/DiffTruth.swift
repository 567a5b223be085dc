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
/// next to float32 midpoints, which are exactly the values test suites build. So the
/// engine runs once per format the files use (normally once: out and dx share x's
/// dtype), per-channel keys are rounded from its exact solution, and the scales come
/// from the first run.
public final class DiffTruth {
    public let problem: BatchNormInputFile
    public let threads: Int
    public let layout: ChannelLayout
    /// out and dx rounded into each format asked for, computed on first use.
    private var runs: [FloatFormat: (out: [Double], dx: [Double]?)] = [:]
    private var scales: ErrorScales?
    /// Rounds a per-channel quantity of the first run's exact solution into a format.
    private var channelValues: ((ChannelQuantity, FloatFormat) -> [Double]?)?

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

    /// The truth for `key` as stored with `shape` in `format`, or nil when the engine
    /// does not produce the key (or not without dout): such keys are compared plainly.
    ///
    /// A key the engine does produce must have the shape the inputs imply. Anything else
    /// means the inputs are not the ones that produced the files (or --layout is wrong),
    /// and judging values against the truth of another problem would be nonsense.
    public func truth(for key: String, shape: [Int], format: FloatFormat) throws -> TruthInput? {
        let quantity = ChannelQuantity(rawValue: key)
        guard key == "out" || key == "dx" || quantity != nil else { return nil }
        let run = try elementwise(format)
        guard let scales, let channelValues else { return nil }
        let values: [Double]?, scale: [Double]?, expected: [Int]
        if let quantity {
            (values, scale, expected) = (channelValues(quantity, format), scales.perChannel[quantity],
                                         [problem.shape.channels])
        } else if key == "out" {
            (values, scale, expected) = (run.out, scales.out, problem.shape.dimensions)
        } else {
            (values, scale, expected) = (run.dx, scales.dx, problem.shape.dimensions)
        }
        guard let values, let scale else { return nil }
        guard shape == expected else {
            throw BatchNormFileError("\(key) has shape \(shape) in A and B, but the inputs \(problem.path) give \(expected) "
                + "(layout \(layout.rawValue)); are these the inputs that produced them, with the right --layout?")
        }
        return TruthInput(values: values, scale: scale, valuesPerChannel: problem.shape.valuesPerChannel)
    }

    /// Each channel's conditioning and how finely `format` resolves its out, once a
    /// truth was computed (empty before).
    public func channelAccuracy(format: FloatFormat) -> [ChannelAccuracy] {
        guard let scales else { return [] }
        let limit = RoundingThreshold.standard.limit(valuesPerChannel: problem.shape.valuesPerChannel)
        return scales.conditioning.enumerated().map { channel, conditioning in
            ChannelAccuracy(channel: channel, meanOverStd: conditioning.meanOverStd,
                            outResolution: limit * format.unitRoundoff * conditioning.outScale, format: format)
        }
    }

    private func elementwise(_ format: FloatFormat) throws -> (out: [Double], dx: [Double]?) {
        if let cached = runs[format] { return cached }
        func run<Output: BatchNormFloat>(_: Output.Type) throws -> (out: [Double], dx: [Double]?) {
            if scales == nil {
                let (result, scales) = try problem.evaluateWithScales(as: Output.self, threads: threads)
                self.scales = scales
                channelValues = { quantity, format in
                    switch format {
                    case .float16: result.perChannel(quantity, as: Float16.self)?.map(Double.init)
                    case .bfloat16: result.perChannel(quantity, as: BFloat16.self)?.map(\.exactDouble)
                    case .float32: result.perChannel(quantity, as: Float.self)?.map(Double.init)
                    case .float64: result.perChannel(quantity, as: Double.self)
                    }
                }
                return (result.out.map(\.exactDouble), result.dx?.map(\.exactDouble))
            }
            let result = try problem.evaluate(as: Output.self, threads: threads)
            return (result.out.map(\.exactDouble), result.dx?.map(\.exactDouble))
        }
        let values: (out: [Double], dx: [Double]?)
        switch format {
        case .float16: values = try run(Float16.self)
        case .bfloat16: values = try run(BFloat16.self)
        case .float32: values = try run(Float.self)
        case .float64: values = try run(Double.self)
        }
        runs[format] = values
        return values
    }
}
