import Foundation
import NumPyFormat
import Testing
#if canImport(Glibc)
import Glibc
#endif

// The support every CLI test shares: one way to start a process (`ChildProcess`), the
// built tool on top of it (`BNFileBinary`), one way to run Python (`Python`), one
// temporary folder type (`ScratchFolder`) and the repository's committed data
// (`Repository`). Helpers that only one suite needs stay in that suite's file.

// MARK: - Processes

/// How a child process ended and what it wrote.
struct ProcessOutcome {
    /// The exit status, or nil when a signal ended the process.
    var status: Int32?
    /// The signal that ended the process, or nil when it exited.
    var signal: Int32?
    var stdout: String
    var stderr: String
    /// Peak resident memory of the process, in KiB, as `wait4` reports it. This is an
    /// upper bound only: `posix_spawn` starts the child in the test process's memory, and
    /// Linux counts that memory's peak into the child's when it execs. For a figure of
    /// the child alone, `BNFileBinary.runMeasuringMemory`.
    var maxResidentKiB: Int
    var seconds: Double
}

/// A process started with `posix_spawn`, so a test can signal it while it runs and read
/// its own resource usage (`wait4`) once it ends; Foundation's `Process` offers neither.
///
/// Standard output and error go to files in a private folder (never a pipe, so no
/// stream can fill up and stall the child), standard input comes from `stdin` or
/// /dev/null, and SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT and SIGXFSZ are at their defaults
/// whatever the test runner does with them. `wait()` must be called once; it removes
/// the private folder.
struct ChildProcess {
    let pid: pid_t
    let started = Date()
    private let streams: URL

    /// Starts `argv[0]` (an absolute path) with `argv`, in `directory` if given.
    init(_ argv: [String], directory: String? = nil, stdin: String? = nil) throws {
        streams = FileManager.default.temporaryDirectory.appendingPathComponent("bnfile-child-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: streams, withIntermediateDirectories: true)
        var input = "/dev/null"
        if let stdin {
            input = streams.appendingPathComponent("stdin").path
            try Data(stdin.utf8).write(to: URL(fileURLWithPath: input))
        }
        // posix_spawn_file_actions_addchdir_np is not visible from Swift's Glibc module,
        // so a working directory is entered by a shell that then becomes the program.
        let command = directory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0] + argv } ?? argv
        pid = try Self.spawn(
            command, stdin: input, stdout: streams.appendingPathComponent("stdout").path,
            stderr: streams.appendingPathComponent("stderr").path)
    }

    private static func spawn(_ argv: [String], stdin: String, stdout: String, stderr: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
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
        return child
    }

    func send(_ sig: Int32) { kill(pid, sig) }

    /// Waits for the process to end and collects what it wrote.
    func wait() -> ProcessOutcome {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let signaled = status & 0x7f
        let text = { (name: String) in
            String(decoding: readWholeFile(streams.appendingPathComponent(name).path) ?? Data(), as: UTF8.self)
        }
        let outcome = ProcessOutcome(
            status: signaled == 0 ? (status >> 8) & 0xff : nil, signal: signaled == 0 ? nil : signaled,
            stdout: text("stdout"), stderr: text("stderr"), maxResidentKiB: usage.ru_maxrss,
            seconds: Date().timeIntervalSince(started))
        try? FileManager.default.removeItem(at: streams)
        return outcome
    }

    /// Runs `argv` to completion.
    static func run(_ argv: [String], directory: String? = nil, stdin: String? = nil) throws -> ProcessOutcome {
        try ChildProcess(argv, directory: directory, stdin: stdin).wait()
    }

    /// The absolute path of a program on PATH, or nil.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// The built `bnfile` binary: `$BNFILE_BIN`, else `<package root>/.build/debug/bnfile`
/// (`make test` builds it before testing).
enum BNFileBinary {
    static var path: String {
        ProcessInfo.processInfo.environment["BNFILE_BIN"]
            ?? Repository.root.appendingPathComponent(".build/debug/bnfile").path
    }

    /// Starts `bnfile arguments...`, or `/bin/bash -c "<shell> bnfile arguments..."`
    /// when `shell` is set (for `ulimit`).
    static func start(_ arguments: [String], shell: String? = nil) throws -> ChildProcess {
        try requireBinary()
        let argv = shell.map { ["/bin/bash", "-c", $0 + " \"$@\"", "bash", path] + arguments } ?? [path] + arguments
        return try ChildProcess(argv)
    }

