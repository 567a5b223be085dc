import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Where OUT's bytes go: never over the input, never replacing a device, FIFO or
/// symlink, and no temporary file left behind by any way a run can end.
@Suite struct ReliabilityPlacementTests {
    /// `run a.npz a.npz` (or any other name of the same file) is refused before
    /// anything is read or written; the input is untouched.
    @Test func outputThatIsTheInputIsRefused() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let input = try scratch.validInput("a.npz")
        let original = scratch.bytes("a.npz")
        #expect(link(input, scratch.path("hard.npz")) == 0)
        #expect(symlink("a.npz", scratch.path("soft.npz")) == 0)
        for out in [input, scratch.path("./a.npz"), scratch.path("hard.npz"), scratch.path("soft.npz")] {
            let outcome = try BNFileBinary.run(["run", input, out])
            #expect(outcome.status == 2, "\(out): \(outcome.stderr)")
            #expect(outcome.stderr.contains("is the input file"), "\(outcome.stderr)")
            #expect(outcome.stderr.split(separator: "\n").count == 1)
            #expect(scratch.bytes("a.npz") == original)
        }
        #expect(scratch.leftovers(for: "a.npz").isEmpty)
    }

    /// A symlinked OUT: the link's target gets the result, the link stays a link.
    @Test func symlinkedOutputReplacesItsTarget() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let input = try scratch.validInput()
        try scratch.mkdir("real")
        try Data("old".utf8).write(to: URL(fileURLWithPath: scratch.path("real/out.npz")))
        #expect(symlink("real/out.npz", scratch.path("link.npz")) == 0)
        let outcome = try BNFileBinary.run(["run", input, scratch.path("link.npz")])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        var info = stat()
        #expect(lstat(scratch.path("link.npz"), &info) == 0 && info.st_mode & S_IFMT == S_IFLNK)
        #expect(scratch.bytes("real/out.npz")?.starts(with: [0x50, 0x4b]) == true)
        #expect(scratch.leftovers(for: "out.npz").isEmpty && scratch.leftovers(for: "link.npz").isEmpty)
        // A dangling link is created through, as `cp` or a shell redirection would.
        #expect(symlink("real/new.npz", scratch.path("dangling.npz")) == 0)
        let created = try BNFileBinary.run(["run", input, scratch.path("dangling.npz")])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(lstat(scratch.path("dangling.npz"), &info) == 0 && info.st_mode & S_IFMT == S_IFLNK)
        #expect(scratch.bytes("real/new.npz") != nil)
    }

    /// A device node (a twin of /dev/null made here, as root) and a FIFO are written in
    /// place and stay what they are. The FIFO cannot take the zip's patched headers,
    /// so that run fails, in one line.
    @Test func deviceAndFifoOutputsAreNotReplaced() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let input = try scratch.validInput()
        if geteuid() == 0 {
            #expect(mknod(scratch.path("null"), S_IFCHR | 0o666, dev_t((1 << 8) | 3)) == 0)
            let outcome = try BNFileBinary.run(["run", input, scratch.path("null")])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            var info = stat()
            #expect(lstat(scratch.path("null"), &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)
            #expect(scratch.leftovers(for: "null").isEmpty)
        }
        #expect(mkfifo(scratch.path("fifo"), 0o644) == 0)
        let reader = open(scratch.path("fifo"), O_RDONLY | O_NONBLOCK)
        defer { close(reader) }
        let outcome = try BNFileBinary.run(["run", input, scratch.path("fifo")])
        expectEndsCleanly(outcome, "run to a FIFO")
        var info = stat()
        #expect(lstat(scratch.path("fifo"), &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        #expect(scratch.leftovers(for: "fifo").isEmpty)
    }

    /// `/dev/stdout` (a link to /proc/self/fd/1) is written in place: redirected to a
    /// file, that file gets the archive and /dev/stdout stays what it was.
    @Test func standardOutputIsWrittenInPlace() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let input = try scratch.validInput()
        let outcome = try BNFileBinary.run(
            ["run", input, "/dev/stdout"],
            shell: "exec 1>\(scratch.path("piped.npz")); exec")
        #expect(outcome.status == 0, "\(outcome.stderr)")
        try scratch.python("assert 'dx' in np.load('piped.npz').files")
        var info = stat()
        #expect(lstat("/dev/stdout", &info) == 0 && info.st_mode & S_IFMT == S_IFLNK)
    }

    /// SIGKILL and SIGUSR1 cannot be caught for cleanup: the temporary file is unnamed
    /// while written (O_TMPFILE), so nothing is left to clean.
    @Test(arguments: [SIGKILL, SIGUSR1])
    func uncatchableEndLeavesNothing(_ sig: Int32) throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try scratch.python(
            "np.savez('big.npz', x=np.random.default_rng(7).standard_normal((64, 64, 64, 64), dtype=np.float32))")
        let late = try BNFileBinary.start(["run", "--compress", scratch.path("big.npz"), scratch.path("out.npz")])
        let writing = scratch.waitForTemporary(of: "out.npz", by: late, timeout: 300)
        #expect(writing, "the run never started writing")
        late.send(sig)
        let outcome = late.wait()
        #expect(outcome.signal == sig)
        #expect(!scratch.exists("out.npz"))
        let names = (try? FileManager.default.contentsOfDirectory(atPath: scratch.url.path)) ?? []
        #expect(names.allSatisfy { !$0.hasPrefix(".") }, "left \(names)")
    }

    /// Named temporary files (where O_TMPFILE is not available) record their process;
    /// a later run in the folder removes those of dead processes and keeps a live one's.
    @Test func deadProcessesTemporariesAreReclaimed() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let input = try scratch.validInput()
        let dead = try BNFileBinary.start(["--version"])
        _ = dead.wait()
        let deadName = ".out.npz.tmp-\(dead.pid)-abcdefABCDEF"
        let liveName = ".out.npz.tmp-\(getpid())-abcdefABCDEF"
        let otherName = ".notes.tmp-keep"
        for name in [deadName, liveName, otherName] {
            try Data("partial".utf8).write(to: URL(fileURLWithPath: scratch.path(name)))
        }
        let outcome = try BNFileBinary.run(["run", input, scratch.path("other.npz")])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(!scratch.exists(deadName))
        #expect(scratch.exists(liveName) && scratch.exists(otherName))
    }

    /// OUT names up to NAME_MAX (255 bytes), which numpy writes, are written: the
    /// temporary name is shortened to fit instead of failing with ENAMETOOLONG.
    @Test(arguments: [246, 250, 255])
    func longOutputNamesAreWritten(length: Int) throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let input = try scratch.validInput()
        let name = String(repeating: "r", count: length - 4) + ".npz"
        let outcome = try BNFileBinary.run(["run", input, scratch.path(name)])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(scratch.exists(name))
    }
}
