#if canImport(Glibc)
import Glibc
#endif

/// The per-channel outputs, by their file key.
public enum ChannelQuantity: String, CaseIterable, Sendable {
    case mean
    case invstd
    case runningMean = "running_mean"
    case runningVar = "running_var"
    case dgamma
    case dbeta
}

/// The per-channel results of one pass, held exactly and rounded into whatever type
/// the caller asks for (torch keeps them in gamma's dtype).
public struct BatchNormChannels: Sendable {
    let channels: [ChannelSolution]
    let hasGradients: Bool
    /// How many elements the fast path could not certify and the exact path computed.
    public let exactPathCount: Int

    /// The quantity for every channel, each rounded once into `P`; nil for the
    /// gradients when no `dout` was given.
    public func perChannel<P: BatchNormFloat>(_ quantity: ChannelQuantity, as _: P.Type) -> [P]? {
        switch quantity {
        case .mean: return channels.map { $0.mean.rounded(as: P.self) }
        case .invstd: return channels.map { $0.invstd.rounded(as: P.self) }
        case .runningMean: return channels.map { $0.runningMean.rounded(as: P.self) }
        case .runningVar: return channels.map { $0.runningVar.rounded(as: P.self) }
        case .dgamma: return hasGradients ? channels.map { $0.dgamma!.rounded(as: P.self) } : nil
        case .dbeta: return hasGradients ? channels.map { $0.dbeta!.rounded(as: P.self) } : nil
        }
    }
}

/// The outputs of one forward and backward pass: `out` and `dx` rounded into `Output`,
/// and the per-channel results.
public struct BatchNormResult<Output: BatchNormFloat>: Sendable {
    public let out: [Output]
    public let dx: [Output]?
    public let channels: BatchNormChannels

    public var exactPathCount: Int { channels.exactPathCount }

    public func perChannel<P: BatchNormFloat>(_ quantity: ChannelQuantity, as type: P.Type) -> [P]? {
        channels.perChannel(quantity, as: type)
    }
}

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
public enum ExactBatchNorm {
    /// The number of worker threads used when the caller does not say.
    public static var defaultThreadCount: Int {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }

