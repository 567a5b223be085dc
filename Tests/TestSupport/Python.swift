import Foundation

/// python3 from PATH, for numpy: it writes the files users have and reads the files
/// bnfile writes.
public enum Python {
    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { "python failed: \(message)" }
    }

    /// Runs `source` (in `directory` if given, `stdin` as its input) and returns its
    /// standard output; a non-zero exit throws `Failure` with its standard error.
    @discardableResult
    public static func run(_ source: String, in directory: String? = nil, stdin: String? = nil) throws -> String {
        let outcome = try ChildProcess.run(
            ["/usr/bin/env", "python3", "-c", source], directory: directory, stdin: stdin)
        guard outcome.status == 0 else { throw Failure(message: outcome.stderr) }
        return outcome.stdout
    }

    /// `path` as a Python string literal.
    public static func quoted(_ path: String) -> String { "'" + path.replacingOccurrences(of: "'", with: "\\'") + "'" }

    /// Runs `argv` from a small Python process that reports the peak resident memory of
    /// the program alone (`RUSAGE_CHILDREN`): it then starts in that process's memory
    /// (about 14 MB, which bounds the figure from below), not in the test process's,
    /// whose peak Linux would count into the program's (see `ProcessOutcome.maxResidentKiB`).
    public static func measuringMemory(_ argv: [String]) throws -> ProcessOutcome {
        let scratch = try ScratchFolder(prefix: "bnfile-rss")
        defer { scratch.cleanup() }
        let report = scratch.path("maxrss")
        let wrapper = """
            import resource, subprocess, sys
            status = subprocess.run(sys.argv[2:]).returncode
            open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
            sys.exit(status if status >= 0 else 128 - status)
            """
        var outcome = try ChildProcess.run(["/usr/bin/env", "python3", "-c", wrapper, report] + argv)
        outcome.maxResidentKiB = Int(String(decoding: readWholeFile(report) ?? Data(), as: UTF8.self)) ?? Int.max
        return outcome
    }
}
