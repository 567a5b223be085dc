import Foundation
import TestSupport
import Testing

/// Empty inputs whose other dimensions are huge (issue: SIGSEGV, SIGILL, SIGABRT, 6 GB
/// or minutes of spinning), no values per channel in training, and a negative eps: each
/// ends in one line and status 2 (or, where torch has an answer, status 0) within
/// seconds, with no OUT or temporary file left behind.
@Suite struct ReliabilityEmptyArrayTests {
    /// Writes `x` (and `dout` when asked) with header `shape` and no data: numpy itself
    /// cannot create most of these arrays, so the .npy bytes are made by hand.
    static func writeEmpty(_ scratch: ScratchFolder, _ name: String, shape: String, dout: Bool = false) throws {
        try scratch.python(
            """
            import zipfile, struct
            def npy(shape):
                h = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % shape
                h += ' ' * (63 - (10 + len(h)) % 64) + '\\n'
                return b'\\x93NUMPY\\x01\\x00' + struct.pack('<H', len(h)) + h.encode()
            with zipfile.ZipFile('\(name)', 'w') as z:
                z.writestr('x.npy', npy('\(shape)'))
                if \(dout ? "True" : "False"): z.writestr('dout.npy', npy('\(shape)'))
            """)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var shape: String
        var arguments: [String]
        var phrases: [String]
        var testDescription: String { "\(arguments.joined(separator: " ")) \(shape)" }
    }

    static let refused: [Case] = [
        Case(shape: "(0, 4611686018427387904, 4)", arguments: ["run", "--eval"], phrases: ["too big", "2^63-1"]),
        Case(shape: "(0, 9223372036854775807)", arguments: ["run", "--eval"], phrases: ["too big"]),
        Case(shape: "(0, 3, 4611686018427387904, 4611686018427387904)", arguments: ["run"], phrases: ["too big"]),
        Case(shape: "(4611686018427387904, 0, 4)", arguments: ["run"], phrases: ["too big"]),
        Case(
            shape: "(0, 1099511627776)", arguments: ["run", "--eval"],
            phrases: ["1099511627776 channels", "per-channel work", "--max-bytes"]),
        Case(
            shape: "(0, 1048576)", arguments: ["run", "--eval", "--max-bytes", "268435456"],
            phrases: ["1048576 channels", "more than the limit of 268435456 bytes", "--max-bytes"]),
        Case(
            shape: "(0, 1048576)", arguments: ["run", "--eval"],
            phrases: ["x has shape [0, 1048576]", "header alone names more than 65536 channels"]),
        Case(
            shape: "(1048576, 0, 1048576)", arguments: ["run", "--eval", "--layout", "nhwc"],
            phrases: ["header alone names more than 65536 channels"]),
        Case(
            shape: "(0, 1099511627776)", arguments: ["diff", "--inputs", "IN", "IN"],
            phrases: ["1099511627776 channels"]),
        Case(shape: "(0, 3)", arguments: ["run"], phrases: ["x has shape [0, 3]", "no values per channel"]),
        Case(shape: "(0, 1048576)", arguments: ["run"], phrases: ["no values per channel"]),
    ]

