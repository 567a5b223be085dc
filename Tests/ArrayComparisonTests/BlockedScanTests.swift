import TestSupport
import Testing

@testable import ArrayComparison

/// `KeyScan` (blocks from sources, read in place or filled, cut among threads, the
/// vectorizing kernels) against the element-by-element definitions written here: the
/// same reports, to the bit, for any cut of the array into ranges, any order of the
/// ranges and any thread count.
@Suite struct BlockedScanTests {
    // MARK: - The definitions, element by element

    /// The A/B comparison as one pass of `ElementFigures`, element after element.
    static func referenceComparison(
        _ a: [Double], _ b: [Double], shape: [Int], format: FloatFormat,
        tolerance: Tolerance, axis: Int?, equalNaN: Bool, topK: Int
    ) -> KeyComparison {
        let split = ChannelSplit(shape: shape, axis: axis)
        var c = ReferenceCounts(channels: split.breakdownCount)
        var histogram = HistogramCounter(), worst = WorstElements(capacity: max(topK, 1))
        for i in a.indices {
            let f = ElementFigures(comparing: a[i], b[i], format: format, tolerance: tolerance, equalNaN: equalNaN)
            let channel = (i / split.inner) % split.channels
            if !c.count.isEmpty { c.count[channel] += 1 }
            if !f.matches {
                c.mismatched += 1
                histogram.beyondLimit += 1
                if !c.count.isEmpty { c.channelMismatched[channel] += 1 }
            }
            switch f.kind {
            case .finite:
                let ulp = f.ulpDistance!
                c.maxAbsolute = max(c.maxAbsolute, f.absoluteDifference)
                if abs(b[i]) >= format.smallestNormal { c.maxRelative = max(c.maxRelative ?? 0, f.relativeDifference) }
                c.maxULP = max(c.maxULP, ulp)
                if !c.count.isEmpty {
                    c.channelMaxAbsolute[channel] = max(c.channelMaxAbsolute[channel], f.absoluteDifference)
                    c.channelMaxULP[channel] = max(c.channelMaxULP[channel], ulp)
                }
                histogram.add(ulp: ulp)
                if a[i] != 0 && b[i] != 0 && a[i].sign != b[i].sign { c.signFlips += 1 }
            case .sameInfinity: histogram.add(ulp: 0)
            default:
                c.nonFinite.count(f.kind)
                histogram.addNonFinite()
            }
            if f.excess > 0 {
                if !c.count.isEmpty { c.channelMaxExcess[channel] = max(c.channelMaxExcess[channel], f.excess) }
                worst.offer(
                    RankedElement(
                        primary: f.excess, secondary: f.ulpDistance ?? .max, flatIndex: i,
                        values: ElementValues(a: a[i], b: b[i])))
            }
        }
        return c.comparison(
            a, b, shape: shape, split: split, format: format, tolerance: tolerance, equalNaN: equalNaN,
            topK: topK, histogram: histogram, worst: worst)
    }

    /// The report of a key with a truth, from the definitions: the comparison, each side
    /// judged by `roundingError` (`FastPathTests.referenceSide`), the offenders annotated.
    static func referenceReport(_ p: Problem, topK: Int, equalNaN: Bool = false) -> KeyReport {
        var comparison = referenceComparison(
            p.a, p.b, shape: p.shape, format: p.format, tolerance: p.tolerance,
            axis: p.axis, equalNaN: equalNaN, topK: topK)
        let limit = RoundingThreshold.standard.limit(valuesPerChannel: p.valuesPerChannel)
        let truthAxis = p.shape.count == 1 ? 0 : p.axis
        let sideA = FastPathTests.referenceSide(
            p.a, truth: p.truthA, scale: p.scale, shape: p.shape,
            format: p.formatA, limit: limit, topK: topK, axis: truthAxis)
        let sideB = FastPathTests.referenceSide(
            p.b, truth: p.truthB, scale: p.scale, shape: p.shape,
            format: p.formatB, limit: limit, topK: topK, axis: truthAxis)
        let annotate = { (offender: Offender) -> Offender in
            var o = offender
            let i = o.flatIndex
            o.truth = p.truthA[i]
            o.errorA = roundingError(
                value: p.a[i], truth: p.truthA[i], scale: p.scale[i],
                unitRoundoff: p.formatA.unitRoundoff, subnormalStep: p.formatA.leastNonzeroMagnitude)
            o.errorB = roundingError(
                value: p.b[i], truth: p.truthB[i], scale: p.scale[i],
                unitRoundoff: p.formatB.unitRoundoff, subnormalStep: p.formatB.leastNonzeroMagnitude)
            return o
        }
        comparison.worst = comparison.worst.map(annotate)
        comparison.topOffenders = comparison.topOffenders.map(annotate)
        let judgement = TruthJudgement(
            format: p.formatA, unitRoundoff: p.formatA.unitRoundoff,
            valuesPerChannel: p.valuesPerChannel, threshold: limit,
            thresholdRule: RoundingThreshold.standard.rule, a: sideA, b: sideB)
        return KeyReport(key: "k", outcome: .compared(comparison), truth: judgement)
    }

