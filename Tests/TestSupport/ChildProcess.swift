import Foundation
import Glibc

// The support the test targets share (CLITests, NumPyFormatTests, BatchNormFilesTests):
// one way to start a process (`ChildProcess`), one way to run Python (`Python`) and one
// temporary folder type (`ScratchFolder`). It imports no library of the package, so any
// test target can use it without seeing more than its own library.

/// How a child process ended and what it wrote.
public struct ProcessOutcome: Sendable {
    /// The exit status, or nil when a signal ended the process.
    public var status: Int32?
    /// The signal that ended the process, or nil when it exited.
    public var signal: Int32?
    public var stdout: String
    public var stderr: String
    /// Peak resident memory of the process, in KiB, as `wait4` reports it. This is an
    /// upper bound only: `posix_spawn` starts the child in the test process's memory, and
    /// Linux counts that memory's peak into the child's when it execs. For a figure of
    /// the child alone, run it under `Python.measuringMemory(_:)`.
    public var maxResidentKiB: Int
    public var seconds: Double

    /// Whether the peak may be held to a bound: not in sanitizer builds (`make sanitize`
    /// sets BNFILE_SANITIZED), whose runtimes reserve memory of their own.
    public static var peaksAreBounded: Bool { ProcessInfo.processInfo.environment["BNFILE_SANITIZED"] == nil }
}

/// Why a process could not be started.
public struct SpawnFailure: Error, CustomStringConvertible {
    public var description: String
}

/// A process started with `posix_spawn`, so a test can signal it while it runs and read
/// its own resource usage (`wait4`) once it ends; Foundation's `Process` offers neither.
///
/// Standard output and error go to files in a private folder (never a pipe, so no
/// stream can fill up and stall the child), standard input comes from `stdin` or
/// /dev/null, and SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT and SIGXFSZ are at their defaults
/// whatever the test runner does with them. `wait()` must be called once; it removes
/// the private folder.
public struct ChildProcess {
    public let pid: pid_t
    let started = Date()
    private let streams: URL

    /// Starts `argv[0]` (an absolute path) with `argv`, in `directory` if given.
    public init(_ argv: [String], directory: String? = nil, stdin: String? = nil) throws {
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
        defer { for argument in cArguments { free(argument) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, argv[0], &actions, &attributes, cArguments, environ)
        guard result == 0 else {
            throw SpawnFailure(description: "cannot start \(argv[0]): \(String(cString: strerror(result)))")
        }
        return child
    }

    public func send(_ sig: Int32) { kill(pid, sig) }

    /// Waits for the process to end and collects what it wrote.
    public func wait() -> ProcessOutcome {
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
    public static func run(_ argv: [String], directory: String? = nil, stdin: String? = nil) throws -> ProcessOutcome {
        try ChildProcess(argv, directory: directory, stdin: stdin).wait()
    }

    /// The absolute path of a program on PATH, or nil.
    public static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// A file's bytes, or nil if it cannot be opened. Plain POSIX reads: Foundation's file
/// reading leaks its buffer for empty files in this toolchain, which LeakSanitizer
/// reports under `make sanitize`.
public func readWholeFile(_ path: String) -> Data? {
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
