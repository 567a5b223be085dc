import CSystemCalls

/// Batch normalization, forward and backward, computed exactly.
///
/// Every output is the value of torch's formulas in real arithmetic on the given input
/// values (eps and momentum as the given doubles), rounded once to nearest-even in the
/// output type. The answer is the same for any thread count, layout or order, because
/// no step rounds before the last: channel sums are exact (``ExactAccumulator``), the
/// per-channel algebra is proven in double-double enclosures (``FastChannelSolve``) or
/// else done in rationals (``ExactRational``) with the one square root kept symbolic
/// (``ExactExpression``), and element outputs come from a certified fast path or the
/// exact one (``ElementKernel``).
///
/// Three entry points take one ``BatchNormInput``: whole output arrays, the caller's
/// output buffers, or output handed over block by block. The block-by-block one also
/// comes in two halves, for a caller that needs the per-channel results before the
/// first element: ``prepare(_:output:threads:)`` (checks, exact sums, per-channel
/// algebra) and ``compute(_:prepared:output:blockBytes:threads:deliver:)`` (the element
/// pass). Each turns the element types into Swift types once (``dispatch(_:output:_:)``),
/// so callers in any module run loops compiled for concrete types.
public enum ExactBatchNorm {
    /// The number of worker threads used when the caller does not say.
    public static var defaultThreadCount: Int { Int(bn_processors_online()) }

    /// `out` and `dx` (when the input has `dout`) as new arrays of `Output`, and the
    /// per-channel results.
    public static func compute<Output: BatchNormFloat>(
        _ input: BatchNormInput, output _: Output.Type, threads: Int = ExactBatchNorm.defaultThreadCount
    ) throws(BatchNormError) -> BatchNormResult<Output> {
        let count = input.shape.elementCount
        var failure: BatchNormError? = nil
        var channels: BatchNormChannels? = nil
        var dxArray: [Output]? = nil
        let outArray = [Output](unsafeUninitializedCapacity: count) { outBuffer, outCount in
            adviseHugePages(UnsafeMutableRawBufferPointer(outBuffer))
            func run(_ dx: UnsafeMutableBufferPointer<Output>?) {
                do {
                    channels = try compute(input, out: outBuffer, dx: dx, threads: threads)
                } catch {
                    failure = error
                }
            }
            if input.dout != nil {
                dxArray = [Output](unsafeUninitializedCapacity: count) { dxBuffer, dxCount in
                    adviseHugePages(UnsafeMutableRawBufferPointer(dxBuffer))
                    run(dxBuffer)
                    dxCount = failure == nil ? count : 0
                }
            } else {
                run(nil)
            }
            outCount = failure == nil ? count : 0
        }
        if let failure { throw failure }
        return BatchNormResult(out: outArray, dx: dxArray, channels: channels!)
    }

    /// Computes into the caller's buffers (the input's element count each, `dx` exactly
    /// when the input has `dout`) and returns the per-channel results. For callers that
    /// reuse their output memory, as torch's allocator does, or write into a mapping.
    public static func compute<Output: BatchNormFloat>(
        _ input: BatchNormInput, out: UnsafeMutableBufferPointer<Output>, dx: UnsafeMutableBufferPointer<Output>?,
        threads: Int = ExactBatchNorm.defaultThreadCount
    ) throws(BatchNormError) -> BatchNormChannels {
        try compute(input, out: out, dx: dx, threads: threads, paths: .all)
    }

    /// Computes block by block and hands each block of `out` (and `dx`) to `deliver`
    /// with the range of element indices it holds, in order; returns the per-channel
    /// results. Only one block of each output is ever in memory (about `blockBytes`
    /// each), so a caller that writes the blocks to a file holds the inputs and little
    /// else: `bnfile run` streams its stored .npz output this way. `deliver` runs on the
    /// calling thread between blocks; an error it throws stops the computation.
    public static func compute<Output: BatchNormFloat>(
        _ input: BatchNormInput, output _: Output.Type, blockBytes: Int = 1 << 20,
        threads: Int = ExactBatchNorm.defaultThreadCount,
        deliver: (
            _ elements: Range<Int>, _ out: UnsafeBufferPointer<Output>,
            _ dx: UnsafeBufferPointer<Output>?
        ) throws -> Void
    ) throws -> BatchNormChannels {
        try compute(
            input, prepared: prepare(input, output: Output.self, threads: threads), output: Output.self,
            blockBytes: blockBytes, threads: threads, deliver: deliver)
    }

