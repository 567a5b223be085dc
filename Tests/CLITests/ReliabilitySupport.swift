import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A `bnfile` process started with `posix_spawn`, so a test can signal it while it runs
/// and read its own resource usage (`wait4`) once it ends; Foundation's `Process` offers
/// neither.
struct SpawnedBNFile {
    struct Outcome {
        /// The exit status, or nil when a signal ended the process.
        var status: Int32?
        var signal: Int32?
        var stderr: String
        /// Peak resident memory of this process alone, in KiB.
        var maxResidentKiB: Int
        var seconds: Double
    }

    let pid: pid_t
    let stderrPath: String
    let started = Date()

    /// Starts `bnfile arguments...` (or `/bin/bash -c script` when `shell` is set, for
    /// `ulimit`), stderr to a file in `scratch`, with SIGINT and SIGTERM at their
    /// defaults whatever the test runner does with them.
    init(_ arguments: [String], in scratch: ReliabilityScratch, shell: String? = nil) throws {
        stderrPath = scratch.path("stderr-\(UUID().uuidString).txt")
        let argv = shell.map { ["/bin/bash", "-c", $0 + " \"$@\"", "bash", BNFileBinary.path] + arguments }
            ?? [BNFileBinary.path] + arguments
        guard FileManager.default.isExecutableFile(atPath: BNFileBinary.path) else {
            Issue.record("bnfile binary not found at \(BNFileBinary.path): run `swift build` first or set BNFILE_BIN")
            throw CancellationError()
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT, SIGXFSZ] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, argv[0], &actions, &attributes, cArguments, environ)
        guard result == 0 else {
            Issue.record("cannot start \(argv[0]): \(String(cString: strerror(result)))")
            throw CancellationError()
        }
        pid = child
    }

    func send(_ sig: Int32) { kill(pid, sig) }

    func wait() -> Outcome {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let signaled = status & 0x7f
        let text = String(decoding: readWholeFile(stderrPath) ?? Data(), as: UTF8.self)
        return Outcome(
            status: signaled == 0 ? (status >> 8) & 0xff : nil, signal: signaled == 0 ? nil : signaled,
            stderr: text, maxResidentKiB: usage.ru_maxrss, seconds: Date().timeIntervalSince(started))
    }

    /// Runs to completion.
    static func run(_ arguments: [String], in scratch: ReliabilityScratch, shell: String? = nil) throws -> Outcome {
        try SpawnedBNFile(arguments, in: scratch, shell: shell).wait()
    }
}

/// A temporary folder for one test, with the checks every reliability test makes on it.
extension ScratchFolder {

    /// Runs a Python snippet (numpy imported as np) in this folder.
    func python(_ script: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import numpy as np, sys\n" + script]
        process.currentDirectoryURL = url
        let err = Pipe()
        process.standardError = err
        try process.run()
        let message = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            Issue.record("python failed: \(String(decoding: message, as: UTF8.self))")
            throw CancellationError()
        }
    }

    /// Writes `fuzz/hostile.py`'s archive of `kind` here and returns its path.
    func hostile(_ kind: String) throws -> String {
        let script = Self.packageRoot.appendingPathComponent("fuzz/hostile.py").path
        try python("import runpy; sys.argv = ['hostile', '\(kind)', '\(kind).npz']; "
            + "runpy.run_path('\(script)', run_name='__main__')")
        return path("\(kind).npz")
    }

    /// A copy of the repository's small valid input.
    func validInput(_ name: String = "in.npz") throws -> String {
        let source = Self.packageRoot.appendingPathComponent("data/cases/small_f32_4d.in.npz")
        try FileManager.default.copyItem(at: source, to: url.appendingPathComponent(name))
        return path(name)
    }

    func bytes(_ name: String) -> Data? { readWholeFile(path(name)) }

    /// Temporary files `AtomicOutput` would leave for output `name` (`.name.tmp-*`).
    func leftovers(for name: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { $0.hasPrefix(".\(name).tmp-") }
    }

    /// Waits (up to `timeout` seconds) until `process` holds its temporary output open
    /// in this folder: an unnamed `O_TMPFILE` file (which /proc shows as `#<inode>
    /// (deleted)`) or a named `.name.tmp-*` one.
    func waitForTemporary(of name: String, by process: SpawnedBNFile, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !leftovers(for: name).isEmpty || !unnamedFiles(openBy: process.pid).isEmpty { return true }
            usleep(2_000)
        }
        return false
    }

    /// Unnamed files in this folder that `pid` has open, from /proc/<pid>/fd.
    func unnamedFiles(openBy pid: pid_t) -> [String] {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        let folder = url.resolvingSymlinksInPath().path
        return fds.compactMap { fd in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                  target.hasPrefix(folder + "/#") || (target.hasPrefix(folder + "/") && target.hasSuffix("(deleted)"))
            else { return nil }
            return target
        }
    }
}

/// A file's bytes, or nil if it cannot be opened. Plain POSIX reads: Foundation's file
/// reading leaks its buffer for empty files in this toolchain, which LeakSanitizer
/// reports under `make sanitize`.
func readWholeFile(_ path: String) -> Data? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return n == 0 ? data : nil }
        data.append(contentsOf: buffer[0..<n])
    }
}

/// Checks a failed run: status 2, one stderr line naming `file` and holding `phrases`,
/// and for output `out` in `scratch`, no temporary file and `previous` (the bytes OUT
/// had before, or nil for none) still in place.
func expectCleanFailure(
    _ outcome: SpawnedBNFile.Outcome, file: String, phrases: [String], out: String, previous: Data?,
    in scratch: ReliabilityScratch, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(outcome.status == 2, "status \(String(describing: outcome.status)), signal \(String(describing: outcome.signal)): \(outcome.stderr)", sourceLocation: sourceLocation)
    let lines = outcome.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
    #expect(lines.count == 1, "stderr: \(outcome.stderr)", sourceLocation: sourceLocation)
    #expect(outcome.stderr.hasPrefix("bnfile: error: \(file)"), "stderr: \(outcome.stderr)", sourceLocation: sourceLocation)
    for phrase in phrases {
        #expect(outcome.stderr.contains(phrase), "stderr lacks '\(phrase)': \(outcome.stderr)", sourceLocation: sourceLocation)
    }
    #expect(scratch.bytes(out) == previous, "OUT was changed", sourceLocation: sourceLocation)
    #expect(scratch.leftovers(for: out).isEmpty, "left \(scratch.leftovers(for: out))", sourceLocation: sourceLocation)
}
