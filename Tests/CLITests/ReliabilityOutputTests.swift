import Foundation
import TestSupport
import Testing

/// OUT appears complete or not at all: a run stopped by a signal or by a file-size
/// limit leaves no OUT and no temporary file (an existing OUT stays byte for byte), and
/// two runs racing for one OUT leave one run's complete file.
///
/// Serialized: the signal cases run a long job each, and on a shared two-core machine
/// running them side by side would only make both slower.
@Suite(.serialized) struct ReliabilityOutputTests {
    /// A (64, 64, 64, 64) float32 x (64 MiB), so that writing a deflated OUT takes long
    /// enough to be interrupted in the middle.
    static func bigInput(in scratch: ScratchFolder) throws -> String {
        try scratch.python(
            "np.savez('big.npz', x=np.random.default_rng(7).standard_normal((64, 64, 64, 64), dtype=np.float32))")
        return scratch.path("big.npz")
    }

    @Test(arguments: [SIGINT, SIGTERM, SIGQUIT])
    func signalLeavesNoOutput(_ sig: Int32) throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let input = try Self.bigInput(in: scratch)
        let out = scratch.path("out.npz")
        let previous = Data("the result of an earlier run".utf8)
        try previous.write(to: URL(fileURLWithPath: out))

        // Stopped while computing, before any output exists.
        let early = try BNFileBinary.start(["run", "--compress", input, out])
        usleep(300_000)
        early.send(sig)
        let earlyOutcome = early.wait()
        #expect(earlyOutcome.signal == sig, "status \(String(describing: earlyOutcome.status)): \(earlyOutcome.stderr)")
        #expect(scratch.bytes("out.npz") == previous)
        #expect(scratch.leftovers(for: "out.npz").isEmpty)

        // Stopped while writing: the temporary file exists and must go.
        let late = try BNFileBinary.start(["run", "--compress", input, out])
        let writing = scratch.waitForTemporary(of: "out.npz", by: late, timeout: 300)
        #expect(writing, "the run never started writing")
        late.send(sig)
        let lateOutcome = late.wait()
        #expect(lateOutcome.signal == sig, "status \(String(describing: lateOutcome.status)): \(lateOutcome.stderr)")
        #expect(scratch.bytes("out.npz") == previous, "OUT was changed")
        #expect(scratch.leftovers(for: "out.npz").isEmpty, "left \(scratch.leftovers(for: "out.npz"))")
    }

    /// `ulimit -f 1024` (1 MiB, against a 2 MiB result): the write fails with EFBIG
    /// instead of SIGXFSZ killing the process, so the run reports it and removes its
    /// temporary file. (Under 1 MiB, thread-sanitizer builds die at start: their runtime
    /// needs a file of its own.)
    @Test func fileSizeLimitLeavesNoOutput() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try scratch.python(
            "np.savez('in.npz', x=np.random.default_rng(3).standard_normal((16, 8, 64, 64)).astype('<f4'))")
        let input = scratch.path("in.npz")
        let out = scratch.path("out.npz")
        let limited = try BNFileBinary.run(["run", input, out], shell: "ulimit -f 1024; exec")
        expectCleanFailure(
            limited, file: out, phrases: ["write failed", "File too large"], out: "out.npz", previous: nil, in: scratch)
        let previous = Data("kept".utf8)
        try previous.write(to: URL(fileURLWithPath: out))
        let again = try BNFileBinary.run(["run", input, out], shell: "ulimit -f 1024; exec")
        expectCleanFailure(
            again, file: out, phrases: ["File too large"], out: "out.npz", previous: previous, in: scratch)
    }

    /// Two runs from different inputs writing one OUT at once, several times over: the
    /// file is always exactly one run's result, and loads in numpy.
    @Test func concurrentRunsLeaveOneCompleteFile() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try scratch.python(
            """
            rng = np.random.default_rng(5)
            for name in ['a', 'b']:
                np.savez(name + '.npz', x=rng.standard_normal((8, 16, 32, 32)).astype('<f4'),
                         dout=rng.standard_normal((8, 16, 32, 32)).astype('<f4'))
            """)
        for name in ["a", "b"] {
            let single = try BNFileBinary.run(["run", scratch.path("\(name).npz"), scratch.path("\(name).ref.npz")])
            #expect(single.status == 0, "\(single.stderr)")
        }
        let references = [scratch.bytes("a.ref.npz"), scratch.bytes("b.ref.npz")]
        #expect(references[0] != references[1])
        let out = scratch.path("out.npz")
        for _ in 0..<3 {
            let runs = try ["a", "b"].map {
                try BNFileBinary.start(["run", "--threads", "1", scratch.path("\($0).npz"), out])
            }
            for run in runs {
                let outcome = run.wait()
                #expect(outcome.status == 0, "\(outcome.stderr)")
            }
            let result = scratch.bytes("out.npz")
            #expect(result != nil && references.contains(result), "OUT is neither run's result")
            #expect(scratch.leftovers(for: "out.npz").isEmpty)
        }
        try scratch.python(
            """
            out = np.load('out.npz')
            refs = [np.load('a.ref.npz'), np.load('b.ref.npz')]
            assert any(sorted(out.files) == sorted(r.files) and all(np.array_equal(out[k], r[k]) for k in r.files)
                       for r in refs), 'OUT does not equal either run'
            """)
    }
}