    // MARK: - Problems

    /// A key's two sides, each side's truth and the scale, on the formats' grids: values
    /// a few roundings from the truth, some equal, some identical in A and B, and (when
    /// asked) NaN, infinities, signed zeros, subnormals, zero and NaN scales.
    struct Problem {
        var a: [Double], b: [Double], truthA: [Double], truthB: [Double], scale: [Double]
        var shape: [Int], axis: Int?, format: FloatFormat, formatA: FloatFormat, formatB: FloatFormat
        var tolerance: Tolerance { .resolved(for: format) }
        let valuesPerChannel = 280

        init(shape: [Int], axis: Int?, formatA: FloatFormat, formatB: FloatFormat, hostile: Bool, seed: UInt64) {
            var g = SplitMix(state: seed)
            let count = shape.reduce(1, *)
            (self.shape, self.axis, self.formatA, self.formatB) = (shape, axis, formatA, formatB)
            format = formatA.precision <= formatB.precision ? formatA : formatB
            (a, b, truthA, truthB, scale) = ([], [], [], [], [])
            for i in 0..<count {
                let exact = (g.unit() * 4 - 2) * (i % 97 == 0 ? 1e-40 : 1)
                let s = g.unit() * 3, u = formatA.unitRoundoff
                var ta = Self.onGrid(exact, formatA), tb = Self.onGrid(exact, formatB), ss = s
                var va =
                    g.next() % 4 == 0 ? ta : Self.onGrid(ta + ((g.unit() * 40).rounded(.down) - 20) * u * s, formatA)
                var vb =
                    g.next() % 3 == 0
                    ? Self.onGrid(va, formatB) : Self.onGrid(tb + (g.unit() - 0.5) * 8 * u * s, formatB)
                if i / 600 % 3 == 1 { vb = Self.onGrid(va, formatB) }  // runs of identical pairs
                if hostile {
                    switch g.next() % 29 {
                    case 0: va = .nan
                    case 1: vb = .nan
                    case 2: (va, vb) = (.nan, .nan)
                    case 3: va = .infinity
                    case 4: (va, vb) = (-.infinity, -.infinity)
                    case 5: (va, vb) = (.infinity, -.infinity)
                    case 6: ss = 0
                    case 7: ss = .nan
                    case 8: (ta, tb) = (.nan, .nan)
                    case 9: (va, vb, ta, tb) = (-0.0, 0, 0, -0.0)
                    case 10: (va, vb) = (-va, va)
                    case 11: (va, vb) = (va.magnitude, -0.0)  // a zero against a number of the other sign
                    case 12: (va, vb) = (-va.magnitude, 0)
                    default: break
                    }
                }
                a.append(va)
                b.append(vb)
                truthA.append(ta)
                truthB.append(tb)
                scale.append(ss)
            }
        }

        static func onGrid(_ x: Double, _ format: FloatFormat) -> Double {
            switch format {
            case .float16: Double(Float16(x))
            case .bfloat16: Double(Float(bitPattern: Float(x).bitPattern & 0xFFFF_0000))
            case .float32: Double(Float(x))
            case .float64: x
            }
        }

        var truth: KeyScan.Truth {
            KeyScan.Truth(formatA: formatA, formatB: formatB, valuesPerChannel: valuesPerChannel)
        }

