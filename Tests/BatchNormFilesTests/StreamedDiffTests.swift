import ArrayComparison
import ExactBatchNorm
import Foundation
import NumPyFormat
import TestSupport
import Testing

@testable import BatchNormFiles

/// `bnfile diff --inputs` as it runs (A and B read in place a block at a time, out and
/// dx judged while the engine streams them, threads cutting every range) against the
/// whole-array path written here: every key's values as doubles, the truth whole in each
/// side's format, `KeyReport.compare` on the arrays (whose scan `BlockedScanTests`
/// holds to the element-by-element definitions). The reports must be the same, key for
/// key, and must not depend on the thread count.
@Suite struct StreamedDiffTests {
    static func request(_ a: String, _ b: String, inputs: String, stated: StatedSettings, threads: Int)
        -> DiffRequest
    {
        DiffRequest(
            fileA: a, fileB: b, keys: nil, rtol: nil, atol: nil, channelAxis: nil, topK: 3, equalNaN: false,
            inputs: inputs, settings: BatchNormSettings(stated: stated, threads: threads),
            options: NPYReadOptions())
    }

    /// The key reports from whole arrays.
    static func wholeArrayReports(_ a: String, _ b: String, inputs: String, stated: StatedSettings) throws
        -> [KeyReport]
    {
        let request = Self.request(a, b, inputs: inputs, stated: stated, threads: 1)
        let (fileA, fileB) = try DiffJob.openFiles(request)
        let fallback = try DiffJob.recordedSettings(a: fileA, b: fileB, flags: request.settings.stated)
        let truth = try DiffTruth(
            path: inputs, settings: request.settings, fallback: fallback, options: request.options)
        let axis = truth.layout == .channelsLast ? -1 : 1
        return try DiffKeys.select(a: fileA, b: fileB, requested: nil).map { key in
            switch try DiffPair.load(key: key, a: fileA, b: fileB, rtol: nil, atol: nil) {
            case .structural(let outcome):
                return KeyReport(key: key, outcome: outcome, missingIsDifference: false)
            case .values(let pair):
                let exactA = pair.isFloat ? try truth.truth(for: key, shape: pair.shape, format: pair.formatA) : nil
                let exactB = pair.isFloat ? try truth.truth(for: key, shape: pair.shape, format: pair.formatB) : nil
                return KeyReport.compare(
                    key: key, a: try pair.valuesA(), b: try pair.valuesB(), shape: pair.shape, format: pair.format,
                    tolerance: pair.tolerance, channelAxis: axis, topK: 3, truth: exactA, formatA: pair.formatA,
                    formatB: pair.formatB, truthB: exactB)
            }
        }
    }

    /// What `diff` reports of each key, without the diagnosis of sides beyond rounding
    /// (the whole-array path does not diagnose), as text: NaN figures compare as text.
    static func streamedReports(_ a: String, _ b: String, inputs: String, stated: StatedSettings, threads: Int)
        throws -> [String]
    {
        try DiffJob.report(for: request(a, b, inputs: inputs, stated: stated, threads: threads)).keys.map { key in
            var key = key
            key.truth?.a.diagnosis = nil
            key.truth?.b.diagnosis = nil
            return "\(key)"
        }
    }

    static func expectSameReports(
        _ a: String, _ b: String, inputs: String, stated: StatedSettings = StatedSettings(),
        threads: [Int] = [1, 3], _ label: String
    ) throws {
        let reference = try wholeArrayReports(a, b, inputs: inputs, stated: stated).map { "\($0)" }
        for threads in threads {
            let streamed = try streamedReports(a, b, inputs: inputs, stated: stated, threads: threads)
            #expect(streamed.count == reference.count, "\(label)")
            for (found, expected) in zip(streamed, reference) {
                #expect(found == expected, "\(label), \(threads) threads")
            }
        }
    }

    /// Every fixture's exact result against torch's: float16, bfloat16, float64, NaN and
    /// infinity, channels last, 2-d to 5-d, evaluation, no dout.
    @Test func fixturesMatchTheWholeArrayPath() throws {
        for c in FixtureTests.cases {
            let stem = FixtureTests.casesFolder.appendingPathComponent(c.name).path
            guard FileManager.default.fileExists(atPath: stem + ".torch.npz") else { continue }
            let stated = StatedSettings(training: !c.eval, layout: c.layout == "nhwc" ? .channelsLast : .channelsFirst)
            try Self.expectSameReports(
                stem + ".exact.npz", stem + ".torch.npz", inputs: stem + ".in.npz",
                stated: stated, c.name)
        }
    }

