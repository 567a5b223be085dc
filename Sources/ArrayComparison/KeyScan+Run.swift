import Dispatch

extension KeyScan {
    /// Scans every part, each cut into `threads` contiguous pieces: thread `w` takes
    /// piece `w` of every part, in order, into its own figures. `threads` may not exceed
    /// any scan's `threads`.
    public static func run(_ parts: [Part], threads: Int) {
        let threads = max(1, threads)
        precondition(parts.allSatisfy { $0.scan.workers >= threads }, "KeyScan.run: more threads than the scans have")
        if threads == 1 {
            Scratch.with { scratch in
                for part in parts { part.scan.scan(part.range, part.sources, worker: 0, scratch) }
            }
            return
        }
        DispatchQueue.concurrentPerform(iterations: threads) { w in
            Scratch.with { scratch in
                for part in parts {
                    let count = part.range.count, lower = part.range.lowerBound
                    let piece = (lower + count * w / threads)..<(lower + count * (w + 1) / threads)
                    part.scan.scan(piece, part.sources, worker: w, scratch)
                }
            }
        }
    }

    /// One thread's pass over `range`, a block at a time.
    private func scan(_ range: Range<Int>, _ sources: Sources, worker w: Int, _ scratch: Scratch) {
        for start in stride(from: range.lowerBound, to: range.upperBound, by: Self.blockSize) {
            let positions = start..<min(start + Self.blockSize, range.upperBound)
            sources.a.fill(positions, into: scratch.a)
            if !sameSides { sources.b.fill(positions, into: scratch.b) }
            var block = ScanBlock(
                start: start, count: positions.count, a: scratch.a,
                b: sameSides ? scratch.a : scratch.b)
            if truth != nil {
                sources.truthA!.fill(positions, into: scratch.truthA)
                sources.truthB?.fill(positions, into: scratch.truthB)
                sources.scale!.fill(positions, into: scratch.scale)
                block.truthA = UnsafePointer(scratch.truthA)
                block.truthB = UnsafePointer(sources.truthB == nil ? scratch.truthA : scratch.truthB)
                block.scale = UnsafePointer(scratch.scale)
            }
            comparisons?[w].add(block, figures: scratch.figures)
            sidesA?[w].add(
                start: start, count: block.count, values: block.a, truth: block.truthA!,
                scale: block.scale!, errors: scratch.errors, buckets: scratch.figures.mismatch)
            sidesB?[w].add(
                start: start, count: block.count, values: block.b, truth: block.truthB!,
                scale: block.scale!, errors: scratch.errors, buckets: scratch.figures.mismatch)
        }
    }

    /// The report, once every position was scanned: the threads' figures merged, the
    /// worst elements named and, with a truth, the A/B offenders annotated with it.
    /// Call it once.
    public func finish(key: String) -> KeyReport {
        guard let truth else { return KeyReport(key: key, outcome: .compared(finishComparison())) }
        let comparison = finishComparison { offender, values in
            let error = { (v: Double, t: Double, f: FloatFormat) in
                roundingError(
                    value: v, truth: t, scale: values.scale,
                    unitRoundoff: f.unitRoundoff, subnormalStep: f.leastNonzeroMagnitude)
            }
            offender.truth = values.truthA
            offender.errorA = error(values.a, values.truthA, truth.formatA)
            offender.errorB = error(values.b, values.truthB, truth.formatB)
        }
        return KeyReport(key: key, outcome: .compared(comparison), truth: finishJudgement())
    }

    func finishComparison(annotate: ((inout Offender, ElementValues) -> Void)? = nil) -> KeyComparison {
        guard let comparisons else { preconditionFailure("finishComparison: a scan that does not compare") }
        for w in 1..<workers { comparisons[0].merge(comparisons[w]) }
        return comparisons[0].comparison(shape: shape, tolerance: tolerance, topK: topK, annotate: annotate)
    }

    func finishJudgement() -> TruthJudgement? {
        guard let truth, let sidesA else { return nil }
        for w in 1..<workers { sidesA[0].merge(sidesA[w]) }
        if let sidesB { for w in 1..<workers { sidesB[0].merge(sidesB[w]) } }
        let a = sidesA[0].judgement(shape: shape, format: truth.formatA, topK: topK)
        return TruthJudgement(
            format: truth.formatA, unitRoundoff: truth.formatA.unitRoundoff, valuesPerChannel: truth.valuesPerChannel,
            threshold: limit, thresholdRule: truth.threshold.rule, a: a,
            b: sidesB.map { $0[0].judgement(shape: shape, format: truth.formatB, topK: topK) } ?? a)
    }
}

/// One thread's scratch memory: a block of each source and of the figures.
struct Scratch {
    let a, b, truthA, truthB, scale, errors: UnsafeMutablePointer<Double>
    let figures: FigureScratch

    static func with(_ body: (Scratch) -> Void) {
        let n = KeyScan.blockSize
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 8 * n) { doubles in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: n) { ulp in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * n) { integers in
                    let d = doubles.baseAddress!, i = integers.baseAddress!
                    body(
                        Scratch(
                            a: d, b: d + n, truthA: d + 2 * n, truthB: d + 3 * n, scale: d + 4 * n,
                            errors: d + 5 * n,
                            figures: FigureScratch(
                                difference: d + 6 * n, excess: d + 7 * n,
                                ulp: ulp.baseAddress!, mismatch: i, bucket: i + n)))
                }
            }
        }
    }
}
