import TestSupport
import Testing

@testable import ArrayComparison

/// The judging loops' fast paths (blocked error computation, branch-free histogram
/// buckets, the shortcut for identical arrays) against plain element-by-element
/// definitions written here: they must give the same figures, not nearly the same.
@Suite struct FastPathTests {
    // MARK: - Histogram buckets

    /// 1 + ceil(log2(error)), capped, from `exponent`: the definition, with branches.
    static func referenceBucket(_ error: Double) -> Int {
        if error <= 0 { return 0 }
        if error <= 1 { return 1 }
        let floorLog2 = Int(error.exponent)
        let ceilLog2 = error.significandBitPattern == 0 ? floorLog2 : floorLog2 + 1
        return min(1 + ceilLog2, HistogramCounter.bucketCount - 1)
    }

    @Test func branchFreeBucketsMatchTheDefinition() {
        var errors: [Double] = [
            0, .leastNonzeroMagnitude, .leastNormalMagnitude, 0.5, 1, 1.5, 2, .greatestFiniteMagnitude,
        ]
        for k in -1074...1023 {
            let p = Double(sign: .plus, exponent: k, significand: 1)
            errors += [p, p.nextUp, p.nextDown]
        }
        var generator = SplitMix(state: 7)
        for _ in 0..<10_000 { errors.append(Double(bitPattern: generator.next() >> 1)) }
        for error in errors where error.isFinite {
            #expect(HistogramCounter.bucket(error: error) == Self.referenceBucket(error), "\(error)")
        }
    }

