import ExactBatchNorm
import NumPyFormat

/// An input .npz read as a batch-norm problem: which member plays which role, checked
/// against each other before any computing starts.
///
/// Keys follow torch's and the common NumPy names: `x`; `gamma` or `weight`; `beta` or
/// `bias`; `dout`, `grad_out` or `dy`; `running_mean`, `running_var`; and the settings
/// `StatedSettings` reads (eps, momentum, their conventions, training, layout), which
/// flags override and `fallback` (a result file's record, for diff) completes. Per-channel outputs take gamma's dtype (as torch keeps
/// them), or, without gamma, that of the first per-channel input present, else x's.
public struct BatchNormInputFile {
    public static let aliases: [(role: String, keys: [String])] =
        [
            ("x", ["x"]), ("gamma", ["gamma", "weight"]), ("beta", ["beta", "bias"]),
            ("dout", ["dout", "grad_out", "dy"]), ("running_mean", ["running_mean"]),
            ("running_var", ["running_var"]),
        ] + StatedSettings.keys.map { ($0, [$0]) }
    public static let floatDescrs = "float16, bfloat16, float32 or float64"

    public let path: String
    public let x: NPYArray
    /// x's format, which dout shares.
    public let storedFloat: StoredFloat
    public let dout: NPYArray?
    public let shape: BatchNormShape
    /// Settable inside the library, so that a diagnosis can solve the same inputs under
    /// another eps, momentum or mode.
    public internal(set) var parameters: BatchNormParameters
    public internal(set) var mode: BatchNormMode
    /// Every setting the problem was solved with, as `bnfile run` records them.
    public let settings: ResolvedSettings
    /// What the file itself states.
    public let statedInFile: StatedSettings
    /// The dtype of the per-channel outputs.
    public let channelDType: NPYDType

    public init(
        path: String, settings: BatchNormSettings, fallback: StatedSettings = StatedSettings(),
        options: NPYReadOptions
    ) throws {
        self.path = path
        let archive = try NPZArchive(path: path, options: options)
        statedInFile = try StatedSettings(reading: archive, path: path)
        let resolved = settings.stated.over(statedInFile).over(fallback).resolved(framework: settings.framework)
        self.settings = resolved
        let found = try Self.roles(in: archive, path: path)
        guard let x = found["x"]?.array else {
            throw BatchNormFileError(BatchNormInputKeys.missingX(names: archive.names, path: path))
        }
        try BatchNormInputKeys.refuseMisspellings(names: archive.names, foundRoles: Set(found.keys), path: path)
        storedFloat = try Self.requireFloat(x, key: "x", path: path)
        self.x = x
        shape = try Self.shape(of: x, layout: resolved.layout, options: options, path: path)
        dout = try found["dout"].map { try Self.checkedDout($0.array, key: $0.key, x: x, path: path) }
        let channelInputs = try Self.channelInputs(found, shape: shape, x: x, layout: resolved.layout, path: path)
        parameters = BatchNormParameters(
            gamma: channelInputs.values["gamma"], beta: channelInputs.values["beta"],
            runningMean: channelInputs.values["running_mean"], runningVar: channelInputs.values["running_var"],
            eps: resolved.eps, momentum: resolved.momentum, momentumConvention: resolved.momentumConvention,
            runningVariance: resolved.runningVariance)
        mode = resolved.mode
        channelDType = (found["gamma"]?.array.dtype ?? channelInputs.firstDType ?? x.dtype).withByteOrder(.native)
    }

    /// The member playing each role, under any of its aliases; two aliases of one role
    /// are an error, since either choice could be the wrong one.
    static func roles(in archive: NPZArchive, path: String) throws -> [String: (key: String, array: NPYArray)] {
        var found: [String: (key: String, array: NPYArray)] = [:]
        for (role, keys) in aliases {
            let present = keys.filter { archive.member(named: $0) != nil }
            if present.count > 1 {
                throw BatchNormFileError(
                    "\(path): keys \(present.joined(separator: " and ")) both give \(role); keep one")
            }
            if let key = present.first { found[role] = (key, try archive.array(named: key)) }
        }
        return found
    }

    /// x's shape as the engine sees it, after checking that its working memory fits.
    static func shape(of x: NPYArray, layout: ChannelLayout, options: NPYReadOptions, path: String) throws
        -> BatchNormShape
    {
        do {
            let shape = try BatchNormShape(dimensions: x.shape, layout: layout)
            try shape.requireWorkingMemory(atMost: options.maxBytes)
            return shape
        } catch {
            let hint = error.limitExceeded ? "; raise the limit with --max-bytes N if you trust this file" : ""
            throw BatchNormFileError("\(path): x: \(error)\(hint)")
        }
    }

    /// dout, which must have x's shape and dtype.
    static func checkedDout(_ dout: NPYArray, key: String, x: NPYArray, path: String) throws -> NPYArray {
        try requireFloat(dout, key: key, path: path)
        guard dout.shape == x.shape else {
            throw BatchNormFileError("\(path): \(key) has shape \(dout.shape); expected x's shape \(x.shape)")
        }
        guard dout.dtype.kind == x.dtype.kind, dout.dtype.itemSize == x.dtype.itemSize else {
            throw BatchNormFileError(
                "\(path): \(key) has dtype \(dout.dtype.descr); expected x's dtype \(x.dtype.descr)")
        }
        return dout
    }