    /// The first half of the block-by-block computation: checks `input`, sums every
    /// channel exactly and solves it, for outputs in `Output`. The result's
    /// ``PreparedBatchNorm/channels`` are the per-channel results (with an
    /// ``BatchNormChannels/exactPathCount`` of 0, since no element is computed yet);
    /// ``compute(_:prepared:output:blockBytes:threads:deliver:)`` computes the elements.
    /// The result holds no pointer into `input`: its buffers need to be valid only for
    /// the call.
    public static func prepare<Output: BatchNormFloat>(
        _ input: BatchNormInput, output _: Output.Type, threads: Int = ExactBatchNorm.defaultThreadCount
    ) throws(BatchNormError) -> PreparedBatchNorm {
        try prepare(input, output: Output.self, threads: threads, paths: .all)
    }

    /// ``prepare(_:output:threads:)`` with a choice of paths, for tests.
    static func prepare<Output: BatchNormFloat>(
        _ input: BatchNormInput, output _: Output.Type, threads: Int, paths: EnginePaths
    ) throws(BatchNormError) -> PreparedBatchNorm {
        requireEngineType(Output.self)
        return try dispatch(
            input.elementType, output: Output.elementType, Preparation(input: input, threads: threads, paths: paths))
    }

    /// The second half: the element pass of a problem that
    /// ``prepare(_:output:threads:)`` made from this same `input`, block by block, as
    /// ``compute(_:output:blockBytes:threads:deliver:)`` does it; returns the per-channel
    /// results with the element pass's ``BatchNormChannels/exactPathCount``. The outputs
    /// are the same bits as from one call on the whole input.
    ///
    /// `input` may hold its values at other addresses than when it was prepared, but they
    /// must be the same values: the engine checks, before any work, everything it can
    /// check without reading them (element and output types, shape and layout, mode,
    /// `dout` or not, every parameter bit for bit, buffer lengths) and throws
    /// ``BatchNormError/notThePreparedProblem(_:)`` on a difference; other values of `x`
    /// or `dout` would give meaningless outputs, never a read outside the buffers.
    public static func compute<Output: BatchNormFloat>(
        _ input: BatchNormInput, prepared: PreparedBatchNorm, output _: Output.Type, blockBytes: Int = 1 << 20,
        threads: Int = ExactBatchNorm.defaultThreadCount,
        deliver: (
            _ elements: Range<Int>, _ out: UnsafeBufferPointer<Output>,
            _ dx: UnsafeBufferPointer<Output>?
        ) throws -> Void
    ) throws -> BatchNormChannels {
        requireEngineType(Output.self)
        return try withoutActuallyEscaping(deliver) { deliver in
            let blocks = BlockOutput(input: input, prepared: prepared, blockBytes: blockBytes, threads: threads) {
                elements, out, dx in
                try deliver(
                    elements, out.assumingMemoryBound(to: Output.self),
                    dx.map { $0.assumingMemoryBound(to: Output.self) })
            }
            return try dispatch(input.elementType, output: Output.elementType, blocks)
        }
    }

    /// The whole-buffer computation with a choice of paths: what tests use to force the
    /// exact fallbacks and compare bits.
    static func compute<Output: BatchNormFloat>(
        _ input: BatchNormInput, out: UnsafeMutableBufferPointer<Output>, dx: UnsafeMutableBufferPointer<Output>?,
        threads: Int, paths: EnginePaths
    ) throws(BatchNormError) -> BatchNormChannels {
        requireEngineType(Output.self)
        let count = input.shape.elementCount
        guard out.count == count, (dx == nil) == (input.dout == nil), dx.map({ $0.count == count }) ?? true else {
            throw .lengthMismatch(name: "out or dx buffer", expected: count, found: out.count)
        }
        let placeholder = UnsafeMutableRawPointer(bitPattern: 64)!  // for empty buffers; never written
        let body = WholeOutput(
            input: input, out: out.baseAddress.map { UnsafeMutableRawPointer($0) } ?? placeholder,
            dx: dx.map { $0.baseAddress.map { UnsafeMutableRawPointer($0) } ?? placeholder },
            threads: threads, paths: paths)
        return try dispatch(input.elementType, output: Output.elementType, body)
    }

