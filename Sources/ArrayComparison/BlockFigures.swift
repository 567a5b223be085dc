/// One block of a key's values as the kernels read them: `count` elements from flat
/// position `start`, A's and B's values and, when judging, each side's truth and the
/// scale. Every value operand has the one `width`: float32 values where they are stored,
/// or doubles (stored so, or filled into scratch); the scales are always doubles.
struct ScanBlock {
    let start: Int
    let count: Int
    let width: StoredBlock.Width
    let a: UnsafeRawPointer
    let b: UnsafeRawPointer
    var truthA: UnsafeRawPointer? = nil
    var truthB: UnsafeRawPointer? = nil
    var scale: UnsafePointer<Double>? = nil

    /// Value `j` of the operand at `base`, as a double.
    @inline(__always)
    func value(_ base: UnsafeRawPointer, _ j: Int) -> Double {
        width == .float32 ? Float.load(base, j) : Double.load(base, j)
    }

    /// What a worst-element list keeps of element `j`.
    @inline(__always)
    func values(at j: Int) -> ElementValues {
        ElementValues(
            a: value(a, j), b: value(b, j), truthA: truthA.map { value($0, j) } ?? .nan,
            truthB: truthB.map { value($0, j) } ?? .nan, scale: scale?[j] ?? .nan)
    }
}

/// A block's figures taken together: what the key's and the channel's totals need.
struct FigureTotals {
    var mismatched: Int
    var maxAbsolute: Double
    /// Over references that are normal; 0 when none is (`anyNormalReference` false).
    var maxRelative: Double
    var anyNormalReference: Bool
    var maxULP: UInt64
    var maxExcess: Double
    var signFlips: Int
    /// Whether every pair has the same bits.
    var allIdentical: Bool
}

/// Scratch memory for one block's per-element figures (`KeyScan.blockSize` of each).
struct FigureScratch {
    let difference: UnsafeMutablePointer<Double>
    let excess: UnsafeMutablePointer<Double>
    let ulp: UnsafeMutablePointer<UInt64>
    let mismatch: UnsafeMutablePointer<Int>
    /// Each element's counter of the ULP histogram (`BucketCounts.slot`).
    let slot: UnsafeMutablePointer<Int32>

    /// The figures of every element of a block of finite pairs, as `ElementFigures`
    /// defines them: the totals, and into this scratch each element's excess and ULP
    /// histogram counter, and with `perElement` its difference, ULP distance and mismatch
    /// (0 or 1) too. nil, with the scratch undefined, when some pair is not finite (then
    /// only the definition's rules for each kind apply).
    ///
    /// Element by element these are the definition's operations: |a - b|, atol + rtol*|b|,
    /// the quotient (0 for a zero difference, infinite over an allowance that is not
    /// positive), |a - b| / max(|b|, smallest normal), and the distance of the two
    /// magnitudes' patterns on the format's grid (float16 and bfloat16 patterns are
    /// computed per element by `ulpDistance`). Same operations, same roundings: the same
    /// bits. A pair with the same bits matches whatever the allowance, as defined.
    func compute(
        _ block: ScanBlock, format: FloatFormat, rtol: Double, atol: Double, perElement: Bool
    ) -> FigureTotals? {
        let rule = Rule(rtol: rtol, atol: atol, tiny: format.smallestNormal)
        if block.width == .float32 && format == .float32 {
            return perElement
                ? float32Figures(block, EveryFigure.self, rule) : float32Figures(block, TotalsOnly.self, rule)
        }
        precondition(block.width == .float64, "FigureScratch.compute: float32 values compared on another grid")
        switch format {
        case .float64:
            return perElement
                ? doubleFigures(block, OwnPatterns.self, EveryFigure.self, rule)
                : doubleFigures(block, OwnPatterns.self, TotalsOnly.self, rule)
        case .float32: return doubleFigures(block, Float32Patterns.self, EveryFigure.self, rule)
        case .float16, .bfloat16:
            guard var totals = doubleFigures(block, LaterPatterns.self, EveryFigure.self, rule) else { return nil }
            totals.maxULP = laterDistances(block, format: format)
            return totals
        }
    }

    /// The comparison's rule in the kernels' terms, and the figures of one finite pair
    /// that do not depend on the grid.
    struct Rule {
        let rtol: Double
        let atol: Double
        let tiny: Double

