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
            let block = self.block(positions, sources, scratch)
            comparisons?[w].add(block, figures: scratch.figures)
            guard truth != nil else { continue }
            let scales = UnsafeRawPointer(block.scale!)
            sidesA?[w].add(
                SideBlock(
                    start: start, count: block.count, width: block.width, values: block.a, truth: block.truthA!,
                    scales: scales),
                errors: scratch.errors, slots: scratch.figures.slot)
            sidesB?[w].add(
                SideBlock(
                    start: start, count: block.count, width: block.width, values: block.b, truth: block.truthB!,
                    scales: scales),
                errors: scratch.errors, slots: scratch.figures.slot)
        }
    }

    /// The operands of the block at `positions`: float32 values where they are stored
    /// when every operand the scan reads is stored so (and A and B are compared on
    /// float32's grid, or not compared), else doubles, read in place where they are
    /// stored so and filled into the thread's scratch where not. The scales are filled.
    private func block(_ positions: Range<Int>, _ sources: Sources, _ scratch: Scratch) -> ScanBlock {
        let judged = truth != nil
        let a = sources.a.stored(positions)
        let b = sameSides ? a : sources.b.stored(positions)
        let truthA = judged ? sources.truthA!.stored(positions) : nil
        let truthB = sources.truthB.map { $0.stored(positions) } ?? truthA
        let float32 =
            (!compares || format == .float32) && a?.width == .float32 && b?.width == .float32
            && (!judged || (truthA?.width == .float32 && truthB?.width == .float32))
        var block: ScanBlock
        if float32 {
            block = ScanBlock(
                start: positions.lowerBound, count: positions.count, width: .float32, a: a!.base, b: b!.base)
            block.truthA = truthA?.base
            block.truthB = truthB?.base
        } else {
            let pointerA = Self.doubles(sources.a, a, positions, scratch.a)
            block = ScanBlock(
                start: positions.lowerBound, count: positions.count, width: .float64, a: pointerA,
                b: sameSides ? pointerA : Self.doubles(sources.b, b, positions, scratch.b))
            if judged {
                block.truthA = Self.doubles(sources.truthA!, truthA, positions, scratch.truthA)
                block.truthB =
                    sources.truthB.map { Self.doubles($0, truthB, positions, scratch.truthB) } ?? block.truthA
            }
        }
        if judged {
            sources.scale!.fill(positions, into: scratch.scale)
            block.scale = UnsafePointer(scratch.scale)
        }
        return block
    }

    /// The doubles of `positions` from `source`: where they are stored when they are
    /// stored as doubles, else filled into `scratch`.
    private static func doubles(
        _ source: any ValueBlocks, _ stored: StoredBlock?, _ positions: Range<Int>,
        _ scratch: UnsafeMutablePointer<Double>
    ) -> UnsafeRawPointer {
        if let stored, stored.width == .float64 { return stored.base }
        source.fill(positions, into: scratch)
        return UnsafeRawPointer(scratch)
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
                withUnsafeTemporaryAllocation(of: Int.self, capacity: n) { mismatch in
                    withUnsafeTemporaryAllocation(of: Int32.self, capacity: n) { slots in
                        let d = doubles.baseAddress!
                        body(
                            Scratch(
                                a: d, b: d + n, truthA: d + 2 * n, truthB: d + 3 * n, scale: d + 4 * n,
                                errors: d + 5 * n,
                                figures: FigureScratch(
                                    difference: d + 6 * n, excess: d + 7 * n, ulp: ulp.baseAddress!,
                                    mismatch: mismatch.baseAddress!, slot: slots.baseAddress!)))
                    }
                }
            }
        }
    }
}