    /// The truth runs the engine's first pass once, before any key is judged
    /// (`prepare(key:)`), and streams the element pass of that same first pass: its
    /// blocks, in order, are the whole run's out and dx.
    @Test func theTruthStreamsTheElementPassOfItsFirstPass() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let inputs = try scratch.savez(
            "in.npz",
            "x=(np.arange(3000) % 17 / 4 - 2).astype(np.float32).reshape(2, 5, 300), "
                + "dout=np.cos(np.arange(3000)).astype(np.float32).reshape(2, 5, 300)")
        let truth = try DiffTruth(
            path: inputs, settings: BatchNormSettings(threads: 2), fallback: StatedSettings(),
            options: NPYReadOptions())
        #expect(truth.preparedProblem == nil)
        try truth.prepare(key: "out", shape: [2, 5, 300])
        let prepared = try #require(truth.preparedProblem)
        #expect(prepared.outputType == .float32)
        var out: [Double] = [], dx: [Double] = []
        try truth.stream { range, o, d in
            #expect(range.lowerBound == out.count)
            var block = [Double](repeating: 0, count: range.count)
            block.withUnsafeMutableBufferPointer { o.fill(range, into: $0.baseAddress!) }
            out += block
            block.withUnsafeMutableBufferPointer { d!.fill(range, into: $0.baseAddress!) }
            dx += block
        }
        let whole = try truth.problem.evaluate(as: Float.self, threads: 2)
        #expect(out.map(\.bitPattern) == whole.out.map { Double($0).bitPattern })
        #expect(dx.map(\.bitPattern) == whole.dx!.map { Double($0).bitPattern })
        #expect(truth.channels?.perChannel(.dgamma, as: Float.self) == whole.perChannel(.dgamma, as: Float.self))
    }

    /// Layers large enough for several of the engine's blocks, channels first and last,
    /// against a float32 implementation in numpy with NaN and infinities planted, then the
    /// same in float64 (A float32, B float64), then as .npy files.
    @Test(arguments: ["nchw", "nhwc"])
    func largeLayersMatchTheWholeArrayPath(layout: String) throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let shape = layout == "nchw" ? "(2, 6, 150, 150)" : "(2, 150, 150, 6)"
        let axes = layout == "nchw" ? "(0, 2, 3)" : "(0, 1, 2)"
        let view = layout == "nchw" ? "(1, -1, 1, 1)" : "(1, 1, 1, -1)"
        try scratch.python(
            """
            r = np.random.default_rng(12)
            x = (r.standard_normal(\(shape)) * 2 + 0.5).astype(np.float32)
            dout = r.standard_normal(\(shape)).astype(np.float32)
            g = r.uniform(0.5, 1.5, 6).astype(np.float32); b = r.uniform(-0.2, 0.2, 6).astype(np.float32)
            np.savez('in.npz', x=x, dout=dout, gamma=g, beta=b, running_mean=np.zeros(6, np.float32),
                     running_var=np.ones(6, np.float32), layout=np.array('\(layout)'))
            def bn(t):
                xx, dd, gg, bb = x.astype(t), dout.astype(t), g.astype(t).reshape(\(view)), b.astype(t).reshape(\(view))
                m = xx.mean(\(axes), keepdims=True); v = ((xx - m) ** 2).mean(\(axes), keepdims=True)
                s = 1 / np.sqrt(v + t(1e-5)); xh = (xx - m) * s; n = xx.size // 6
                db = dd.sum(\(axes), keepdims=True); dg = (dd * xh).sum(\(axes), keepdims=True)
                return xh * gg + bb, gg * s / n * (n * dd - db - xh * dg)
            out, dx = bn(np.float32)
            out.flat[[5, 70000, 265000]] = [np.nan, np.inf, -np.inf]; dx.flat[9] = np.nan
            np.savez('b32.npz', out=out, dx=dx)
            out64, dx64 = bn(np.float64)
            np.savez('b64.npz', out=out64, dx=dx64)
            os.mkdir('a'); os.mkdir('b')
            np.save('b/dx.npy', dx)
            """)
        let inputs = scratch.path("in.npz")
        let problem = try BatchNormInputFile(path: inputs, settings: BatchNormSettings(), options: NPYReadOptions())
        let exact = try problem.evaluate(as: Float.self, threads: 2)
        let writer = try NPZWriter(path: scratch.path("a.npz"))
        try exact.out.withUnsafeBufferPointer { try writer.add("out", elements: $0, shape: problem.shape.dimensions) }
        try exact.dx!.withUnsafeBufferPointer { try writer.add("dx", elements: $0, shape: problem.shape.dimensions) }
        try writer.finish()
        try exact.dx!.withUnsafeBufferPointer {
            try NPYFile.write(try NPYArray(copying: $0, shape: problem.shape.dimensions), to: scratch.path("a/dx.npy"))
        }
        for (a, b) in [("a.npz", "b32.npz"), ("a.npz", "b64.npz"), ("a/dx.npy", "b/dx.npy")] {
            try Self.expectSameReports(scratch.path(a), scratch.path(b), inputs: inputs, threads: [3], "\(layout) \(b)")
        }
    }
}
