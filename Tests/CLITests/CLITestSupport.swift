import Foundation
import Glibc
import NumPyFormat
import TestSupport
import Testing

// The support every CLI test shares: the built tool (`BNFileBinary`) on the test
// targets' one way to start a process (`ChildProcess`, from TestSupport, with `Python`
// and `ScratchFolder`), the repository's committed data (`Repository`), the CLI's
// inputs and the checks of what it printed. Helpers that only one suite needs stay in
// that suite's file.

// MARK: - The tool

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

    /// Runs `bnfile arguments...` and measures the peak memory of bnfile alone
    /// (`Python.measuringMemory`), not counting the test process's.
    static func runMeasuringMemory(_ arguments: [String]) throws -> ProcessOutcome {
        try requireBinary()
        return try Python.measuringMemory([path] + arguments)
    }
}

// MARK: - Files

/// The repository this test file belongs to, for the committed data under data/.
enum Repository {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The absolute path of `relative` inside data/.
    static func data(_ relative: String) -> String { root.appendingPathComponent("data/\(relative)").path }
}

/// What CLI tests look for in a scratch folder: the temporaries `AtomicOutput` uses.
extension ScratchFolder {
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
                let name = entry["name"] as? String, name != "large_m_f32"
            else { return nil }
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
        try writer.add("x", try NPYArray((0..<24).map { Float($0 % 7) * 0.25 }, shape: [2, 3, 4]))
        for (key, array) in extra.sorted(by: { $0.key < $1.key }) { try writer.add(key, array) }
        try writer.finish()
    }

    /// Writes `fuzz/hostile.py`'s archive of `kind` here and returns its path.
    func hostile(_ kind: String) throws -> String {
        let script = Repository.root.appendingPathComponent("fuzz/hostile.py").path
        try python(
            "import runpy; sys.argv = ['hostile', '\(kind)', '\(kind).npz']; "
                + "runpy.run_path('\(script)', run_name='__main__')")
        return path("\(kind).npz")
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
    #expect(
        outcome.status == 2,
        "status \(String(describing: outcome.status)), signal \(String(describing: outcome.signal)): \(outcome.stderr)",
        sourceLocation: sourceLocation)
    let lines = outcome.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
    #expect(lines.count == 1, "stderr: \(outcome.stderr)", sourceLocation: sourceLocation)
    #expect(
        outcome.stderr.hasPrefix("bnfile: error: \(file)"), "stderr: \(outcome.stderr)", sourceLocation: sourceLocation)
    for phrase in phrases {
        #expect(
            outcome.stderr.contains(phrase), "stderr lacks '\(phrase)': \(outcome.stderr)",
            sourceLocation: sourceLocation)
    }
    #expect(scratch.bytes(out) == previous, "OUT was changed", sourceLocation: sourceLocation)
    #expect(scratch.leftovers(for: out).isEmpty, "left \(scratch.leftovers(for: out))", sourceLocation: sourceLocation)
}
