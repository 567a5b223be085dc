import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// An input truncated by another process while `run` reads it (its pages are mapped,
/// so the next touch raises SIGBUS): the run ends with one line naming the file and
/// "changed while being read", status 2, no OUT and no temporary file.
@Suite(.serialized) struct ReliabilityInputChangeTests {
    @Test(arguments: [[], ["--compress"]])
    func inputTruncatedWhileReadEndsInOneLine(_ flags: [String]) throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try scratch.python(
            "np.savez('big.npz', x=np.random.default_rng(7).standard_normal((64, 64, 64, 64), dtype=np.float32))")
        let input = scratch.path("big.npz")
        let run = try BNFileBinary.start(["run"] + flags + [input, scratch.path("out.npz")])
        let writing = scratch.waitForTemporary(of: "out.npz", by: run, timeout: 300)
        #expect(writing, "the run never started writing")
        #expect(truncate(input, 4096) == 0)
        let outcome = run.wait()
        expectCleanFailure(
            outcome, file: input, phrases: ["changed while being read"], out: "out.npz",
            previous: nil, in: scratch)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: scratch.url.path)) ?? []
        #expect(names.allSatisfy { !$0.hasPrefix(".") }, "left \(names)")
    }
}
