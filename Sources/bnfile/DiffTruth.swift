import ArrayComparison
import ExactBatchNorm
import NumPyFormat

/// The true values of every key the exact engine produces, from the inputs that
/// produced A and B, with the error scale of each value.
///
/// The truth of a key is the exact value rounded once into the key's own format (the
/// dtype of A's and B's arrays), so a correctly rounded result — the exact engine's own
/// output file — comes out "exact", not merely "within rounding". Rounding the float64
/// result again would not do: exact -> float64 -> float32 is a double rounding, wrong
/// next to float32 midpoints, which are exactly the values test suites build. So per-
/// channel keys are rounded from the engine's exact solution, and out/dx come from a run
/// of the engine with that output type (float64's is also what the scales are made from).
final class DiffTruth {
    let problem: BatchNormInputFile
    let threads: Int
    let layout: ChannelLayout
    let double: BatchNormResult<Double>
    let scales: ErrorScales
    /// out and dx rounded into float32 or float16, computed on first use.
    private var narrow: [FloatFormat: (out: [Double], dx: [Double]?)] = [:]

    init(path: String, settings: BatchNormSettings, options: NPYReadOptions) throws {
        problem = try BatchNormInputFile(path: path, settings: settings, options: options)
        threads = settings.threads
        layout = settings.layout
        (double, scales) = try problem.evaluateWithScales(threads: settings.threads)
    }

    /// The truth for `key` as stored with `shape` in `format`, or nil when the engine
    /// does not produce the key (or not without dout): such keys are compared plainly.
    ///
    /// A key the engine does produce must have the shape the inputs imply. Anything else
    /// means the inputs are not the ones that produced the files (or --layout is wrong),
    /// and judging values against the truth of another problem would be nonsense.
    func truth(for key: String, shape: [Int], format: FloatFormat) throws -> TruthInput? {
        let values: [Double]?, scale: [Double]?, expected: [Int]
        switch key {
        case "out":
            (values, scale, expected) = (try elementwise(format).out, scales.out, problem.shape.dimensions)
        case "dx":
            (values, scale, expected) = (try elementwise(format).dx, scales.dx, problem.shape.dimensions)
        default:
            guard let quantity = ChannelQuantity(rawValue: key) else { return nil }
            (values, scale, expected) = (perChannel(quantity, format), scales.perChannel[quantity], [problem.shape.channels])
        }
        guard let values, let scale else { return nil }
        guard shape == expected else {
            throw ToolError("\(key) has shape \(shape) in A and B, but the inputs \(problem.path) give \(expected) "
                + "(layout \(layout.rawValue)); are these the inputs that produced them, with the right --layout?")
        }
        return TruthInput(values: values, scale: scale, valuesPerChannel: problem.shape.valuesPerChannel)
    }

    private func perChannel(_ quantity: ChannelQuantity, _ format: FloatFormat) -> [Double]? {
        switch format {
        case .float16: double.perChannel(quantity, as: Float16.self)?.map(Double.init)
        case .float32: double.perChannel(quantity, as: Float.self)?.map(Double.init)
        case .float64, .bfloat16: double.perChannel(quantity, as: Double.self)
        }
    }

    private func elementwise(_ format: FloatFormat) throws -> (out: [Double], dx: [Double]?) {
        func run<Output: BatchNormFloat>(_: Output.Type) throws -> (out: [Double], dx: [Double]?) {
            if let cached = narrow[format] { return cached }
            let result = try problem.evaluate(as: Output.self, threads: threads)
            let values = (result.out.map(\.exactDouble), result.dx?.map(\.exactDouble))
            narrow[format] = values
            return values
        }
        switch format {
        case .float16: return try run(Float16.self)
        case .float32: return try run(Float.self)
        // bfloat16 has no engine type (and no npy descr): judged against float64.
        case .float64, .bfloat16: return (double.out, double.dx)
        }
    }
}