        /// |a - b|, the excess (0 for a zero difference, infinite over an allowance
        /// that is not positive), the relative difference's bits where the reference is
        /// normal (0 elsewhere) and whether the difference is within the allowance;
        /// without a branch.
        @inline(__always)
        func figures(_ a: Double, _ b: Double) -> (
            difference: Double, excess: Double, relativeBits: Int64, within: Bool
        ) {
            let magnitudeB = b.magnitude
            let difference = (a - b).magnitude
            let allowance = atol + rtol * magnitudeB
            let quotient = difference / allowance
            let excess = difference == 0 ? 0 : (allowance > 0 ? quotient : .infinity)
            let isNormal = magnitudeB >= tiny
            let relative = difference / (tiny >= magnitudeB ? tiny : magnitudeB)
            let relativeBits = isNormal ? Int64(bitPattern: relative.bitPattern) : 0
            return (difference, excess, relativeBits, difference <= allowance)
        }
    }

    /// `compute` for float32 values on float32's grid, read where they are stored, in two
    /// loops without branches that vectorize: the patterns, distances and histogram
    /// counters in 32-bit integers, eight to a register (every distance between finite
    /// float32 values is below 2^32), then the figures of the exactly widened doubles,
    /// four to a register; the per-element figures `S` asks for (a type, so that each
    /// specialization's loops hold only their own stores). Maxima of doubles are taken on
    /// their bit patterns, which order non-negative doubles (every figure here is one) as
    /// their values, and a pair is special when a magnitude's pattern is infinity's or
    /// above.
    private func float32Figures<S: FigureStores>(_ block: ScanBlock, _: S.Type, _ rule: Rule) -> FigureTotals? {
        let (a, b) = (block.a, block.b)
        var flips: UInt32 = 0, different: UInt32 = 0, largestA: UInt32 = 0, largestB: UInt32 = 0, maxULP: UInt32 = 0
        for j in 0..<block.count {
            let xBits = a.loadUnaligned(fromByteOffset: j &* 4, as: UInt32.self)
            let yBits = b.loadUnaligned(fromByteOffset: j &* 4, as: UInt32.self)
            let pa = xBits & 0x7FFF_FFFF, pb = yBits & 0x7FFF_FFFF
            (largestA, largestB) = (max(largestA, pa), max(largestB, pb))
            different |= xBits ^ yBits
            let opposite = (xBits ^ yBits) >> 31
            flips &+= opposite & (pa != 0 ? 1 : 0) & (pb != 0 ? 1 : 0)
            // Across zero the patterns add; a zero has no sign, but when either pattern is
            // zero the difference and the sum agree, so the sign bits alone choose.
            let distance = opposite == 0 ? max(pa, pb) &- min(pa, pb) : pa &+ pb
            maxULP = max(maxULP, distance)
            slot[j] = BucketCounts.slot(bucket: HistogramCounter.bucketWithoutBranches(ulp32: distance), element: j)
            if S.perElement { ulp[j] = UInt64(distance) }
        }
        guard max(largestA, largestB) < 0x7F80_0000 else { return nil }
        var mismatched = 0, maxima = FigureMaxima()
        for j in 0..<block.count {
            let x = Float.load(a, j), y = Float.load(b, j)
            let f = rule.figures(x, y)
            // The widening keeps the bits apart: the same doubles' bits are the same floats'.
            let mismatch = x.bitPattern == y.bitPattern || f.within ? 0 : 1
            mismatched &+= mismatch
            maxima.take(difference: f.difference, relativeBits: f.relativeBits, excess: f.excess)
            excess[j] = f.excess
            if S.perElement {
                difference[j] = f.difference
                self.mismatch[j] = mismatch
            }
        }
        return FigureTotals(
            mismatched: mismatched, maxAbsolute: maxima.absolute, maxRelative: maxima.relative,
            anyNormalReference: Double(Float(bitPattern: largestB)) >= rule.tiny,
            maxULP: UInt64(maxULP), maxExcess: maxima.excess, signFlips: Int(flips),
            allIdentical: different == 0)
    }