    private static func requireBinary() throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            Issue.record("bnfile binary not found at \(path): run `swift build` first or set BNFILE_BIN")
            throw CancellationError()
        }
    }

    /// Runs `bnfile arguments...` to completion.
    static func run(_ arguments: [String], shell: String? = nil) throws -> ProcessOutcome {
        try start(arguments, shell: shell).wait()
    }

    /// Runs `bnfile arguments...` from a small Python process that reports the peak
    /// resident memory of bnfile alone (`RUSAGE_CHILDREN`): bnfile then starts in that
    /// process's memory (about 10 MB), not in the test process's, whose peak Linux would
    /// count into bnfile's (see `ProcessOutcome.maxResidentKiB`).
    static func runMeasuringMemory(_ arguments: [String]) throws -> ProcessOutcome {
        let scratch = try ScratchFolder(prefix: "bnfile-rss")
        defer { scratch.cleanup() }
        let report = scratch.path("maxrss")
        let wrapper = """
            import resource, subprocess, sys
            status = subprocess.run(sys.argv[2:]).returncode
            open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
            sys.exit(status if status >= 0 else 128 - status)
            """
        try requireBinary()
        var outcome = try ChildProcess.run(["/usr/bin/env", "python3", "-c", wrapper, report, path] + arguments)
        outcome.maxResidentKiB = Int(String(decoding: readWholeFile(report) ?? Data(), as: UTF8.self)) ?? Int.max
        return outcome
    }
}

// MARK: - Python

/// python3 from PATH, for numpy: it writes the files users have and reads the files
/// bnfile writes.
enum Python {
    struct Failure: Error, CustomStringConvertible {
        var message: String
        var description: String { "python failed: \(message)" }
    }

    /// Runs `source` (in `directory` if given, `stdin` as its input) and returns its
    /// standard output; a non-zero exit throws `Failure` with its standard error.
    @discardableResult
    static func run(_ source: String, in directory: String? = nil, stdin: String? = nil) throws -> String {
        let outcome = try ChildProcess.run(["/usr/bin/env", "python3", "-c", source], directory: directory, stdin: stdin)
        guard outcome.status == 0 else { throw Failure(message: outcome.stderr) }
        return outcome.stdout
    }

    /// `path` as a Python string literal.
    static func quoted(_ path: String) -> String { "'" + path.replacingOccurrences(of: "'", with: "\\'") + "'" }
}

// MARK: - Files

/// The repository this test file belongs to, for the committed data under data/.
enum Repository {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The absolute path of `relative` inside data/.
    static func data(_ relative: String) -> String { root.appendingPathComponent("data/\(relative)").path }
}

/// A temporary folder for one test, removed by `cleanup()`.
struct ScratchFolder {
    let url: URL

    init(prefix: String = "bnfile-tests") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func cleanup() { try? FileManager.default.removeItem(at: url) }

    /// Runs a Python snippet (numpy imported as np, and sys) in this folder.
    @discardableResult
    func python(_ script: String) throws -> String {
        try Python.run("import numpy as np, sys\n" + script, in: url.path)
    }

    /// `np.savez(name, <arrays>)`, where `arrays` is Python keyword-argument source such
    /// as `x=np.array([1, 2], np.float32)`. Returns the path.
    @discardableResult
    func savez(_ name: String, _ arrays: String) throws -> String {
        let path = self.path(name)
        try python("np.savez(\(Python.quoted(path)), \(arrays))")
        return path
    }

    /// `np.save(name, <array>)`. Returns the path.
    @discardableResult
    func save(_ name: String, _ array: String) throws -> String {
        let path = self.path(name)
        try python("np.save(\(Python.quoted(path)), \(array))")
        return path
    }

    func mkdir(_ name: String) throws {
        try FileManager.default.createDirectory(atPath: path(name), withIntermediateDirectories: true)
    }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    func bytes(_ name: String) -> Data? { readWholeFile(path(name)) }

    func contents(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }

