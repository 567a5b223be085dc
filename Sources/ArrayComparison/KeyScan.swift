import Dispatch

/// Everything bnfile says about one key, computed a block at a time from sources that
/// fill blocks of values (`ValueBlocks`): the one implementation behind
/// `KeyReport.compare`, `KeyComparison.compare` and `TruthJudgement.judge`.
///
/// The caller hands over ranges of flat positions (`run`), in any order and any sizes,
/// covering every position of the shape exactly once, then asks for the report
/// (`finish`). Each range is cut among the threads; each thread keeps its own figures,
/// merged at the end. Every figure is a count, a maximum or a list of the worst elements
/// under a total order, and each element's figures depend on its own values only, so the
/// report is the same for any ranges and any thread count.
///
/// Memory: per thread, one block of each source's values and the figures' counters (a
/// few per channel); nothing grows with the array but the per-channel figures.
public final class KeyScan: @unchecked Sendable {
    /// Elements per block: small enough that a block of every source stays in the
    /// first-level cache, large enough that a call per block costs nothing.
    public static let blockSize = 256

    /// What judging both sides against the truth needs besides the values: each side's
    /// format (its truth is rounded into it, its errors are in its u), M for the
    /// threshold, and the threshold.
    public struct Truth: Sendable {
        public var formatA: FloatFormat
        public var formatB: FloatFormat
        public var valuesPerChannel: Int
        public var threshold: RoundingThreshold

        public init(
            formatA: FloatFormat, formatB: FloatFormat, valuesPerChannel: Int,
            threshold: RoundingThreshold = .standard
        ) {
            (self.formatA, self.formatB, self.valuesPerChannel, self.threshold) =
                (formatA, formatB, valuesPerChannel, threshold)
        }
    }

    /// Where one range's values come from. `truthB` nil: B's truth is A's (one format);
    /// `truthA` and `scale` are read only when the scan judges.
    public struct Sources: Sendable {
        public var a: any ValueBlocks
        public var b: any ValueBlocks
        public var truthA: (any ValueBlocks)?
        public var truthB: (any ValueBlocks)?
        public var scale: (any ValueBlocks)?

        public init(
            a: any ValueBlocks, b: any ValueBlocks, truthA: (any ValueBlocks)? = nil,
            truthB: (any ValueBlocks)? = nil, scale: (any ValueBlocks)? = nil
        ) {
            (self.a, self.b, self.truthA, self.truthB, self.scale) = (a, b, truthA, truthB, scale)
        }
    }

    /// One range of one key's positions and where its values come from.
    public struct Part: Sendable {
        public var scan: KeyScan
        public var range: Range<Int>
        public var sources: Sources

        public init(scan: KeyScan, range: Range<Int>, sources: Sources) {
            (self.scan, self.range, self.sources) = (scan, range, sources)
        }
    }

    let shape: [Int]
    let format: FloatFormat
    let tolerance: Tolerance
    let equalNaN: Bool
    let topK: Int
    let truth: Truth?
    let limit: Double
    /// B is A: the same values in the same format, against the same truth (a file judged
    /// against itself). B's values are not read, and B's judgement is A's.
    let sameSides: Bool
    let compares: Bool
    let workers: Int
    let comparisons: UnsafeMutablePointer<ComparisonScan>?
    let sidesA: UnsafeMutablePointer<TruthScan>?
    let sidesB: UnsafeMutablePointer<TruthScan>?

    /// - Parameters:
    ///   - format, tolerance, channelAxis, equalNaN, topK: as `KeyComparison.compare`.
    ///   - truth: judge both sides against a truth (the sources then give it and the
    ///     scale), along `channelAxis`, or axis 0 for a 1-d array: each element of a
    ///     per-channel array is its own channel.
    ///   - sameSides: B is A (its values, format and truth).
    ///   - threads: the most threads any `run` will use.
    public convenience init(
        shape: [Int], format: FloatFormat, tolerance: Tolerance, channelAxis: Int? = 1,
        equalNaN: Bool = false, topK: Int = 10, truth: Truth? = nil, sameSides: Bool = false,
        threads: Int = 1
    ) {
        self.init(
            shape: shape, format: format, tolerance: tolerance, channelAxis: channelAxis,
            truthChannelAxis: shape.count == 1 ? 0 : channelAxis, equalNaN: equalNaN, topK: topK,
            truth: truth, sameSides: sameSides, compares: true, identicalShortcut: true, threads: threads)
    }

    init(
        shape: [Int], format: FloatFormat, tolerance: Tolerance, channelAxis: Int?, truthChannelAxis: Int?,
        equalNaN: Bool, topK: Int, truth: Truth?, sameSides: Bool, compares: Bool, identicalShortcut: Bool,
        threads: Int
    ) {
        (self.shape, self.format, self.tolerance, self.equalNaN, self.topK) = (shape, format, tolerance, equalNaN, topK)
        (self.truth, self.sameSides, self.compares) = (truth, sameSides, compares)
        let workers = max(1, threads)
        self.workers = workers
        let limit = truth.map { $0.threshold.limit(valuesPerChannel: $0.valuesPerChannel) } ?? 0
        self.limit = limit
        let split = ChannelSplit(shape: shape, axis: channelAxis)
        comparisons =
            compares
            ? Self.states(workers) {
                ComparisonScan(
                    format: format, tolerance: tolerance, equalNaN: equalNaN, split: split, topK: topK,
                    identicalShortcut: identicalShortcut)
            } : nil
        let truthSplit = ChannelSplit(shape: shape, axis: truthChannelAxis)
        sidesA = truth.map { truth in
            Self.states(workers) { TruthScan(format: truth.formatA, limit: limit, topK: topK, split: truthSplit) }
        }
        sidesB = truth.flatMap { truth in
            sameSides
                ? nil
                : Self.states(workers) { TruthScan(format: truth.formatB, limit: limit, topK: topK, split: truthSplit) }
        }
    }

    deinit {
        comparisons?.deinitialize(count: workers)
        comparisons?.deallocate()
        sidesA?.deinitialize(count: workers)
        sidesA?.deallocate()
        sidesB?.deinitialize(count: workers)
        sidesB?.deallocate()
    }

    /// Per-thread states in memory of their own: threads update them at once, which a
    /// Swift array's exclusivity checks would refuse.
    private static func states<S>(_ count: Int, _ make: () -> S) -> UnsafeMutablePointer<S> {
        let states = UnsafeMutablePointer<S>.allocate(capacity: count)
        for w in 0..<count { (states + w).initialize(to: make()) }
        return states
    }
}