    @Test(arguments: refused)
    func emptyInputIsRefusedInOneLine(_ c: Case) throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try Self.writeEmpty(scratch, "in.npz", shape: c.shape)
        let input = scratch.path("in.npz")
        let arguments = c.arguments.map { $0 == "IN" ? input : $0 }
        let isDiff = c.arguments.first == "diff"
        let outcome = try BNFileBinary.run(arguments + (isDiff ? [input] : [input, scratch.path("out.npz")]))
        expectCleanFailure(outcome, file: input, phrases: c.phrases, out: "out.npz", previous: nil, in: scratch)
        #expect(outcome.seconds < 20, "took \(outcome.seconds) s")
    }

    /// Empty arrays torch answers: evaluation on (0, 3) and a channels-last x whose huge
    /// batch holds no values; `diff F F` of an empty (0, 2^40) array is a match at once.
    @Test func emptyInputsTorchAnswersFinishAtOnce() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try Self.writeEmpty(scratch, "small.npz", shape: "(0, 3)", dout: true)
        try Self.writeEmpty(scratch, "rows.npz", shape: "(1099511627776, 0, 4)", dout: true)
        try Self.writeEmpty(scratch, "wide.npz", shape: "(0, 1099511627776)")
        for (arguments, file) in [
            (["run", "--eval"], "small.npz"), (["run", "--eval", "--layout", "nhwc"], "rows.npz"),
            (["run"], "rows.npz"),
        ] {
            let outcome = try BNFileBinary.run(arguments + [scratch.path(file), scratch.path("out.npz")])
            #expect(outcome.status == 0, "\(arguments) \(file): \(outcome.stderr)")
            #expect(outcome.seconds < 20)
        }
        try scratch.python(
            """
            r = np.load('out.npz')
            assert r['out'].shape == (1099511627776, 0, 4), r['out'].shape
            assert r['dbeta'].shape == (0,), r['dbeta'].shape
            """)
        let diff = try BNFileBinary.run(["diff", scratch.path("wide.npz"), scratch.path("wide.npz")])
        #expect(diff.status == 0, "\(diff.stderr)")
        #expect(diff.seconds < 20)
    }

    /// A negative eps is refused in torch's words, from the file or the flag.
    @Test func negativeEpsIsRefused() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try scratch.python("np.savez('in.npz', x=np.arange(12, dtype='<f4').reshape(4, 3), eps=np.float64(-0.1))")
        let input = scratch.path("in.npz")
        let training = try BNFileBinary.run(["run", input, scratch.path("out.npz")])
        expectCleanFailure(
            training, file: input, phrases: ["batch_norm eps must be positive during training, but got -0.1"],
            out: "out.npz", previous: nil, in: scratch)
        let evaluation = try BNFileBinary.run(["run", "--eval", "--eps=-1e-3", input, scratch.path("out.npz")])
        expectCleanFailure(
            evaluation, file: input, phrases: ["batch_norm eps must be non-negative, but got -0.001"],
            out: "out.npz", previous: nil, in: scratch)
    }

    /// One such file no longer kills a `--out-dir --keep-going` batch: it fails alone.
    @Test func batchSurvivesAnEmptyHugeInput() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try scratch.mkdir("inputs")
        try Self.writeEmpty(scratch, "inputs/a.npz", shape: "(0, 1099511627776)")
        try Self.writeEmpty(scratch, "inputs/b.npz", shape: "(0, 4611686018427387904, 4)")
        _ = try scratch.validInput("inputs/c.npz")
        let outcome = try BNFileBinary.run(
            ["run", "--eval", "--keep-going", "--out-dir", scratch.path("grads"), scratch.path("inputs")])
        #expect(outcome.status == 2, "\(outcome.stderr)")
        #expect(scratch.exists("grads/c.grads.npz"))
        #expect(!scratch.exists("grads/a.grads.npz") && !scratch.exists("grads/b.grads.npz"))
        #expect(outcome.stderr.contains("a.npz") && outcome.stderr.contains("b.npz"), "\(outcome.stderr)")
    }

    /// Every file in fuzz/crashers/run is replayed through run (both modes and layouts)
    /// and diff: each ends with status 0 or 2 in at most one line, within seconds. The
    /// limit (256 MiB) keeps half a million channels of per-channel work refused rather
    /// than done.
    @Test func runCrashersEndCleanly() throws {
        let folder = Repository.root.appendingPathComponent("fuzz/crashers/run")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".npz") }
        #expect(!names.isEmpty)
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let limit = ["--max-bytes", "268435456"]
        for name in names.sorted() {
            let input = folder.appendingPathComponent(name).path
            for arguments in [["run"], ["run", "--eval"], ["run", "--eval", "--layout", "nhwc"]] {
                let outcome = try BNFileBinary.run(arguments + limit + [input, scratch.path("out.npz")])
                expectEndsCleanly(outcome, "\(arguments) \(name)")
                #expect(scratch.leftovers(for: "out.npz").isEmpty)
            }
            let diff = try BNFileBinary.run(["diff"] + limit + [input, input, "--inputs", input])
            expectEndsCleanly(diff, "diff \(name)")
        }
    }
}

/// Status 0 (or 1 for a diff), or 2 with exactly one stderr line, within 20 seconds.
func expectEndsCleanly(
    _ outcome: ProcessOutcome, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(
        outcome.signal == nil && [0, 1, 2].contains(outcome.status ?? -1),
        "\(what): status \(String(describing: outcome.status)), signal \(String(describing: outcome.signal))",
        sourceLocation: sourceLocation)
    if outcome.status == 2 {
        let lines = outcome.stderr.split(separator: "\n").filter { !$0.isEmpty }
        #expect(lines.count == 1, "\(what): \(outcome.stderr)", sourceLocation: sourceLocation)
    }
    #expect(outcome.seconds < 20, "\(what): took \(outcome.seconds) s", sourceLocation: sourceLocation)
}