    /// The names in a folder, sorted (hidden temporaries included, to catch leftovers).
    func listing(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path(folder)).sorted()
    }

    /// Temporary files `AtomicOutput` would leave for output `name` (`.name.tmp-*`).
    func leftovers(for name: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { $0.hasPrefix(".\(name).tmp-") }
    }

    /// Waits (up to `timeout` seconds) until `process` holds its temporary output open
    /// in this folder: an unnamed `O_TMPFILE` file (which /proc shows as `#<inode>
    /// (deleted)`) or a named `.name.tmp-*` one.
    func waitForTemporary(of name: String, by process: ChildProcess, timeout: Double) -> Bool {
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

/// Inputs for the tests: the committed fixtures (data/cases), hand-made and hostile files.
extension ScratchFolder {

    /// Fixture inputs that `bnfile run` takes with its default flags (nchw, training),
    /// without the large one, to keep the debug-build tests quick.
    static func defaultFlagCases() throws -> [String] {
        let manifest = URL(fileURLWithPath: Repository.data("cases/manifest.json"))
        let entries = try JSONSerialization.jsonObject(with: Data(contentsOf: manifest)) as? [[String: Any]] ?? []
        return entries.compactMap { entry in
            guard entry["layout"] as? String == "nchw", entry["eval"] as? Bool == false,
                  let name = entry["name"] as? String, name != "large_m_f32" else { return nil }
            return name
        }
    }

    /// The committed input of fixture `name`.
    static func fixture(_ name: String) -> String { Repository.data("cases/\(name).in.npz") }

    /// Copies a fixture input to `name` (relative to the scratch folder).
    func copyFixture(_ fixture: String, to name: String) throws {
        try FileManager.default.copyItem(atPath: Self.fixture(fixture), toPath: path(name))
    }

    /// A copy of the repository's small valid input.
    func validInput(_ name: String = "in.npz") throws -> String {
        try copyFixture("small_f32_4d", to: name)
        return path(name)
    }

    /// A file that is not an npz at all.
    func writeGarbage(_ name: String) throws {
        try Data("not a zip archive\n".utf8).write(to: URL(fileURLWithPath: path(name)))
    }

    /// An npz with a small float32 x of shape (2, 3, 4) and the given extra members.
    func writeInput(_ name: String, extra: [String: NPYArray] = [:]) throws {
        let writer = try NPZWriter(path: path(name))
        try writer.add("x", try NPYArray((0 ..< 24).map { Float($0 % 7) * 0.25 }, shape: [2, 3, 4]))
        for (key, array) in extra.sorted(by: { $0.key < $1.key }) { try writer.add(key, array) }
        try writer.finish()
    }

    /// Writes `fuzz/hostile.py`'s archive of `kind` here and returns its path.
    func hostile(_ kind: String) throws -> String {
        let script = Repository.root.appendingPathComponent("fuzz/hostile.py").path
        try python("import runpy; sys.argv = ['hostile', '\(kind)', '\(kind).npz']; "
            + "runpy.run_path('\(script)', run_name='__main__')")
        return path("\(kind).npz")
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

// MARK: - Reading what bnfile printed

/// Every line of the process output, without empty ones.
func outputLines(_ text: String) -> [String] {
    text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
}

/// `bnfile diff ... --json`, parsed.
struct DiffJSON {
    let status: Int32?
    let document: [String: Any]

    static func run(_ arguments: [String]) throws -> DiffJSON {
        let result = try BNFileBinary.run(["diff"] + arguments + ["--json"])
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        let document = try #require(object as? [String: Any], "not a JSON object: \(result.stdout) \(result.stderr)")
        return DiffJSON(status: result.status, document: document)
    }

    var keys: [[String: Any]] { document["keys"] as? [[String: Any]] ?? [] }

    func key(_ name: String) throws -> [String: Any] {
        try #require(keys.first { $0["key"] as? String == name }, "no key \(name) in \(keys.map { $0["key"] ?? "?" })")
    }

    /// The plain comparison of a key (nil for structural outcomes).
    func comparison(_ name: String) throws -> [String: Any]? {
        (try key(name)["outcome"] as? [String: Any])?["comparison"] as? [String: Any]
    }

    func outcomeKind(_ name: String) throws -> String? {
        (try key(name)["outcome"] as? [String: Any])?["kind"] as? String
    }

    /// Side "a" or "b" of a key's truth judgement.
    func side(_ name: String, _ side: String) throws -> [String: Any] {
        let truth = try #require(try key(name)["truth"] as? [String: Any], "\(name) has no truth judgement")
        return try #require(truth[side] as? [String: Any])
    }
}

/// Checks a failed run: status 2, one stderr line naming `file` and holding `phrases`,
/// and for output `out` in `scratch`, no temporary file and `previous` (the bytes OUT
/// had before, or nil for none) still in place.
func expectCleanFailure(
    _ outcome: ProcessOutcome, file: String, phrases: [String], out: String, previous: Data?,
    in scratch: ScratchFolder, sourceLocation: SourceLocation = #_sourceLocation
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
