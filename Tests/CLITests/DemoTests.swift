import Foundation
import TestSupport
import Testing

/// The Makefile use the README shows: the pattern rule under `make -j`, failures that
/// leave no target behind, reruns that redo only what is missing, and the repository's
/// own `make demo` built from the same rule.
@Suite(.enabled(if: ChildProcess.which("make") != nil))
struct DemoTests {
    /// The README's rule, verbatim but for the binary's path.
    static let makefile = """
        BNFILE ?= bnfile
        INPUTS := $(filter-out %.grads.npz,$(wildcard *.npz))
        all: $(INPUTS:.npz=.grads.npz)

        %.grads.npz: %.npz
        \t$(BNFILE) run $< $@

        """

    static func make(_ arguments: [String], in scratch: ScratchFolder) throws -> ProcessOutcome {
        try ChildProcess.run(
            [ChildProcess.which("make")!] + arguments + ["BNFILE=\(BNFileBinary.path)"], directory: scratch.url.path)
    }

    @Test func patternRuleUnderParallelMakeThenRerunAfterAFix() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try Self.makefile.write(toFile: scratch.path("Makefile"), atomically: true, encoding: .utf8)
        let names = ["notebook", "small_f32_4d", "small_f64_4d", "mixed_f16_f32", "ties_f32"]
        for name in names { try scratch.copyFixture(name, to: "\(name).npz") }
        try scratch.writeGarbage("broken.npz")

        let first = try Self.make(["-j4", "-k"], in: scratch)
        #expect(first.status != 0, "the broken input fails the build")
        #expect(!scratch.exists("broken.grads.npz"), "no partial target left for make to trust")
        #expect(try scratch.listing(".").filter { $0.hasPrefix(".") }.isEmpty, "no temporaries left")
        for name in names {
            #expect(scratch.exists("\(name).grads.npz"), "\(name)")
            let single = try BNFileBinary.run(["run", scratch.path("\(name).npz"), scratch.path("\(name).single")])
            #expect(single.status == 0)
            #expect(try scratch.contents("\(name).grads.npz") == scratch.contents("\(name).single"))
        }

        try scratch.copyFixture("small_f32_2d", to: "fixed.npz")
        try FileManager.default.removeItem(atPath: scratch.path("broken.npz"))
        try FileManager.default.moveItem(atPath: scratch.path("fixed.npz"), toPath: scratch.path("broken.npz"))
        let second = try Self.make(["-j4"], in: scratch)
        #expect(second.status == 0, "\(second.stderr)")
        let runs = second.stdout.split(separator: "\n").filter { $0.contains(" run ") }
        #expect(runs.count == 1 && runs[0].hasSuffix("run broken.npz broken.grads.npz"), "\(second.stdout)")

        let third = try Self.make(["-j4"], in: scratch)
        #expect(third.status == 0)
        #expect(!third.stdout.contains(" run "), "nothing to redo: \(third.stdout)")
    }

    /// `make -n demo` in the repository: the demo goes through the pattern rule and the
    /// diff step the README shows (nothing is built or run).
    @Test func repositoryDemoUsesThePatternRuleAndTheDiffStep() throws {
        let root = Repository.root.path
        let makefile = try String(contentsOfFile: root + "/Makefile", encoding: .utf8)
        #expect(makefile.contains("%.grads.npz: %.npz\n\t$(BIN) run $< $@\n"))
        let dryRun = try ChildProcess.run([ChildProcess.which("make")!, "-n", "-B", "demo"], directory: root)
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        let lines = dryRun.stdout.split(separator: "\n").map(String.init)
        #expect(
            lines.contains(".build/release/bnfile run build/demo/notebook.npz build/demo/notebook.grads.npz"),
            "\(dryRun.stdout)")
        #expect(
            lines.contains(
                ".build/release/bnfile diff build/demo/notebook.grads.npz data/notebook.torch.npz "
                    + "--inputs data/notebook.npz"), "\(dryRun.stdout)")
    }
}