    /// The kernels' branch-free ULP buckets against `bucket(ulp:)`, at every power of two
    /// and beside it, across the 32-bit halves the computation splits at, and up to the
    /// largest distance.
    @Test func branchFreeULPBucketsMatchTheDefinition() {
        var distances: [UInt64] = [0, 1, 2, 3, .max, .max - 1, 1 << 63, UInt64(UInt32.max), UInt64(UInt32.max) - 1]
        for k in 1..<64 { distances += [UInt64(1) << k, (UInt64(1) << k) - 1, (UInt64(1) << k) + 1] }
        var generator = SplitMix(state: 9)
        for _ in 0..<4000 { distances.append(generator.next() >> (generator.next() % 64)) }
        for distance in distances {
            #expect(
                Int(HistogramCounter.bucketWithoutBranches(ulp: distance)) == HistogramCounter.bucket(ulp: distance),
                "\(distance)")
            if distance <= UInt32.max {
                #expect(
                    Int(HistogramCounter.bucketWithoutBranches(ulp32: UInt32(distance)))
                        == HistogramCounter.bucket(ulp: distance), "\(distance) in 32 bits")
            }
        }
    }

    // MARK: - Judging one side

    /// The judgement by `roundingError`, element after element.
    static func referenceSide(
        _ values: [Double], truth: [Double], scale: [Double], shape: [Int],
        format: FloatFormat, limit: Double, topK: Int, axis: Int?
    ) -> SideJudgement {
        let split = ChannelSplit(shape: shape, axis: axis)
        var channelMax = [Double](repeating: 0, count: split.axis == nil ? 0 : split.channels)
        var histogram = HistogramCounter(), worst = WorstElements(capacity: max(topK, 1))
        var allEqual = true, maxError = 0.0
        for i in values.indices {
            let error = roundingError(
                value: values[i], truth: truth[i], scale: scale[i],
                unitRoundoff: format.unitRoundoff, subnormalStep: format.leastNonzeroMagnitude)
            allEqual = allEqual && equalsTruth(values[i], truth[i])
            maxError = max(maxError, error)
            if !channelMax.isEmpty {
                let c = (i / split.inner) % split.channels
                channelMax[c] = max(channelMax[c], error)
            }
            histogram.add(error: error)
            if error > limit { histogram.beyondLimit += 1 }
            if error > 0 {
                worst.offer(
                    RankedElement(
                        primary: error, secondary: 0, flatIndex: i,
                        values: ElementValues(a: values[i], b: .nan, truthA: truth[i], scale: scale[i])))
            }
        }
        let elements = worst.sorted().map {
            TruthElement(
                flatIndex: $0.flatIndex, index: multiIndex(ofFlat: $0.flatIndex, shape: shape),
                value: values[$0.flatIndex], truth: truth[$0.flatIndex], scale: scale[$0.flatIndex],
                error: $0.primary)
        }
        return SideJudgement(
            format: format, verdict: allEqual ? .exact : (maxError <= limit ? .withinRounding : .beyondRounding),
            maxError: maxError, worst: elements.first, topOffenders: Array(elements.prefix(max(topK, 0))),
            histogram: histogram.histogram(unit: "u*scale", limitLabel: "beyond rounding"), channelMaxError: channelMax)
    }

    /// Values a few roundings from the truth, some equal, and (when asked) the hostile
    /// ones: NaN on either side, infinities, zero and NaN scales, subnormal truths.
    static func side(count: Int, hostile: Bool, seed: UInt64) -> (values: [Double], truth: [Double], scale: [Double]) {
        var generator = SplitMix(state: seed)
        var values: [Double] = [], truth: [Double] = [], scale: [Double] = []
        let u = FloatFormat.float32.unitRoundoff
        for _ in 0..<count {
            let t = generator.unit() * 4 - 2, s = generator.unit() * 3
            let roundings = (generator.unit() * 30).rounded(.down) - 10
            var v = generator.next() % 5 == 0 ? t : t + roundings * u * s
            var (tt, ss) = (t, s)
            if hostile {
                switch generator.next() % 24 {
                case 0: v = .nan
                case 1: tt = .nan
                case 2: (v, tt) = (.nan, .nan)
                case 3: v = .infinity
                case 4: (v, tt) = (-.infinity, -.infinity)
                case 5: ss = 0
                case 6: ss = .nan
                case 7: (v, tt, ss) = (3e-45, 0, 0)
                case 8: (v, tt, ss) = (-0.0, 0, -0.0)
                default: break
                }
            }
            values.append(v)
            truth.append(tt)
            scale.append(ss)
        }
        return (values, truth, scale)
    }

    @Test(arguments: [0, 1, 255, 256, 257, 1000], [false, true])
    func blockedJudgementMatchesElementByElement(count: Int, hostile: Bool) {
        let (values, truth, scale) = Self.side(
            count: count, hostile: hostile, seed: UInt64(count) * 31 + (hostile ? 1 : 0))
        let shapes: [([Int], Int?)] =
            [([count], nil), ([count], 0)]
            + (count % 8 == 0 && count > 0
                ? [([2, 4, count / 8], 1), ([count / 8, 8], -1), ([count / 8, 4, 2], 1)] : [])
        for (shape, axis) in shapes {
            for limit in [4.0, 40] {
                let fast = TruthJudgement.judgeSide(
                    values, truth: truth, scale: scale, shape: shape, format: .float32,
                    limit: limit, topK: 3, channelAxis: axis)
                let reference = Self.referenceSide(
                    values, truth: truth, scale: scale, shape: shape, format: .float32,
                    limit: limit, topK: 3, axis: axis)
                // Compared as text: a NaN element makes `==` false even for identical reports.
                #expect(
                    "\(fast)" == "\(reference)",
                    "count \(count), hostile \(hostile), shape \(shape), axis \(String(describing: axis))")
            }
        }
    }

    // MARK: - Identical arrays

    static func comparisons(_ a: [Double], _ b: [Double], shape: [Int], axis: Int?) -> (KeyComparison, KeyComparison) {
        let tolerance = Tolerance.resolved(for: .float32, rtol: nil, atol: nil)
        func compare(_ shortcut: Bool) -> KeyComparison {
            KeyComparison.compare(
                a, b, shape: shape, format: .float32, tolerance: tolerance, channelAxis: axis,
                equalNaN: false, topK: 3, identicalShortcut: shortcut)
        }
        return (compare(true), compare(false))
    }

    @Test func theShortcutForIdenticalArraysReportsWhatThePassWould() {
        var generator = SplitMix(state: 3)
        let random = (0..<9000).map { _ in generator.unit() - 0.5 }
        let cases: [[Double]] = [[], [0, -0.0, 0], [1e-40, -3e-42], random]
        for values in cases {
            for (shape, axis) in [([values.count], Optional<Int>.none)]
                + (values.count == 9000 ? [([10, 9, 100], 1)] : [])
            {
                let (shortcut, pass) = Self.comparisons(values, values, shape: shape, axis: axis)
                #expect(shortcut == pass, "\(values.prefix(3)) shape \(shape)")
                #expect(shortcut.histogram.buckets.first?.count == values.count)
            }
        }
    }

    /// A single differing element anywhere, a NaN or an infinity: the block holding it is
    /// not taken as identical, and the report is the pass's.
    @Test(arguments: [0, 4095, 4096, 8999])
    func theShortcutDeclinesArraysThatDiffer(at position: Int) {
        var generator = SplitMix(state: 5)
        let a = (0..<9000).map { _ in generator.unit() }
        for changed in [a[position].nextUp, -a[position], .nan, .infinity] {
            var b = a
            b[position] = changed
            for (x, y) in [(a, b), (b, b)] {
                let (shortcut, pass) = Self.comparisons(x, y, shape: [9000], axis: nil)
                #expect("\(shortcut)" == "\(pass)")
            }
        }
    }
}