    /// gamma, beta and the running statistics present, one value per channel each, as
    /// doubles (exact for every float format), and the dtype of the first of them.
    static func channelInputs(
        _ found: [String: (key: String, array: NPYArray)], shape: BatchNormShape, x: NPYArray, layout: ChannelLayout,
        path: String
    ) throws -> (values: [String: [Double]], firstDType: NPYDType?) {
        var values: [String: [Double]] = [:]
        var firstDType: NPYDType? = nil
        for role in ["gamma", "beta", "running_mean", "running_var"] {
            guard let (key, array) = found[role] else { continue }
            try requireFloat(array, key: key, path: path)
            guard array.shape == [shape.channels] else {
                throw BatchNormFileError(
                    "\(path): \(key) has shape \(array.shape); expected (\(shape.channels),), one value per channel of x \(x.shape) (\(layout.rawValue))"
                        + BatchNormInputKeys.layoutHint(length: array.shape, xShape: x.shape, layout: layout))
            }
            values[role] = try array.elements(as: Double.self)
            if firstDType == nil { firstDType = array.dtype }
        }
        return (values, firstDType)
    }

    /// The array's format; a dtype other than float16, bfloat16, float32 or float64 is an
    /// error naming the file and the key.
    @discardableResult
    public static func requireFloat(_ array: NPYArray, key: String, path: String) throws -> StoredFloat {
        guard let format = StoredFloat(array.dtype) else {
            throw BatchNormFileError(
                "\(path): \(key) has dtype \(array.dtype.descr); expected \(floatDescrs)"
                    + BFloat16Declaration.hint(for: array.dtype, key: key))
        }
        return format
    }

    /// Runs the engine with `out` and `dx` rounded into `Output`, whatever x's type.
    public func evaluate<Output: BatchNormFloat>(as _: Output.Type, threads: Int) throws -> BatchNormResult<Output> {
        try storedFloat.dispatch(Evaluation<Output>(file: self, threads: threads))
    }

    /// The engine turns the element types into concrete ones itself, so this generic
    /// function needs no specializations of its own.
    public func evaluate<X: BatchNormFloat & NPYElement, Output: BatchNormFloat>(
        _: X.Type, as _: Output.Type, threads: Int
    ) throws -> BatchNormResult<Output> {
        try withInputBytes(X.self) { xs, ds in
            try ExactBatchNorm.compute(input(xs, ds, X.self), output: Output.self, threads: threads)
        }
    }

    /// Runs the engine a block at a time, `out` and `dx` in x's type, handing each block
    /// to `deliver` (see `ExactBatchNorm.compute(...deliver:)`).
    public func evaluate<X: BatchNormFloat & NPYElement>(
        _: X.Type, threads: Int,
        deliver: (Range<Int>, UnsafeBufferPointer<X>, UnsafeBufferPointer<X>?) throws -> Void
    ) throws -> BatchNormChannels {
        try withInputBytes(X.self) { xs, ds in
            try ExactBatchNorm.compute(input(xs, ds, X.self), output: X.self, threads: threads, deliver: deliver)
        }
    }

    /// The engine's first pass and per-channel algebra, for outputs in x's type: the
    /// per-channel results before any element (see `ExactBatchNorm.prepare`).
    public func prepare<X: BatchNormFloat & NPYElement>(_: X.Type, threads: Int) throws -> PreparedBatchNorm {
        try withInputBytes(X.self) { xs, ds in
            try ExactBatchNorm.prepare(input(xs, ds, X.self), output: X.self, threads: threads)
        }
    }

    /// The element pass of `prepared` (made by `prepare` from this file) a block at a
    /// time, `out` and `dx` in x's type, handing each block to `deliver`.
    public func evaluate<X: BatchNormFloat & NPYElement>(
        _: X.Type, prepared: PreparedBatchNorm, threads: Int,
        deliver: (Range<Int>, UnsafeBufferPointer<X>, UnsafeBufferPointer<X>?) throws -> Void
    ) throws -> BatchNormChannels {
        try withInputBytes(X.self) { xs, ds in
            try ExactBatchNorm.compute(
                input(xs, ds, X.self), prepared: prepared, output: X.self, threads: threads, deliver: deliver)
        }
    }

    /// The engine's input from this file's bytes of `x` and `dout`.
    private func input<X: BatchNormFloat>(
        _ xs: UnsafeRawBufferPointer, _ ds: UnsafeRawBufferPointer?,
        _: X.Type
    ) -> BatchNormInput {
        BatchNormInput(x: xs, dout: ds, elementType: X.elementType, shape: shape, parameters: parameters, mode: mode)
    }

    /// `x` and `dout` as raw bytes of `X` (the memory-mapped arrays are used in place
    /// even when numpy's zip headers left them misaligned), with the engine's errors
    /// named after the input file.
    private func withInputBytes<X: BatchNormFloat & NPYElement, R>(
        _: X.Type, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer?) throws -> R
    ) throws -> R {
        do {
            return try x.withUnsafeElementBytes(as: X.self) { xs in
                guard let dout else { return try body(xs, nil) }
                return try dout.withUnsafeElementBytes(as: X.self) { ds in try body(xs, ds) }
            }
        } catch let error as BatchNormError {
            throw BatchNormFileError("\(path): \(error)")
        }
    }
}

/// `evaluate(_:as:threads:)` for x's stored type.
private struct Evaluation<Output: BatchNormFloat>: StoredFloatBody {
    let file: BatchNormInputFile
    let threads: Int

    func run<X: BatchNormFloat & NPYElement>(_: X.Type) throws -> BatchNormResult<Output> {
        try file.evaluate(X.self, as: Output.self, threads: threads)
    }
}