        var sources: KeyScan.Sources {
            KeyScan.Sources(
                a: ArrayBlocks(a), b: ArrayBlocks(b), truthA: ArrayBlocks(truthA),
                truthB: formatA == formatB && truthA.elementsEqual(truthB, by: { $0.bitPattern == $1.bitPattern })
                    ? nil : ArrayBlocks(truthB),
                scale: ArrayBlocks(scale))
        }
    }

    /// `KeyScan` over the problem cut into ranges at `cuts`, taken in a shuffled order,
    /// its values from `sources` (default the problem's arrays of doubles).
    static func scanned(
        _ p: Problem, threads: Int, seed: UInt64, topK: Int = 4, sources: KeyScan.Sources? = nil
    ) -> KeyReport {
        let total = p.a.count
        var g = SplitMix(state: seed)
        var bounds = [0, total]
        for _ in 0..<Int(g.next() % 6) { bounds.append(Int(g.next() % UInt64(total + 1))) }
        bounds.sort()
        var ranges = zip(bounds, bounds.dropFirst()).map { $0..<$1 }
        for i in ranges.indices.reversed() { ranges.swapAt(i, Int(g.next() % UInt64(i + 1))) }
        let scan = KeyScan(
            shape: p.shape, format: p.format, tolerance: p.tolerance, channelAxis: p.axis, topK: topK,
            truth: p.truth, threads: threads)
        let sources = sources ?? p.sources
        KeyScan.run(ranges.map { KeyScan.Part(scan: scan, range: $0, sources: sources) }, threads: threads)
        return scan.finish(key: "k")
    }

    static let shapes: [([Int], Int?)] = [
        ([1000], 1), ([7, 300], 1), ([4, 3, 2, 100], 1), ([4, 10, 10, 3], -1), ([2, 5, 3], 1), ([3, 700], nil),
    ]

    @Test(arguments: [FloatFormat.float16, .bfloat16, .float32, .float64], [false, true])
    func blocksAndThreadsGiveTheDefinitionsReports(format: FloatFormat, hostile: Bool) {
        for (index, (shape, axis)) in Self.shapes.enumerated() {
            let p = Problem(
                shape: shape, axis: axis, formatA: format, formatB: format, hostile: hostile,
                seed: UInt64(index * 7 + (hostile ? 100 : 0)))
            let reference = Self.referenceReport(p, topK: 4)
            for threads in [1, 2, 3] {
                let report = Self.scanned(p, threads: threads, seed: UInt64(threads * 13 + index))
                // Compared as text: a NaN element makes `==` false even for identical reports.
                #expect("\(report)" == "\(reference)", "\(format) hostile \(hostile) shape \(shape) threads \(threads)")
            }
        }
    }

