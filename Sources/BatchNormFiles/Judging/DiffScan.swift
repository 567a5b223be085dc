import ArrayComparison
import ExactBatchNorm

/// The pass behind `bnfile diff`: every key compared (and, with a truth, judged) a block
/// at a time by `KeyScan`, from A's and B's arrays where they are stored.
///
/// Keys whose truth is at hand (per-channel keys, plain comparisons, a truth in a format
/// other than x's) are scanned first, all at once, cut among the threads. out and dx in
/// x's format are then scanned during the engine's element pass, block by block as it
/// delivers them (`DiffTruth.stream`; its first pass ran before any plan was made, for
/// the per-channel truth and the scales): no output, truth or scale is ever held whole,
/// and the memory is the inputs, A, B and a block of each. The report does not depend
/// on the blocks or the thread count (`KeyScan`).
enum DiffScan {
    /// One key's scan and the sources of its values; `streamed` names the output of the
    /// engine's blocks that gives A's (and B's) truth, read afresh for every block.
    struct Plan {
        var scan: KeyScan
        var sources: KeyScan.Sources
        var streamed: (output: ScaledOutput, a: Bool, b: Bool)?
        var count: Int
    }

    /// The report of every key of `pairs`, by key.
    static func reports(
        _ pairs: [DiffValues], truth: DiffTruth?, request: DiffRequest, axis: Int,
        threads: Int
    ) throws -> [String: KeyReport] {
        var plans: [String: Plan] = [:]
        try withAll(
            pairs.map { pair in
                { use in
                    try self.plan(
                        pair, truth: truth, request: request, axis: axis,
                        threads: threads, use)
                }
            }
        ) { opened in
            for (pair, plan) in zip(pairs, opened) { plans[pair.key] = plan }
            KeyScan.run(
                opened.filter { $0.streamed == nil }.map {
                    KeyScan.Part(scan: $0.scan, range: 0..<$0.count, sources: $0.sources)
                },
                threads: threads)
            let streamed = opened.filter { $0.streamed != nil }
            guard let truth, !streamed.isEmpty else { return }
            try truth.stream { range, out, dx in
                KeyScan.run(
                    streamed.map { plan in
                        var sources = plan.sources
                        let block = plan.streamed!.output == .out ? out : dx!
                        if plan.streamed!.a { sources.truthA = block }
                        if plan.streamed!.b { sources.truthB = block }
                        return KeyScan.Part(scan: plan.scan, range: range, sources: sources)
                    }, threads: threads)
            }
        }
        return Dictionary(uniqueKeysWithValues: plans.map { key, plan in (key, plan.scan.finish(key: key)) })
    }

    /// Calls `use` with the plan of one key, its sources valid for the call.
    static func plan(
        _ pair: DiffValues, truth: DiffTruth?, request: DiffRequest, axis: Int, threads: Int,
        _ use: (Plan) throws -> Void
    ) throws {
        let count = pair.shape.contains(0) ? 0 : pair.shape.reduce(1, *)
        let judged = pair.isFloat ? truth.flatMap { $0.expectedShape(of: pair.key) == nil ? nil : $0 } : nil
        let scan = KeyScan(
            shape: pair.shape, format: pair.format, tolerance: pair.tolerance, channelAxis: axis,
            equalNaN: request.equalNaN, topK: request.topK,
            truth: judged.map {
                KeyScan.Truth(
                    formatA: pair.formatA, formatB: pair.formatB,
                    valuesPerChannel: $0.problem.shape.valuesPerChannel)
            },
            sameSides: pair.sameArray, threads: threads)
        try pair.withBlocks { a, b in
            let plain = Plan(scan: scan, sources: KeyScan.Sources(a: a, b: b), count: count)
            guard let judged else { return try use(plain) }
            if let quantity = ChannelQuantity(rawValue: pair.key) {
                return try use(try channelPlan(plain, quantity, pair, judged))
            }
            try elementPlan(plain, pair.key == "out" ? .out : .dx, pair, judged, use)
        }
    }

    /// A per-channel key: its truth and scales are small arrays.
    static func channelPlan(
        _ plan: Plan, _ quantity: ChannelQuantity, _ pair: DiffValues,
        _ truth: DiffTruth
    ) throws -> Plan {
        var plan = plan
        let truthA = try truth.channelTruth(quantity, format: pair.formatA)!
        plan.sources.truthA = ArrayBlocks(truthA.values)
        plan.sources.scale = ArrayBlocks(truthA.scale)
        if pair.formatB != pair.formatA {
            plan.sources.truthB = ArrayBlocks(try truth.channelTruth(quantity, format: pair.formatB)!.values)
        }
        return plan
    }

    /// out or dx: the truth from the engine's blocks in x's format, from a whole run in
    /// any other; the scales computed block by block.
    static func elementPlan(
        _ plan: Plan, _ output: ScaledOutput, _ pair: DiffValues, _ truth: DiffTruth,
        _ use: (Plan) throws -> Void
    ) throws {
        try truth.withScales(output) { scale in
            var plan = plan
            plan.sources.scale = scale
            let streamA = pair.formatA == truth.streamedFormat, streamB = pair.formatB == truth.streamedFormat
            let placeholder = ArrayBlocks([])  // replaced by each block of the stream
            if streamA || streamB { plan.streamed = (output, streamA, streamB && pair.formatB != pair.formatA) }
            let wholeA = streamA ? nil : try truth.elementTruth(output, format: pair.formatA)
            let wholeB =
                streamB || pair.formatB == pair.formatA ? nil : try truth.elementTruth(output, format: pair.formatB)
            try withOptionalBlocks(wholeA) { a in
                try withOptionalBlocks(wholeB) { b in
                    plan.sources.truthA = a ?? placeholder
                    plan.sources.truthB = b ?? (plan.streamed?.b == true ? placeholder : nil)
                    try use(plan)
                }
            }
        }
    }

    static func withOptionalBlocks(_ values: TypedValues?, _ body: ((any ValueBlocks)?) throws -> Void) throws {
        guard let values else { return try body(nil) }
        try values.withBlocks { try body($0) }
    }

    /// Opens each scoped value in turn (a source valid only inside its call) and calls
    /// `body` with all of them open.
    static func withAll<T>(
        _ scoped: [(_ use: (T) throws -> Void) throws -> Void], _ opened: [T] = [],
        _ body: ([T]) throws -> Void
    ) throws {
        guard let first = scoped.first else { return try body(opened) }
        try first { value in try withAll(Array(scoped.dropFirst()), opened + [value], body) }
    }
}
