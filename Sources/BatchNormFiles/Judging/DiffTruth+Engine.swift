import ArrayComparison
import ExactBatchNorm
import NumPyFormat

extension DiffTruth {
    /// The exact per-channel results and the scales. The scales of every element need the
    /// exact statistics before the first element is judged, so they come from the
    /// engine's first pass and per-channel algebra (`prepared()`), whose element pass
    /// `stream` then runs; or from a whole run asked for already (`elementTruth`).
    func solved() throws -> (channels: BatchNormChannels, scales: ErrorScales) {
        if let channels, let scales { return (channels, scales) }
        let channels = try self.channels ?? prepared().channels
        self.channels = channels
        let scales = try withInputBytes { x, dout, type in
            try ErrorScales(
                x: x, dout: dout, elementType: type, shape: problem.shape, parameters: problem.parameters,
                mode: problem.mode, channels: channels, threads: threads)
        }
        self.scales = scales
        return (channels, scales)
    }

    /// The problem after the engine's first pass, for outputs in x's format, made once.
    func prepared() throws -> PreparedBatchNorm {
        if let preparedProblem { return preparedProblem }
        let prepared = try problem.storedFloat.dispatch(Preparation(problem: problem, threads: threads))
        preparedProblem = prepared
        return prepared
    }

    /// Calls `body` with the scales of `output` as a block source, nil for dx without
    /// dout, reading x and dout in place for the call.
    func withScales<R>(_ output: ScaledOutput, _ body: (ScaleValues) throws -> R) throws -> R {
        let scales = try solved().scales
        return try withInputBytes { x, dout, _ in
            guard
                let elements = scales.elements(
                    output, x: x.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!,
                    dout: dout.map { $0.baseAddress ?? UnsafeRawPointer(bitPattern: 64)! })
            else { throw BatchNormFileError("\(problem.path): no dout, so no dx to judge") }
            return try body(ScaleValues(scales: elements))
        }
    }

    /// Runs the engine's element pass in x's format (`streamedFormat`), after the first
    /// pass of `prepared()`, handing each block of out and dx to `deliver` with the range
    /// of flat positions it holds, in order, as block sources valid for the call.
    func stream(_ deliver: @escaping (Range<Int>, any ValueBlocks, (any ValueBlocks)?) throws -> Void) throws {
        let format = problem.storedFloat
        _ = try format.dispatch(
            Streamed(problem: problem, prepared: try prepared(), threads: threads) { range, out, dx in
                try deliver(
                    range, StoredValues(base: out, first: range.lowerBound, format: format),
                    dx.map { StoredValues(base: $0, first: range.lowerBound, format: format) })
            })
    }

    /// out or dx rounded once into `format`, whole, from one engine run per format.
    func elementTruth(_ output: ScaledOutput, format: FloatFormat) throws -> TypedValues {
        if wholeRuns[format] == nil {
            func run<Output: BatchNormFloat>(_: Output.Type) throws {
                let result = try problem.evaluate(as: Output.self, threads: threads)
                if channels == nil { channels = result.channels }
                wholeRuns[format] = (TypedValues(result.out), result.dx.map(TypedValues.init))
            }
            switch format {
            case .float16: try run(Float16.self)
            case .bfloat16: try run(BFloat16.self)
            case .float32: try run(Float.self)
            case .float64: try run(Double.self)
            }
        }
        let run = wholeRuns[format]!
        guard let values = output == .out ? run.out : run.dx else {
            throw BatchNormFileError("\(problem.path): no dout, so no dx to judge")
        }
        return values
    }

    /// x and dout as raw native-endian bytes of x's type in C order (in place when they
    /// are stored so), with that type.
    func withInputBytes<R>(
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer?, any BatchNormFloat.Type) throws -> R
    ) throws -> R {
        do {
            return try withoutActuallyEscaping(body) { body in
                try problem.storedFloat.dispatch(InputBytes(problem: problem, body: body))
            }
        } catch let error as BatchNormError {
            throw BatchNormFileError("\(problem.path): \(error)")
        }
    }
}

/// The engine's first pass and per-channel algebra, in x's type.
private struct Preparation: StoredFloatBody {
    let problem: BatchNormInputFile
    let threads: Int

    func run<X: BatchNormFloat & NPYElement>(_: X.Type) throws -> PreparedBatchNorm {
        try problem.prepare(X.self, threads: threads)
    }
}

/// The engine's element pass of `prepared` a block at a time, in x's type; the blocks'
/// bytes go to `deliver`.
private struct Streamed: StoredFloatBody {
    let problem: BatchNormInputFile
    let prepared: PreparedBatchNorm
    let threads: Int
    let deliver: (Range<Int>, UnsafeRawPointer, UnsafeRawPointer?) throws -> Void

    func run<X: BatchNormFloat & NPYElement>(_: X.Type) throws -> BatchNormChannels {
        try problem.evaluate(X.self, prepared: prepared, threads: threads) { range, out, dx in
            let placeholder = UnsafeRawPointer(bitPattern: 64)!  // an empty block; never read
            try deliver(
                range, out.baseAddress.map(UnsafeRawPointer.init) ?? placeholder,
                dx.map { $0.baseAddress.map(UnsafeRawPointer.init) ?? placeholder })
        }
    }
}

/// `withInputBytes` for x's Swift element type.
private struct InputBytes<R>: StoredFloatBody {
    let problem: BatchNormInputFile
    let body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer?, any BatchNormFloat.Type) throws -> R

    func run<X: BatchNormFloat & NPYElement>(_: X.Type) throws -> R {
        try problem.x.withUnsafeElementBytes(as: X.self) { x in
            guard let dout = problem.dout else { return try body(x, nil, X.self) }
            return try dout.withUnsafeElementBytes(as: X.self) { try body(x, $0, X.self) }
        }
    }
}

/// An output held whole in its own type.
enum TypedValues {
    case float16([Float16])
    case bfloat16([BFloat16])
    case float32([Float])
    case float64([Double])

    init<T: BatchNormFloat>(_ values: [T]) {
        switch values {
        case let v as [Float16]: self = .float16(v)
        case let v as [BFloat16]: self = .bfloat16(v)
        case let v as [Float]: self = .float32(v)
        default: self = .float64(values.map(\.exactDouble))
        }
    }

    var doubles: [Double] {
        switch self {
        case .float16(let v): v.map(Double.init)
        case .bfloat16(let v): v.map(\.exactDouble)
        case .float32(let v): v.map(Double.init)
        case .float64(let v): v
        }
    }

    /// Calls `body` with the values as a block source.
    func withBlocks<R>(_ body: (any ValueBlocks) throws -> R) throws -> R {
        func blocks<T>(_ values: [T], _ format: StoredFloat) throws -> R {
            try values.withUnsafeBytes { bytes in
                try body(
                    StoredValues(
                        base: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!, first: 0,
                        format: format))
            }
        }
        switch self {
        case .float16(let v): return try blocks(v, .float16)
        case .bfloat16(let v): return try blocks(v, .bfloat16)
        case .float32(let v): return try blocks(v, .float32)
        case .float64(let v): return try blocks(v, .float64)
        }
    }
}

extension StoredFloat {
    /// The grid the values of this format lie on.
    var format: FloatFormat {
        switch self {
        case .float16: .float16
        case .bfloat16: .bfloat16
        case .float32: .float32
        case .float64: .float64
        }
    }
}