    /// A float32 and B float64 (the notebook's dx): compared on float32's grid, each side
    /// judged against the truth in its own format.
    @Test(arguments: [false, true])
    func mixedFormatsGiveTheDefinitionsReports(hostile: Bool) {
        for (formatA, formatB) in [
            (FloatFormat.float32, FloatFormat.float64), (.float64, .float16), (.bfloat16, .float32),
        ] {
            let p = Problem(shape: [4, 3, 100], axis: 1, formatA: formatA, formatB: formatB, hostile: hostile, seed: 5)
            let reference = Self.referenceReport(p, topK: 5)
            for threads in [1, 2] {
                #expect(
                    "\(Self.scanned(p, threads: threads, seed: 9, topK: 5))" == "\(reference)",
                    "\(formatA) vs \(formatB)")
            }
        }
    }

    /// Values read where they are stored (`ValueBlocks.stored`), at an odd address as in
    /// an .npz: float32 ones by the float32 kernels, float64 ones in place by the double
    /// kernels; and a mixture (B's values and the truth filled as doubles, A's stored as
    /// float32 and so filled too). The definitions' reports, as from arrays of doubles.
    @Test(arguments: [FloatFormat.float32, .float64], [false, true])
    func valuesReadWhereTheyAreStoredGiveTheDefinitionsReports(format: FloatFormat, hostile: Bool) {
        for (index, (shape, axis)) in Self.shapes.enumerated() {
            let p = Problem(
                shape: shape, axis: axis, formatA: format, formatB: format, hostile: hostile,
                seed: UInt64(index * 11 + (hostile ? 50 : 0)))
            let reference = Self.referenceReport(p, topK: 4)
            let width: StoredBlock.Width = format == .float32 ? .float32 : .float64
            let (a, b) = (StoredNumbers(p.a, width), StoredNumbers(p.b, width))
            let (truthA, truthB, scale) = (StoredNumbers(p.truthA, width), StoredNumbers(p.truthB, width), p.scale)
            let stored = KeyScan.Sources(a: a, b: b, truthA: truthA, truthB: truthB, scale: ArrayBlocks(scale))
            let mixed = KeyScan.Sources(
                a: a, b: ArrayBlocks(p.b), truthA: ArrayBlocks(p.truthA), truthB: truthB, scale: ArrayBlocks(scale))
            for threads in [1, 2, 3] {
                for sources in [stored, mixed] {
                    let report = Self.scanned(p, threads: threads, seed: UInt64(threads * 5 + index), sources: sources)
                    // Compared as text: a NaN element makes `==` false even for identical reports.
                    #expect(
                        "\(report)" == "\(reference)", "\(format) hostile \(hostile) shape \(shape) threads \(threads)")
                }
            }
        }
    }

    /// References all below the normal range (B subnormal, A normal) give no relative
    /// figure, in the kernels for values in place as in the definition; one normal
    /// reference among them gives one.
    @Test(arguments: [FloatFormat.float32, .float64])
    func referencesBelowTheNormalRangeGiveNoRelativeFigure(format: FloatFormat) {
        var p = Problem(shape: [3, 300], axis: nil, formatA: format, formatB: format, hostile: false, seed: 21)
        let tiny = format.smallestNormal
        p.b = p.b.indices.map { i in Problem.onGrid(tiny * Double(i % 7) / 8, format) }
        for normal in [false, true] {
            if normal { p.b[450] = 1 }
            let reference = Self.referenceComparison(
                p.a, p.b, shape: p.shape, format: format, tolerance: p.tolerance, axis: nil, equalNaN: false,
                topK: 4)
            #expect((reference.maxRelativeDifference == nil) == !normal)
            let width: StoredBlock.Width = format == .float32 ? .float32 : .float64
            let scan = KeyScan(
                shape: p.shape, format: format, tolerance: p.tolerance, channelAxis: nil, topK: 4, threads: 2)
            let sources = KeyScan.Sources(a: StoredNumbers(p.a, width), b: StoredNumbers(p.b, width))
            KeyScan.run([KeyScan.Part(scan: scan, range: 0..<900, sources: sources)], threads: 2)
            #expect("\(scan.finishComparison())" == "\(reference)", "\(format), a normal reference: \(normal)")
        }
    }

    /// The array entry points are the scan too: the same reports for every thread count.
    @Test func plainComparisonMatchesTheDefinitionForEveryThreadCount() {
        let p = Problem(shape: [6, 5, 40], axis: 1, formatA: .float32, formatB: .float32, hostile: true, seed: 11)
        let reference = Self.referenceComparison(
            p.a, p.b, shape: p.shape, format: .float32, tolerance: p.tolerance,
            axis: 1, equalNaN: true, topK: 3)
        for threads in [1, 2, 4] {
            let blocked = KeyComparison.compare(
                p.a, p.b, shape: p.shape, format: .float32, tolerance: p.tolerance,
                channelAxis: 1, equalNaN: true, topK: 3, identicalShortcut: true,
                threads: threads)
            #expect("\(blocked)" == "\(reference)", "threads \(threads)")
        }
    }

    /// A side that is B itself (a file judged against itself) reads B's values nowhere
    /// and reports A's judgement for it, which is what judging B again would give.
    @Test func sameSidesReportWhatJudgingBothWould() {
        var p = Problem(shape: [3, 4, 50], axis: 1, formatA: .float32, formatB: .float32, hostile: true, seed: 3)
        p.b = p.a
        p.truthB = p.truthA
        let reference = Self.referenceReport(p, topK: 3)
        let scan = KeyScan(
            shape: p.shape, format: .float32, tolerance: p.tolerance, channelAxis: 1, topK: 3,
            truth: p.truth, sameSides: true, threads: 2)
        let sources = KeyScan.Sources(
            a: ArrayBlocks(p.a), b: ArrayBlocks([]), truthA: ArrayBlocks(p.truthA),
            scale: ArrayBlocks(p.scale))
        KeyScan.run([KeyScan.Part(scan: scan, range: 0..<p.a.count, sources: sources)], threads: 2)
        #expect("\(scan.finish(key: "k"))" == "\(reference)")
    }
}