    /// `compute` for doubles, their ULP patterns by `P`, the per-element figures `S`
    /// asks for; as `float32Figures`, with 64-bit patterns and distances, and a pair
    /// special when a double's exponent is all ones.
    private func doubleFigures<P: PatternRule, S: FigureStores>(
        _ block: ScanBlock, _: P.Type, _: S.Type, _ rule: Rule
    ) -> FigureTotals? {
        let (a, b) = (block.a, block.b)
        var mismatched = 0, flips = 0, different: UInt64 = 0, largestA: Int64 = 0, largestB: Int64 = 0
        var maxima = FigureMaxima(), maxULP: UInt64 = 0
        for j in 0..<block.count {
            let x = Double.load(a, j), y = Double.load(b, j)
            let xBits = x.bitPattern, yBits = y.bitPattern
            let magnitudeA = Int64(bitPattern: xBits & ~(1 << 63)), magnitudeB = Int64(bitPattern: yBits & ~(1 << 63))
            largestA = magnitudeA > largestA ? magnitudeA : largestA
            largestB = magnitudeB > largestB ? magnitudeB : largestB
            let f = rule.figures(x, y)
            different |= xBits ^ yBits
            let mismatch = xBits == yBits || f.within ? 0 : 1
            mismatched &+= mismatch
            let opposite = (xBits ^ yBits) >> 63
            flips &+= Int(truncatingIfNeeded: opposite) & (x != 0 ? 1 : 0) & (y != 0 ? 1 : 0)
            let pa = P.pattern(x), pb = P.pattern(y)
            // As in `float32Figures`: the sign bits alone choose.
            let distance = opposite == 0 ? max(pa, pb) &- min(pa, pb) : pa &+ pb
            maxULP = max(maxULP, distance)
            maxima.take(difference: f.difference, relativeBits: f.relativeBits, excess: f.excess)
            excess[j] = f.excess
            slot[j] = BucketCounts.slot(bucket: HistogramCounter.bucketWithoutBranches(ulp: distance), element: j)
            if S.perElement {
                difference[j] = f.difference
                ulp[j] = distance
                self.mismatch[j] = mismatch
            }
        }
        guard max(largestA, largestB) < 0x7FF0_0000_0000_0000 else { return nil }
        return FigureTotals(
            mismatched: mismatched, maxAbsolute: maxima.absolute, maxRelative: maxima.relative,
            anyNormalReference: Double(bitPattern: UInt64(largestB)) >= rule.tiny,
            maxULP: maxULP, maxExcess: maxima.excess, signFlips: flips,
            allIdentical: different == 0)
    }

    /// The ULP distances and buckets of a block of finite doubles on a grid without a
    /// native type, element by element; returns the largest.
    private func laterDistances(_ block: ScanBlock, format: FloatFormat) -> UInt64 {
        var largest: UInt64 = 0
        for j in 0..<block.count {
            let distance = format.ulpDistance(block.value(block.a, j), block.value(block.b, j))!
            ulp[j] = distance
            slot[j] = BucketCounts.slot(bucket: Int32(HistogramCounter.bucket(ulp: distance)), element: j)
            largest = max(largest, distance)
        }
        return largest
    }
}

/// Which per-element figures a kernel stores besides each excess and ULP bucket.
protocol FigureStores {
    /// The difference, ULP distance and mismatch of every element too.
    static var perElement: Bool { get }
}

/// For blocks inside one channel's run, whose channel figures are the block's totals.
enum TotalsOnly: FigureStores {
    static var perElement: Bool { false }
}

/// For blocks across channels, and for the kernels of the rarer cases.
enum EveryFigure: FigureStores {
    static var perElement: Bool { true }
}

/// A block's largest absolute difference, relative difference and excess, taken without
/// a branch on their bit patterns, which order non-negative doubles (every figure here is
/// one) as their values: what both value kernels fold each element into.
struct FigureMaxima {
    private var absoluteBits: Int64 = 0
    private var relativeBits: Int64 = 0
    private var excessBits: Int64 = 0

    @inline(__always)
    mutating func take(difference: Double, relativeBits relative: Int64, excess: Double) {
        let absolute = Int64(bitPattern: difference.bitPattern)
        absoluteBits = absolute > absoluteBits ? absolute : absoluteBits
        relativeBits = relative > relativeBits ? relative : relativeBits
        let excessPattern = Int64(bitPattern: excess.bitPattern)
        excessBits = excessPattern > excessBits ? excessPattern : excessBits
    }

    var absolute: Double { Double(bitPattern: UInt64(absoluteBits)) }
    var relative: Double { Double(bitPattern: UInt64(relativeBits)) }
    var excess: Double { Double(bitPattern: UInt64(excessBits)) }
}