    /// Computes from the raw bytes of native-endian, C-order elements of `X`, at any
    /// alignment: a memory-mapped array inside a numpy-written .npz is used in place.
    // Specialized here for the pairs the tool uses (outputs in the input's type, or in
    // float64 for `bnfile diff`), so that callers in other modules get loops compiled
    // for concrete types rather than generic code through witness tables.
    @_specialize(exported: true, where X == Float, Output == Float)
    @_specialize(exported: true, where X == Float16, Output == Float16)
    @_specialize(exported: true, where X == Double, Output == Double)
    @_specialize(exported: true, where X == Float, Output == Double)
    @_specialize(exported: true, where X == Float16, Output == Double)
    @_specialize(exported: true, where X == BFloat16, Output == BFloat16)
    @_specialize(exported: true, where X == BFloat16, Output == Float)
    @_specialize(exported: true, where X == BFloat16, Output == Double)
    public static func compute<X: BatchNormFloat, Output: BatchNormFloat>(
        xBytes: UnsafeRawBufferPointer, doutBytes: UnsafeRawBufferPointer?, elementType: X.Type,
        shape: BatchNormShape, parameters: BatchNormParameters, mode: BatchNormMode, output _: Output.Type,
        threads: Int = ExactBatchNorm.defaultThreadCount
    ) throws(BatchNormError) -> BatchNormResult<Output> {
        let count = shape.elementCount
        var failure: BatchNormError? = nil
        var channels: BatchNormChannels? = nil
        var dxArray: [Output]? = nil
        let outArray = [Output](unsafeUninitializedCapacity: count) { outBuffer, outCount in
            adviseHugePages(UnsafeMutableRawBufferPointer(outBuffer))
            func run(_ dx: UnsafeMutableBufferPointer<Output>?) {
                do {
                    channels = try computeInto(xBytes: xBytes, doutBytes: doutBytes, elementType: elementType,
                                               shape: shape, parameters: parameters, mode: mode,
                                               out: outBuffer, dx: dx, threads: threads)
                } catch {
                    failure = error
                }
            }
            if doutBytes != nil {
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

    /// Computes into the caller's buffers (`count` elements each, `dx` exactly when
    /// `doutBytes` is given) and returns the per-channel results. For callers that
    /// reuse their output memory, as torch's allocator does, or write into a mapping.
    @_specialize(exported: true, where X == Float, Output == Float)
    @_specialize(exported: true, where X == Float16, Output == Float16)
    @_specialize(exported: true, where X == Double, Output == Double)
    @_specialize(exported: true, where X == Float, Output == Double)
    @_specialize(exported: true, where X == Float16, Output == Double)
    @_specialize(exported: true, where X == BFloat16, Output == BFloat16)
    @_specialize(exported: true, where X == BFloat16, Output == Float)
    @_specialize(exported: true, where X == BFloat16, Output == Double)
    public static func compute<X: BatchNormFloat, Output: BatchNormFloat>(
        xBytes: UnsafeRawBufferPointer, doutBytes: UnsafeRawBufferPointer?, elementType: X.Type,
        shape: BatchNormShape, parameters: BatchNormParameters, mode: BatchNormMode,
        out: UnsafeMutableBufferPointer<Output>, dx: UnsafeMutableBufferPointer<Output>?,
        threads: Int = ExactBatchNorm.defaultThreadCount
    ) throws(BatchNormError) -> BatchNormChannels {
        try computeInto(xBytes: xBytes, doutBytes: doutBytes, elementType: elementType, shape: shape,
                        parameters: parameters, mode: mode, out: out, dx: dx, threads: threads)
    }

    /// Computes block by block and hands each block of `out` (and `dx`) to `deliver`
    /// with the range of element indices it holds, in order; returns the per-channel
    /// results. Only one block of each output is ever in memory (about `blockBytes`
    /// each), so a caller that writes the blocks to a file holds the inputs and little
    /// else: `bnfile run` streams its stored .npz output this way. `deliver` runs on the
    /// calling thread between blocks; an error it throws stops the computation.
    @_specialize(exported: true, where X == Float, Output == Float)
    @_specialize(exported: true, where X == Float16, Output == Float16)
    @_specialize(exported: true, where X == Double, Output == Double)
    @_specialize(exported: true, where X == BFloat16, Output == BFloat16)
    public static func compute<X: BatchNormFloat, Output: BatchNormFloat>(
        xBytes: UnsafeRawBufferPointer, doutBytes: UnsafeRawBufferPointer?, elementType: X.Type,
        shape: BatchNormShape, parameters: BatchNormParameters, mode: BatchNormMode, output _: Output.Type,
        blockBytes: Int = 1 << 20, threads: Int = ExactBatchNorm.defaultThreadCount,
        deliver: (_ elements: Range<Int>, _ out: UnsafeBufferPointer<Output>,
                  _ dx: UnsafeBufferPointer<Output>?) throws -> Void
    ) throws -> BatchNormChannels {
        let solved = try solve(xBytes: xBytes, doutBytes: doutBytes, elementType: elementType, shape: shape,
                               parameters: parameters, mode: mode, output: Output.self, threads: threads)
        let tiles = Tiles(solved.shape)
        let perUnit = max(1, tiles.firstElement(ofUnit: 1) - tiles.firstElement(ofUnit: 0))
        let unitsPerBlock = max(1, blockBytes / MemoryLayout<Output>.stride / perUnit)
        let capacity = unitsPerBlock * perUnit
        let out = UnsafeMutableBufferPointer<Output>.allocate(capacity: capacity)
        let dx = doutBytes == nil ? nil : UnsafeMutableBufferPointer<Output>.allocate(capacity: capacity)
        defer { out.deallocate(); dx?.deallocate() }
        var exactPaths = 0
        var unit = 0
        while unit < tiles.count {
            let units = unit ..< min(tiles.count, unit + unitsPerBlock)
            let elements = tiles.firstElement(ofUnit: units.lowerBound) ..< tiles.firstElement(ofUnit: units.upperBound)
            exactPaths += solved.runKernel(units: units, out: out.baseAddress!, dx: dx?.baseAddress, threads: threads)
            try deliver(elements, UnsafeBufferPointer(rebasing: out[0 ..< elements.count]),
                        dx.map { UnsafeBufferPointer(rebasing: $0[0 ..< elements.count]) })
            unit = units.upperBound
        }
        return BatchNormChannels(channels: solved.channels.solutions, hasGradients: doutBytes != nil,
                                 exactPathCount: exactPaths)
    }

    /// The one implementation behind the whole-buffer entry points; the compiler
    /// specializes it inside each of their specializations.
    static func computeInto<X: BatchNormFloat, Output: BatchNormFloat>(
        xBytes: UnsafeRawBufferPointer, doutBytes: UnsafeRawBufferPointer?, elementType _: X.Type,
        shape: BatchNormShape, parameters: BatchNormParameters, mode: BatchNormMode,
        out: UnsafeMutableBufferPointer<Output>, dx: UnsafeMutableBufferPointer<Output>?, threads: Int,
        fastPath: Bool = true, certified: Bool = true
    ) throws(BatchNormError) -> BatchNormChannels {
        let count = shape.elementCount
        guard out.count == count, (dx == nil) == (doutBytes == nil), dx.map({ $0.count == count }) ?? true else {
            throw .lengthMismatch(name: "out or dx buffer", expected: count, found: out.count)
        }
        let solved = try solve(xBytes: xBytes, doutBytes: doutBytes, elementType: X.self, shape: shape,
                               parameters: parameters, mode: mode, output: Output.self, threads: threads,
                               fastPath: fastPath, certified: certified)
        let outBase = out.baseAddress ?? UnsafeMutablePointer(bitPattern: 64)!
        let dxBase = dx.map { $0.baseAddress ?? UnsafeMutablePointer(bitPattern: 64)! }
        let exactPaths = solved.runKernel(units: 0 ..< Tiles(solved.shape).count, out: outBase, dx: dxBase,
                                          threads: threads)
        return BatchNormChannels(channels: solved.channels.solutions, hasGradients: doutBytes != nil,
                                 exactPathCount: exactPaths)
    }

    /// The first pass and the per-channel algebra: everything before the elements'
    /// outputs, which ``Solved/runKernel(units:out:dx:threads:)`` then computes in any
    /// blocks of units.
    static func solve<X: BatchNormFloat, Output: BatchNormFloat>(
        xBytes: UnsafeRawBufferPointer, doutBytes: UnsafeRawBufferPointer?, elementType _: X.Type,
        shape: BatchNormShape, parameters: BatchNormParameters, mode: BatchNormMode, output _: Output.Type,
        threads: Int, fastPath: Bool = true, certified: Bool = true
    ) throws(BatchNormError) -> Solved<X, Output> {
        let size = MemoryLayout<X>.stride
        let count = shape.elementCount
        guard xBytes.count == count * size else {
            throw .lengthMismatch(name: "x", expected: count, found: xBytes.count / size)
        }
        if let doutBytes, doutBytes.count != count * size {
            throw .lengthMismatch(name: "dout", expected: count, found: doutBytes.count / size)
        }
        if mode == .training && shape.valuesPerChannel == 0 {
            throw .noValuesPerChannel(shape: shape.dimensions)
        }
        // Only the unbiased running variance divides by M - 1; torch refuses M = 1
        // whatever it tracks, Keras and Flax (biased) compute var = 0.
        if mode == .training && shape.valuesPerChannel == 1 && parameters.runningVariance == .unbiased {
            throw .oneValuePerChannel(shape: shape.dimensions)
        }
        try parameters.requireValidEps(training: mode == .training)
        try shape.requireBackedChannels(parameters)
        let resolved = try parameters.resolved(channels: shape.channels)
        let threads = max(1, threads)
        let shape = shape.forIteration
        let placeholder = UnsafeRawPointer(bitPattern: 64)!   // for empty buffers; never read
        let xBase = Elements<X>(xBytes.baseAddress ?? placeholder)
        let doutBase = doutBytes.map { Elements<X>($0.baseAddress ?? placeholder) }

        let perChannelBound = ChannelBoundFormulas.applies(data: X.self, output: Output.self)
        let wantsDx = doutBytes != nil
        let (channels, plans) = solveChannels(
            x: xBase, dout: doutBase, shape: shape, mode: mode, parameters: resolved,
            doubleDouble: Output.binaryFormat.precision > 24, threads: threads, fastPath: fastPath,
            certified: certified
        ) { ElementKernel.ChannelPlan($0, fast: $1, wantsDx: wantsDx, perChannelBound: perChannelBound) }
        return Solved(x: xBase, dout: doutBase, shape: shape, channels: channels, plans: plans)
    }

    /// The channels' sums, solutions and element plans (made by `plan`), ``channelChunk``
    /// channels at a time: only one
    /// chunk's sums (a few hundred bytes per channel and thread) exist at once, whatever
    /// the channel count. Should an element later need a channel's exact terms, they are
    /// solved again from sums kept, when there was one chunk, or else summed again from
    /// the channel's own values (``SolvedChannels``).
    static func solveChannels<X: BatchNormFloat>(
        x: Elements<X>, dout: Elements<X>?, shape: BatchNormShape, mode: BatchNormMode,
        parameters: ResolvedParameters, doubleDouble: Bool, threads: Int, fastPath: Bool, certified: Bool,
        plan: (ChannelSolution, FastConstants?) -> ElementKernel.ChannelPlan
    ) -> (SolvedChannels, [ElementKernel.ChannelPlan]) {
        let m = shape.valuesPerChannel, hasDout = dout != nil, training = mode == .training
        let count = shape.channels
        @Sendable func solveExactly(_ c: Int, _ sums: ChannelSums) -> ChannelSolution {
            ChannelSolution.solveExactly(channel: c, sums: sums, count: m, mode: mode, hasDout: hasDout,
                                         parameters: parameters, doubleDouble: doubleDouble)
        }
        var solutions: [ChannelSolution] = [], plans: [ElementKernel.ChannelPlan] = []
        solutions.reserveCapacity(count)
        plans.reserveCapacity(count)
        var kept: [ChannelSums] = []
        for start in stride(from: 0, to: count, by: channelChunk) {
            let chunk = start ..< min(count, start + channelChunk)
            let sums = ChannelSummation.sums(x: x, dout: dout, shape: shape, channels: chunk, training: training,
                                             threads: threads)
            let solved = parallelRanges(count: chunk.count, threads: threads) { range in
                range.map {
                    ChannelSolution.solve(channel: start + $0, sums: sums[$0], count: m, mode: mode, hasDout: hasDout,
                                          parameters: parameters, doubleDouble: doubleDouble, fastPath: fastPath,
                                          certified: certified)
                }
            }
            // The plan keeps the fast constants; the solution, kept for the per-channel
            // results, holds none.
            for part in solved {
                for (solution, fast) in part {
                    plans.append(plan(solution, fast))
                    solutions.append(solution)
                }
            }
            if chunk.count == count { kept = sums }
        }
        let keptSums = kept
        return (SolvedChannels(solutions) { c in
            let sums = keptSums.isEmpty
                ? ChannelSummation.sums(x: x, dout: dout, shape: shape, channels: c ..< c + 1, training: training,
                                        threads: 1)[0]
                : keptSums[c]
            return solveExactly(c, sums)
        }, plans)
    }

    /// Channels per chunk of the first pass.
    static let channelChunk = 8192

    /// A problem after ``solve(xBytes:doutBytes:elementType:shape:parameters:mode:output:threads:fastPath:)``.
    struct Solved<X: BatchNormFloat, Output: BatchNormFloat> {
        let x: Elements<X>
        let dout: Elements<X>?
        let shape: BatchNormShape
        let channels: SolvedChannels
        let plans: [ElementKernel.ChannelPlan]

        /// The second pass over `units`, into `out` and `dx` from their first element.
        /// Double arithmetic certifies float16 and float32 results; float64 results need
        /// double-double.
        func runKernel(units: Range<Int>, out: UnsafeMutablePointer<Output>, dx: UnsafeMutablePointer<Output>?,
                       threads: Int) -> Int {
            if Output.binaryFormat.precision <= 24 {
                return ElementKernel.run(x: x, dout: dout, shape: shape, channels: channels, plans: plans, units: units,
                                         out: out, dx: dx, arithmetic: DoubleArithmetic.self, threads: threads)
            }
            return ElementKernel.run(x: x, dout: dout, shape: shape, channels: channels, plans: plans, units: units,
                                     out: out, dx: dx, arithmetic: DoubleDoubleArithmetic.self, threads: threads)
        }
    }
}

/// Asks Linux to back a fresh output buffer with 2 MiB pages where it can.
///
/// The outputs are written once, so every 4 KiB page costs a fault and a zeroing on
/// first touch: for the (32,64,56,56) benchmark that was a third of the engine's time.
/// With transparent huge pages in `madvise` mode (the usual default) this hint cuts the
/// faults 512-fold. Only whole 2 MiB blocks inside the buffer are affected; elsewhere,
/// and on other systems, nothing changes.
private func adviseHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
    #if os(Linux)
    let huge = 2 << 20
    guard let base = buffer.baseAddress, buffer.count >= 2 * huge else { return }
    let start = (Int(bitPattern: base) + huge - 1) / huge * huge
    let end = (Int(bitPattern: base) + buffer.count) / huge * huge
    guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
    _ = madvise(aligned, end - start, MADV_HUGEPAGE)
    #endif
}