    /// Refuses an output type the engine does not implement itself: memory is bound to
    /// the type that `elementType` names.
    static func requireEngineType<T: BatchNormFloat>(_: T.Type) {
        let known: [Any.Type] = [Float16.self, BFloat16.self, Float.self, Double.self]
        precondition(
            known.contains { $0 == T.self }, "ExactBatchNorm computes float16, bfloat16, float32 and float64 only")
    }
}

/// The computation into whole output buffers, given as raw memory of the output type.
private struct WholeOutput: ElementTypeBody {
    let input: BatchNormInput
    let out: UnsafeMutableRawPointer
    let dx: UnsafeMutableRawPointer?
    let threads: Int
    let paths: EnginePaths

    func run<X: BatchNormFloat, Output: BatchNormFloat>(data _: X.Type, output _: Output.Type)
        throws(BatchNormError) -> BatchNormChannels
    {
        let prepared = try ExactBatchNorm.prepare(
            input, data: X.self, output: Output.self, threads: threads, paths: paths)
        let solved: ExactBatchNorm.Solved<X, Output> = prepared.bound(to: input)
        let exactPaths = solved.runKernel(
            units: 0..<Tiles(solved.shape).count,
            out: out.assumingMemoryBound(to: Output.self),
            dx: dx?.assumingMemoryBound(to: Output.self), threads: threads)
        return prepared.channels(exactPathCount: exactPaths)
    }
}

/// The first pass and the per-channel algebra, for ``ExactBatchNorm/prepare(_:output:threads:paths:)``.
private struct Preparation: ElementTypeBody {
    let input: BatchNormInput
    let threads: Int
    let paths: EnginePaths

    func run<X: BatchNormFloat, Output: BatchNormFloat>(data _: X.Type, output _: Output.Type)
        throws(BatchNormError) -> PreparedBatchNorm
    {
        try ExactBatchNorm.prepare(input, data: X.self, output: Output.self, threads: threads, paths: paths)
    }
}

/// The element pass of a prepared problem a block of units at a time, each block handed
/// to `deliver` as raw memory of the output type.
private struct BlockOutput: ElementTypeBody {
    let input: BatchNormInput
    let prepared: PreparedBatchNorm
    let blockBytes: Int
    let threads: Int
    let deliver: (Range<Int>, UnsafeRawBufferPointer, UnsafeRawBufferPointer?) throws -> Void

    func run<X: BatchNormFloat, Output: BatchNormFloat>(data _: X.Type, output _: Output.Type)
        throws -> BatchNormChannels
    {
        let solved = try prepared.checkedBinding(to: input, data: X.self, output: Output.self)
        let tiles = Tiles(solved.shape)
        let perUnit = max(1, tiles.firstElement(ofUnit: 1) - tiles.firstElement(ofUnit: 0))
        let unitsPerBlock = max(1, blockBytes / MemoryLayout<Output>.stride / perUnit)
        let capacity = unitsPerBlock * perUnit
        let out = UnsafeMutableBufferPointer<Output>.allocate(capacity: capacity)
        let dx = input.dout == nil ? nil : UnsafeMutableBufferPointer<Output>.allocate(capacity: capacity)
        defer {
            out.deallocate()
            dx?.deallocate()
        }
        var exactPaths = 0
        var unit = 0
        while unit < tiles.count {
            let units = unit..<min(tiles.count, unit + unitsPerBlock)
            let elements = tiles.firstElement(ofUnit: units.lowerBound)..<tiles.firstElement(ofUnit: units.upperBound)
            exactPaths += solved.runKernel(units: units, out: out.baseAddress!, dx: dx?.baseAddress, threads: threads)
            let bytes = elements.count * MemoryLayout<Output>.stride
            try deliver(
                elements, UnsafeRawBufferPointer(start: out.baseAddress, count: bytes),
                dx.map { UnsafeRawBufferPointer(start: $0.baseAddress, count: bytes) })
            unit = units.upperBound
        }
        return prepared.channels(exactPathCount: exactPaths)
    }
}
