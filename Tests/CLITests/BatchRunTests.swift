import Foundation
import NumPyFormat
import TestSupport
import Testing

/// `bnfile run --out-dir DIR IN...`: same bytes as single runs, failures, names, folders.
@Suite struct BatchRunTests {
    @Test func batchOutputsAreByteIdenticalToSingleRuns() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try scratch.mkdir("in")
        let cases = try ScratchFolder.defaultFlagCases()
        #expect(cases.count >= 10)
        // Each fixture twice under different names: more files than cores, so files run
        // concurrently with fewer engine threads each than the single runs use.
        var stems: [String] = []
        for name in cases {
            for copy in ["a", "b"] {
                try scratch.copyFixture(name, to: "in/\(name)-\(copy).npz")
                stems.append("\(name)-\(copy)")
            }
        }
        let batch = try BNFileBinary.run(["run", "--out-dir", scratch.path("out"), scratch.path("in")])
        #expect(batch.status == 0, "\(batch.stderr)")
        #expect(
            batch.stderr.contains("bnfile: \(stems.count) of \(stems.count) files written to \(scratch.path("out"))"))
        #expect(!batch.stderr.contains("\r"), "no progress bar when stderr is not a terminal")
        try scratch.mkdir("single")
        for stem in stems where stem.hasSuffix("-a") {
            let single = try BNFileBinary.run([
                "run", scratch.path("in/\(stem).npz"), scratch.path("single/\(stem).npz"),
            ])
            #expect(single.status == 0, "\(single.stderr)")
            #expect(try scratch.contents("out/\(stem).grads.npz") == scratch.contents("single/\(stem).npz"), "\(stem)")
            let twin = String(stem.dropLast(2)) + "-b"
            #expect(try scratch.contents("out/\(twin).grads.npz") == scratch.contents("single/\(stem).npz"), "\(twin)")
        }
        #expect(try scratch.listing("out").count == stems.count, "no temporaries left behind")
    }

    @Test func threadBudgetDoesNotChangeTheBytes() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try scratch.mkdir("in")
        for name in ["notebook", "small_f32_4d", "mixed_f16_f32", "ties_f32"] {
            try scratch.copyFixture(name, to: "in/\(name).npz")
        }
        for threads in ["1", "3", "8"] {
            let result = try BNFileBinary.run([
                "run", "--threads", threads, "--out-dir", scratch.path("t\(threads)"),
                scratch.path("in"),
            ])
            #expect(result.status == 0, "\(result.stderr)")
        }
        for name in try scratch.listing("t1") {
            #expect(try scratch.contents("t1/\(name)") == scratch.contents("t3/\(name)"))
            #expect(try scratch.contents("t1/\(name)") == scratch.contents("t8/\(name)"))
        }
    }

    /// `in/a.npz` and `in/c.npz` valid, `in/b.npz` garbage between them.
    static func goodBadGood(in scratch: ScratchFolder) throws {
        try scratch.mkdir("in")
        try scratch.copyFixture("notebook", to: "in/a.npz")
        try scratch.writeGarbage("in/b.npz")
        try scratch.copyFixture("small_f32_4d", to: "in/c.npz")
    }

    /// With one worker the order is fixed: a is written, b fails, c is never started.
    @Test func firstFailureStopsNewFiles() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try Self.goodBadGood(in: scratch)
        let out = scratch.path("out")
        let result = try BNFileBinary.run(["run", "--threads", "1", "--out-dir", out, scratch.path("in")])
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("bnfile: error: \(scratch.path("in/b.npz")): ") }, "\(result.stderr)")
        #expect(
            lines.last == "bnfile: 1 of 3 files written to \(out); 1 failed: \(scratch.path("in/b.npz")); "
                + "1 not started (--keep-going runs them anyway)")
        #expect(try scratch.listing("out") == ["a.grads.npz"])
    }

    @Test func keepGoingRunsEveryFileAndStillFails() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try Self.goodBadGood(in: scratch)
        let missing = scratch.path("nowhere/d.npz")
        let out = scratch.path("out")
        let result = try BNFileBinary.run(["run", "--keep-going", "--out-dir", out, scratch.path("in"), missing])
        #expect(result.status == 2)
        #expect(result.stderr.contains("bnfile: error: \(missing): "), "a missing file fails like a bad one")
        let summary = result.stderr.split(separator: "\n").last.map(String.init)
        #expect(summary == "bnfile: 2 of 4 files written to \(out); 2 failed: \(scratch.path("in/b.npz")), \(missing)")
        #expect(try scratch.listing("out") == ["a.grads.npz", "c.grads.npz"])
    }

    @Test func sameStemFromTwoFoldersIsRefusedBeforeAnyWork() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try scratch.mkdir("one")
        try scratch.mkdir("two")
        try scratch.copyFixture("notebook", to: "one/x.npz")
        try scratch.copyFixture("small_f32_4d", to: "one/y.npz")
        try scratch.copyFixture("notebook", to: "two/x.npz")
        let result = try BNFileBinary.run([
            "run", "--out-dir", scratch.path("out"), scratch.path("one"), scratch.path("two"),
        ])
        #expect(result.status == 2)
        #expect(
            result.stderr.contains(
                "\(scratch.path("one/x.npz")) and \(scratch.path("two/x.npz")) would both be written to"),
            "\(result.stderr)")
        #expect(!scratch.exists("out"), "nothing created before the batch is known to be sound")
    }

    @Test func outputThatWouldReplaceAnInputIsRefused() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try scratch.mkdir("d")
        try scratch.copyFixture("notebook", to: "d/b.npz")
        try scratch.copyFixture("notebook", to: "d/b.grads.npz")
        let before = try scratch.contents("d/b.grads.npz")
        let result = try BNFileBinary.run([
            "run", "--out-dir", scratch.path("d"), scratch.path("d/b.npz"),
            scratch.path("d/b.grads.npz"),
        ])
        #expect(result.status == 2)
        #expect(result.stderr.contains("is also an input of this batch"), "\(result.stderr)")
        #expect(try scratch.contents("d/b.grads.npz") == before)
    }

    /// Folders give their *.npz files, sorted, not recursively, without hidden files or
    /// earlier outputs; a folder can be its own --out-dir and a rerun adds nothing new.
    @Test func foldersContributeTheirInputs() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try scratch.mkdir("d/sub")
        try scratch.copyFixture("notebook", to: "d/z.npz")
        try scratch.copyFixture("notebook", to: "d/a.npz")
        try scratch.copyFixture("notebook", to: "d/.hidden.npz")
        try scratch.copyFixture("notebook", to: "d/sub/deep.npz")
        try scratch.writeGarbage("d/notes.txt")
        try scratch.copyFixture("small_f32_2d", to: "extra.npz")
        for _ in 0..<2 {
            let result = try BNFileBinary.run([
                "run", "--out-dir", scratch.path("d"), scratch.path("d"),
                scratch.path("extra.npz"), scratch.path("d/a.npz"),
            ])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(
                result.stderr.hasSuffix("bnfile: 3 of 3 files written to \(scratch.path("d"))\n"), "\(result.stderr)")
            #expect(
                try scratch.listing("d") == [
                    ".hidden.npz", "a.grads.npz", "a.npz", "extra.grads.npz", "notes.txt",
                    "sub", "z.grads.npz", "z.npz",
                ])
        }
    }

    @Test func emptyBatchIsAnError() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try scratch.mkdir("empty")
        let result = try BNFileBinary.run(["run", "--out-dir", scratch.path("out"), scratch.path("empty")])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("bnfile: error: no input files: "), "\(result.stderr)")
        #expect(result.stderr.contains("\(scratch.path("empty")): no .npz inputs in this folder"))
        // One empty folder among others is only a warning.
        try scratch.copyFixture("notebook", to: "a.npz")
        let mixed = try BNFileBinary.run([
            "run", "--out-dir", scratch.path("out"), scratch.path("empty"), scratch.path("a.npz"),
        ])
        #expect(mixed.status == 0)
        #expect(mixed.stderr.hasPrefix("bnfile: warning: \(scratch.path("empty")): no .npz inputs"), "\(mixed.stderr)")
    }

    @Test func singleFileUsageStaysAndPointsToBatchMode() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let single = try BNFileBinary.run(["run", ScratchFolder.fixture("notebook"), scratch.path("nb.grads.npz")])
        #expect(single.status == 0 && single.stderr.isEmpty, "\(single.stderr)")
        let three = try BNFileBinary.run(["run", "a.npz", "b.npz", "c.npz"])
        #expect(three.status != 0)
        #expect(three.stderr.contains("use --out-dir DIR IN..."), "\(three.stderr)")
        let keepGoing = try BNFileBinary.run(["run", "--keep-going", "a.npz", "b.npz"])
        #expect(keepGoing.status != 0)
        #expect(keepGoing.stderr.contains("--keep-going applies only with --out-dir"))
    }

    /// Under a pseudo-terminal (script(1)) the bar is drawn and erased before the summary.
    @Test(.enabled(if: ChildProcess.which("script") != nil))
    func progressBarOnATerminal() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try scratch.mkdir("in")
        for index in 0..<4 { try scratch.copyFixture("notebook", to: "in/n\(index).npz") }
        let command = "'\(BNFileBinary.path)' run --out-dir out in"
        let result = try ChildProcess.run(
            [ChildProcess.which("script")!, "-qec", command, "/dev/null"],
            directory: scratch.url.path)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("] 4/4 files"), "\(result.stdout)")
        #expect(result.stdout.contains("[" + String(repeating: ".", count: 30) + "] 0/4 files"))
        #expect(result.stdout.contains("\rbnfile: 4 of 4 files written to out"))
    }
}
