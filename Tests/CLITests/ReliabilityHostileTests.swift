import Foundation
import TestSupport
import Testing

/// `bnfile run` on archives built to exhaust or trick a reader (`fuzz/hostile.py`): each
/// must exit 2 with one line naming the file and the problem, quickly and in little
/// memory, leaving no OUT and no temporary file, and an existing OUT untouched.
@Suite struct ReliabilityHostileTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var kind: String
        var phrases: [String]
        var testDescription: String { kind }
    }

    static let cases: [Case] = [
        Case(kind: "bomb-declared", phrases: ["member 'x.npy'", "declares 8589934592", "zip bomb"]),
        Case(kind: "bomb-inflating", phrases: ["member 'x.npy'", "declared 1048576 bytes, but it inflates to more"]),
        Case(kind: "header-2-pow-60", phrases: ["shape (1152921504606846976,)", "the data is cut short"]),
        Case(kind: "zip64-past-end", phrases: ["points to offset 1099511627776, past the end of the file"]),
        Case(kind: "local-central-disagree", phrases: ["member 'x.npy'", "local header uncompressed size"]),
        Case(kind: "duplicate-names", phrases: ["member 'x.npy'", "unique member names"]),
        Case(kind: "overlapping", phrases: ["member 'y.npy'", "lies inside member 'x.npy'", "overlapping"]),
        Case(kind: "many-members", phrases: ["at most 4096 members", "found 10000", "--max-members"]),
    ]

    /// Bounds for a refused hostile file: far below what the file claims (8 GiB, 2^62
    /// bytes, 256 MiB inflated); generous enough for a debug or sanitizer build.
    static let maxResidentKiB = 512 * 1024
    static let maxSeconds = 20.0

    @Test(arguments: cases)
    func hostileInputIsRefused(_ hostile: Case) throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let input = try scratch.hostile(hostile.kind)
        let out = scratch.path("out.npz")
        let fresh = try BNFileBinary.run(["run", input, out])
        expectCleanFailure(fresh, file: input, phrases: hostile.phrases, out: "out.npz", previous: nil, in: scratch)
        // Sanitizer builds (make sanitize) reserve hundreds of MiB of their own; the bound
        // is checked on ordinary builds only.
        if ProcessOutcome.peaksAreBounded {
            #expect(fresh.maxResidentKiB < Self.maxResidentKiB, "peak RSS \(fresh.maxResidentKiB) KiB")
        }
        #expect(fresh.seconds < Self.maxSeconds, "took \(fresh.seconds) s")

        let previous = Data("an earlier result".utf8)
        try previous.write(to: URL(fileURLWithPath: out))
        let again = try BNFileBinary.run(["run", input, out])
        expectCleanFailure(
            again, file: input, phrases: hostile.phrases, out: "out.npz", previous: previous, in: scratch)
    }

    /// A member over `--max-bytes` is refused with a message naming the flag, and the
    /// same file runs once the flag is raised.
    @Test func maxBytesIsEnforcedAndRaisable() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try scratch.python(
            "np.savez_compressed('in.npz', x=np.random.default_rng(1).standard_normal((4, 3, 8, 8)).astype('<f4'))")
        let input = scratch.path("in.npz")
        let out = scratch.path("out.npz")
        let refused = try BNFileBinary.run(["run", "--max-bytes", "1000", input, out])
        expectCleanFailure(
            refused, file: input,
            phrases: ["member 'x.npy'", "at most 1000 bytes once inflated", "raise the limit with --max-bytes"],
            out: "out.npz", previous: nil, in: scratch)
        #expect(!refused.stderr.contains("NPYReadOptions"))
        let accepted = try BNFileBinary.run(["run", "--max-bytes", "1000000", input, out])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(scratch.bytes("out.npz") != nil)
    }

    /// The member-count bound is raisable too: with `--max-members` above the count,
    /// the 10,000-member archive opens, and inspect describes it.
    @Test func maxMembersIsRaisable() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let input = try scratch.hostile("many-members")
        let refused = try BNFileBinary.run(["inspect", input])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--max-members"))
        let accepted = try BNFileBinary.run(["inspect", "--max-members", "20000", input])
        #expect(accepted.status == 0, "\(accepted.stderr)")
    }
}

/// A deflated member declaring more than the machine's memory (with enough compressed
/// bytes to pass deflate's 1032:1 bound) is refused before inflating, by the default
/// --max-bytes, which is never above the physical memory; the message names the flag.
@Suite struct ReliabilityMemoryBoundTests {
    @Test func memberLargerThanMemoryIsRefusedBeforeInflating() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let script = Repository.root.appendingPathComponent("fuzz/hostile.py").path
        try scratch.python(
            """
            import runpy, os
            h = runpy.run_path('\(script)')
            declared = os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') + (1 << 20)
            member = h['Member']('x.npy', bytes(declared // 1000), method=8, size=declared)
            open('huge.npz', 'wb').write(h['archive']([member]))
            """)
        let input = scratch.path("huge.npz")
        let outcome = try BNFileBinary.run(["run", input, scratch.path("out.npz")])
        expectCleanFailure(
            outcome, file: input,
            phrases: ["member 'x.npy'", "the machine's physical memory", "raise the limit with --max-bytes"],
            out: "out.npz", previous: nil, in: scratch)
        if ProcessOutcome.peaksAreBounded {
            #expect(
                outcome.maxResidentKiB < ReliabilityHostileTests.maxResidentKiB,
                "peak RSS \(outcome.maxResidentKiB) KiB")
        }
    }
}