/// The counters of `BlockedScanTests.referenceComparison`.
struct ReferenceCounts {
    var mismatched = 0, maxAbsolute = 0.0, maxRelative: Double? = nil, maxULP: UInt64 = 0
    var nonFinite = NonFiniteCounts(), signFlips = 0
    var count: [Int], channelMismatched: [Int], channelMaxAbsolute: [Double], channelMaxULP: [UInt64]
    var channelMaxExcess: [Double]

    init(channels: Int) {
        (count, channelMismatched) = (Array(repeating: 0, count: channels), Array(repeating: 0, count: channels))
        (channelMaxAbsolute, channelMaxExcess) = (
            Array(repeating: 0, count: channels), Array(repeating: 0, count: channels)
        )
        channelMaxULP = Array(repeating: 0, count: channels)
    }

    func comparison(
        _ a: [Double], _ b: [Double], shape: [Int], split: ChannelSplit, format: FloatFormat,
        tolerance: Tolerance, equalNaN: Bool, topK: Int, histogram: HistogramCounter,
        worst: WorstElements
    ) -> KeyComparison {
        let channels = count.indices.map {
            ChannelSummary(
                channel: $0, count: count[$0], mismatched: channelMismatched[$0],
                maxAbsoluteDifference: channelMaxAbsolute[$0], maxULPDistance: channelMaxULP[$0],
                maxExcess: channelMaxExcess[$0])
        }
        let offender = { (r: RankedElement) in
            Offender(
                flatIndex: r.flatIndex, index: multiIndex(ofFlat: r.flatIndex, shape: shape), a: a[r.flatIndex],
                b: b[r.flatIndex],
                figures: ElementFigures(
                    comparing: a[r.flatIndex], b[r.flatIndex], format: format,
                    tolerance: tolerance, equalNaN: equalNaN))
        }
        let ranked = worst.sorted()
        return KeyComparison(
            shape: shape, format: format, tolerance: tolerance, equalNaN: equalNaN,
            verdict: mismatched == 0 ? .match : .mismatch, total: a.count, mismatched: mismatched,
            mismatchedPercent: a.isEmpty ? 0 : 100 * Double(mismatched) / Double(a.count),
            maxAbsoluteDifference: maxAbsolute, maxRelativeDifference: maxRelative, maxULPDistance: maxULP,
            worst: ranked.first.map(offender), channelAxis: split.axis, channels: channels,
            worstChannel: ranked.isEmpty ? nil : KeyComparison.worstChannel(of: channels), nonFinite: nonFinite,
            signFlips: signFlips, topOffenders: ranked.prefix(topK).map(offender),
            histogram: histogram.histogram(unit: "ulp", limitLabel: "beyond tolerance"))
    }
}

/// Values held as float32 or float64 numbers in memory of their own, one byte past an
/// aligned address (as arrays inside an .npz usually are): a source that says where
/// they lie (`stored`) and fills doubles from them too.
final class StoredNumbers: ValueBlocks, @unchecked Sendable {
    let memory: UnsafeMutableRawPointer
    let base: UnsafeMutableRawPointer
    let width: StoredBlock.Width

    init(_ values: [Double], _ width: StoredBlock.Width) {
        let size = width == .float32 ? 4 : 8
        memory = .allocate(byteCount: values.count * size + 1, alignment: 16)
        base = memory + 1
        self.width = width
        for (i, v) in values.enumerated() {
            if width == .float32 {
                base.storeBytes(of: Float(v), toByteOffset: i * 4, as: Float.self)
            } else {
                base.storeBytes(of: v, toByteOffset: i * 8, as: Double.self)
            }
        }
    }

    deinit { memory.deallocate() }

    func fill(_ range: Range<Int>, into destination: UnsafeMutablePointer<Double>) {
        for i in range {
            destination[i - range.lowerBound] =
                width == .float32
                ? Double(base.loadUnaligned(fromByteOffset: i * 4, as: Float.self))
                : base.loadUnaligned(fromByteOffset: i * 8, as: Double.self)
        }
    }

    func stored(_ range: Range<Int>) -> StoredBlock? {
        StoredBlock(base: base + range.lowerBound * (width == .float32 ? 4 : 8), width: width)
    }
}
