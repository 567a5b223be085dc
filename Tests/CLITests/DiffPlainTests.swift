import Foundation
import TestSupport
import Testing

/// `bnfile diff A B` without `--inputs`: every verdict path of the plain comparison and
/// every way to end in trouble. Files are written by numpy in a fresh directory per test.
@Suite struct DiffPlainTests {
    let scratch: ScratchFolder

    init() throws { scratch = try ScratchFolder() }

    /// A pair of one-key files, `x` in A and B.
    func pair(_ a: String, _ b: String, key: String = "x") throws -> (String, String) {
        (try scratch.savez("a.npz", "\(key)=\(a)"), try scratch.savez("b.npz", "\(key)=\(b)"))
    }

    @Test func identicalFilesExitZero() throws {
        defer { scratch.cleanup() }
        let (a, b) = try pair(
            "np.arange(6, dtype=np.float32).reshape(2, 3)", "np.arange(6, dtype=np.float32).reshape(2, 3)")
        let result = try BNFileBinary.run(["diff", a, b])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("x  identical"), "\(result.stdout)")
        #expect(outputLines(result.stdout).last == "bnfile diff: 0 of 1 keys differ")
        #expect(!result.stdout.contains("\u{1B}["), "colours on a pipe")
    }

    @Test func differenceWithinTheDefaultToleranceMatches() throws {
        defer { scratch.cleanup() }
        // 1 + 2^-22 against 1: 2 float32 ulp, far inside rtol 1.3e-6 + atol 1e-5.
        let (a, b) = try pair("np.array([1 + 2**-22, 2], np.float32)", "np.array([1, 2], np.float32)")
        let report = try DiffJSON.run([a, b])
        #expect(report.status == 0)
        let x = try #require(try report.comparison("x"))
        #expect(x["verdict"] as? String == "match")
        #expect(x["maxULPDistance"] as? Int == 2)
        #expect(x["mismatched"] as? Int == 0)
        let tolerance = try #require(x["tolerance"] as? [String: Any])
        #expect(tolerance["rtol"] as? Double == 1.3e-6)
        #expect(tolerance["atol"] as? Double == 1e-5)
        #expect(tolerance["source"] as? String == "torch.testing.assert_close default for float32")
    }

    @Test func mismatchExitsOneAndNamesTheWorstElementAndChannel() throws {
        defer { scratch.cleanup() }
        let (a, b) = try pair(
            "np.array([[1, 2, 3.5], [4, 5, 6.25]], np.float32)",
            "np.array([[1, 2, 3], [4, 5, 6]], np.float32)")
        let result = try BNFileBinary.run(["diff", a, b])
        #expect(result.status == 1)
        #expect(result.stdout.contains("2/6 (33.33%)"), "\(result.stdout)")
        // The worst element is (0, 2): 0.5 beyond 3; the worst channel (axis 1) is 2.
        #expect(result.stdout.contains("x  worst (0, 2): A 3.5, B 3.0"), "\(result.stdout)")
        #expect(result.stdout.contains("x A vs B: ulp, 6 elements"), "the histogram of a differing key")
        // 0.5 at 3.0 is 2^21 float32 ulp (the gap is 2^-22 in [2, 4)).
        #expect(
            outputLines(result.stdout).last == "bnfile diff: 1 of 1 keys differ (x: 2/6 mismatched, max 2097152 ulp)")
        let x = try #require(try DiffJSON.run([a, b]).comparison("x"))
        #expect(x["worstChannel"] as? Int == 2)
        #expect((x["worst"] as? [String: Any])?["index"] as? [Int] == [0, 2])
    }

    @Test func axisFlagMovesTheChannelBreakdown() throws {
        defer { scratch.cleanup() }
        let (a, b) = try pair(
            "np.array([[1, 2, 3], [4, 5, 9]], np.float32)", "np.array([[1, 2, 3], [4, 5, 6]], np.float32)")
        let byColumn = try DiffJSON.run([a, b])
        let byRow = try DiffJSON.run([a, b, "--axis", "0"])
        #expect(try byColumn.comparison("x")?["worstChannel"] as? Int == 2)
        #expect(try byRow.comparison("x")?["worstChannel"] as? Int == 1)
        #expect(try byRow.comparison("x")?["channelAxis"] as? Int == 0)
    }

    @Test func rtolAndAtolCombine() throws {
        defer { scratch.cleanup() }
        // |a - b| = 0.15 against b = 10: neither 0.1 absolute nor 1% relative alone
        // allows it; together (0.1 + 0.01*10 = 0.2) they do.
        let (a, b) = try pair("np.array([10.15])", "np.array([10.0])")
        let both = try DiffJSON.run([a, b, "--rtol", "0.01", "--atol", "0.1"])
        #expect(both.status == 0)
        let tolerance = try #require(try both.comparison("x")?["tolerance"] as? [String: Any])
        #expect(tolerance["source"] as? String == "--rtol/--atol flag")
        #expect(try BNFileBinary.run(["diff", a, b, "--rtol", "0.01"]).status == 1)
        let atolOnly = try DiffJSON.run([a, b, "--atol", "0.1"])
        #expect(atolOnly.status == 1)
        let source = try #require(try atolOnly.comparison("x")?["tolerance"] as? [String: Any])["source"] as? String
        #expect(source == "--atol flag; rtol: torch.testing.assert_close default for float64")
    }

    @Test func nanInOneSideIsAMismatchCountedByKind() throws {
        defer { scratch.cleanup() }
        let (a, b) = try pair("np.array([np.nan, 1, np.inf, 3], np.float32)", "np.array([0, 1, 2, 3], np.float32)")
        let result = try BNFileBinary.run(["diff", a, b])
        #expect(result.status == 1)
        #expect(result.stdout.contains("NaN/Inf: NaN only in A 1, inf vs finite 1"), "\(result.stdout)")
        let report = try DiffJSON.run([a, b])
        let counts = try #require(try report.comparison("x")?["nonFinite"] as? [String: Any])
        #expect(counts["nanInAOnly"] as? Int == 1)
        #expect(counts["nanInBOnly"] as? Int == 0)
        #expect(counts["infVsFinite"] as? Int == 1)
        // Reversed, the NaN is in B only.
        let reversed = try DiffJSON.run([b, a])
        #expect((try reversed.comparison("x")?["nonFinite"] as? [String: Any])?["nanInBOnly"] as? Int == 1)
    }

    @Test func nanInBothMatchesOnlyWithEqualNaN() throws {
        defer { scratch.cleanup() }
        let (a, b) = try pair("np.array([np.nan, 1])", "np.array([np.nan, 1])")
        #expect(try BNFileBinary.run(["diff", a, b]).status == 1)
        let equal = try BNFileBinary.run(["diff", a, b, "--equal-nan"])
        #expect(equal.status == 0, "\(equal.stdout)")
        #expect(equal.stdout.contains("x  identical (NaN in both 1, equal under --equal-nan)"), "\(equal.stdout)")
        #expect(try BNFileBinary.run(["diff", a, b]).stdout.contains("NaN/Inf: none, NaN in both 1"))
    }

    @Test func allZeroReferenceIsJudgedByAtol() throws {
        defer { scratch.cleanup() }
        // A truly-zero gradient comes back as rounding noise: atol accepts it, and the
        // no relative figure is made up against the zero reference.
        let (noise, zeros) = try pair("np.array([1e-8, -2e-8, 0], np.float32)", "np.zeros(3, np.float32)")
        let report = try DiffJSON.run([noise, zeros])
        #expect(report.status == 0)
        #expect(try report.comparison("x")?["maxRelativeDifference"] == nil)
        let (large, _) = try pair("np.array([1e-3, 0, 0], np.float32)", "np.zeros(3, np.float32)")
        #expect(try BNFileBinary.run(["diff", large, zeros]).status == 1)
    }

    @Test func emptyArraysAreTheSame() throws {
        defer { scratch.cleanup() }
        let (a, b) = try pair("np.zeros((0, 3), np.float32)", "np.zeros((0, 3), np.float32)")
        let result = try BNFileBinary.run(["diff", a, b])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("0/0 (0%)"), "\(result.stdout)")
        let (other, _) = try pair("np.zeros((0, 2), np.float32)", "np.zeros((0, 3), np.float32)")
        #expect(try BNFileBinary.run(["diff", other, b]).status == 1, "empty arrays of different shapes differ")
    }

    /// A key in one file only is a note (an exact result's `mean` beside torch's file),
    /// unless --keys requires it; no key in common at all is a difference.
    @Test func keysOnOneSideOnlyAreNotesUnlessRequired() throws {
        defer { scratch.cleanup() }
        let a = try scratch.savez("a.npz", "x=np.ones(2), extra=np.ones(2)")
        let b = try scratch.savez("b.npz", "x=np.ones(2), missing=np.ones(2)")
        let result = try BNFileBinary.run(["diff", a, b])
        #expect(result.status == 0, "\(result.stdout)")
        #expect(result.stdout.contains("extra    only in A"), "\(result.stdout)")
        #expect(result.stdout.contains("note: missing is only in B"), "\(result.stdout)")
        let report = try DiffJSON.run([a, b])
        #expect(try report.outcomeKind("extra") == "onlyInA")
        #expect(try report.outcomeKind("missing") == "onlyInB")
        #expect(try report.comparison("x")?["verdict"] as? String == "match")
        #expect(report.keys.map { $0["key"] as? String } == ["x", "extra", "missing"], "A's order, then B's")
        #expect(
            try BNFileBinary.run(["diff", a, b, "--keys", "x,extra"]).status == 1, "a required key is missing from B")
        let other = try scratch.savez("c.npz", "y=np.ones(2)")
        let disjoint = try BNFileBinary.run(["diff", a, other])
        #expect(disjoint.status == 1)
        #expect(disjoint.stdout.contains("no key in common"), "\(disjoint.stdout)")
    }

    @Test func shapeMismatchIsADifference() throws {
        defer { scratch.cleanup() }
        let (a, b) = try pair("np.zeros((2, 3))", "np.zeros((3, 2))")
        let result = try BNFileBinary.run(["diff", a, b])
        #expect(result.status == 1)
        #expect(result.stdout.contains("shape (2, 3) vs (3, 2)"), "\(result.stdout)")
    }

    /// Two float dtypes compare on the looser one's grid and tolerance, with a note; a
    /// float against an integer array is a structural difference.
    @Test func floatDtypesCompareUnderTheLooserTolerance() throws {
        defer { scratch.cleanup() }
        let (a, b) = try pair("np.float32([1, 2, 3])", "np.float64([1, 2, 3 + 1e-7])")
        let result = try BNFileBinary.run(["diff", a, b])
        #expect(result.status == 0, "\(result.stdout)")
        #expect(
            result.stdout.contains("note: x: A is float32, B is float64; compared on float32's grid"),
            "\(result.stdout)")
        #expect(result.stdout.contains("assert_close default for float32"), "\(result.stdout)")
        let (ints, floats) = try pair("np.zeros(3, np.int32)", "np.zeros(3, np.float64)")
        let structural = try BNFileBinary.run(["diff", ints, floats, "--quiet"])
        #expect(structural.status == 1)
        #expect(structural.stdout == "bnfile diff: 1 of 1 keys differ (x: dtype <i4 vs <f8)\n")
        // Byte order is not a dtype difference: >f4 holds the same values.
        let (big, little) = try pair("np.arange(3, dtype='>f4')", "np.arange(3, dtype='<f4')")
        #expect(try BNFileBinary.run(["diff", big, little]).status == 0)
    }

    @Test func fortranOrderIsComparedInCOrder() throws {
        defer { scratch.cleanup() }
        let (a, b) = try pair("np.asfortranarray(np.arange(6.0).reshape(2, 3))", "np.arange(6.0).reshape(2, 3)")
        #expect(try BNFileBinary.run(["diff", a, b]).status == 0)
    }

    @Test func signFlipsAreCounted() throws {
        defer { scratch.cleanup() }
        let (a, b) = try pair("np.array([-1e-7, 2, -3])", "np.array([1e-7, 2, 3])")
        let report = try DiffJSON.run([a, b, "--atol", "1e-6", "--rtol", "0"])
        #expect(try report.comparison("x")?["signFlips"] as? Int == 2)
        #expect(report.status == 1, "the -3 against 3 is far beyond tolerance")
    }

    @Test func integerArraysAreComparedExactly() throws {
        defer { scratch.cleanup() }
        let (same, reference) = try pair("np.array([2**62, 5], np.int64)", "np.array([2**62, 5], np.int64)")
        let report = try DiffJSON.run([same, reference])
        #expect(report.status == 0)
        let source = (try report.comparison("x")?["tolerance"] as? [String: Any])?["source"] as? String
        #expect(source == "exact: int64 values")
        let (off, _) = try pair("np.array([2**62, 6], np.int64)", "np.array([0], np.int64)")
        #expect(try BNFileBinary.run(["diff", off, reference]).status == 1)
        // A state dict's num_batches_tracked next to float keys does not get in the way.
        let a = try scratch.savez("sa.npz", "n=np.array(3), w=np.ones(2, np.float32), flag=np.array([True])")
        let b = try scratch.savez("sb.npz", "n=np.array(3), w=np.ones(2, np.float32), flag=np.array([True])")
        #expect(try BNFileBinary.run(["diff", a, b]).status == 0)
        // Values a double cannot hold exactly cannot be compared as doubles: trouble, not a guess.
        let (big, _) = try pair("np.array([2**62 + 1], np.int64)", "np.array([0], np.int64)")
        let refused = try BNFileBinary.run(["diff", big, big])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("which a double cannot hold exactly"), "\(refused.stderr)")
    }

    @Test func complexArraysAreTrouble() throws {
        defer { scratch.cleanup() }
        let a = try scratch.savez("a.npz", "c=np.ones(2, np.complex64), x=np.ones(2)")
        let result = try BNFileBinary.run(["diff", a, a])
        #expect(result.status == 2)
        #expect(
            result.stderr.hasPrefix("bnfile: error: c: <c8 (complex64) arrays cannot be compared"), "\(result.stderr)")
        #expect(try BNFileBinary.run(["diff", a, a, "--keys", "x"]).status == 0, "--keys leaves it out")
    }

    @Test func keysRestrictTheComparison() throws {
        defer { scratch.cleanup() }
        let a = try scratch.savez("a.npz", "good=np.ones(2), bad=np.ones(2)")
        let b = try scratch.savez("b.npz", "good=np.ones(2), bad=np.zeros(2)")
        #expect(try BNFileBinary.run(["diff", a, b]).status == 1)
        let restricted = try DiffJSON.run([a, b, "--keys", "good"])
        #expect(restricted.status == 0)
        #expect(restricted.keys.map { $0["key"] as? String } == ["good"])
        #expect(try BNFileBinary.run(["diff", a, b, "--keys", " good , bad"]).status == 1)
    }

    @Test func aListedKeyInNeitherFileIsTrouble() throws {
        defer { scratch.cleanup() }
        let a = try scratch.savez("a.npz", "out=np.ones(2), dx=np.ones(2)")
        let result = try BNFileBinary.run(["diff", a, a, "--keys", "out,dgamma"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("bnfile: error: --keys: dgamma in neither"), "\(result.stderr)")
        #expect(result.stderr.contains("keys present: out, dx"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func unreadableFilesAreTrouble() throws {
        defer { scratch.cleanup() }
        let a = try scratch.savez("a.npz", "x=np.ones(2)")
        let missing = try BNFileBinary.run(["diff", a, scratch.path("nope.npz")])
        #expect(missing.status == 2)
        #expect(missing.stderr.hasPrefix("bnfile: error: "), "\(missing.stderr)")
        let garbage = scratch.path("garbage.npz")
        try Data("not a zip at all".utf8).write(to: URL(fileURLWithPath: garbage))
        let bad = try BNFileBinary.run(["diff", garbage, a])
        #expect(bad.status == 2)
        #expect(bad.stderr.hasPrefix("bnfile: error: "), "\(bad.stderr)")
        let mixed = try BNFileBinary.run(["diff", try scratch.save("x.npy", "np.ones(2)"), a])
        #expect(mixed.status == 2)
        #expect(mixed.stderr.contains("compare two .npz or two .npy files"), "\(mixed.stderr)")
    }

    @Test(arguments: [
        ["--bogus"], ["--rtol", "abc"], ["--rtol", "-1"], ["--atol", "nan"], ["--top", "-1"],
        ["--json", "--quiet"], ["--keys", ","], ["--layout", "nchwc"],
    ])
    func badFlagsAreTrouble(_ flags: [String]) throws {
        defer { scratch.cleanup() }
        let a = try scratch.savez("a.npz", "x=np.ones(2)")
        let result = try BNFileBinary.run(["diff", a, a] + flags)
        #expect(result.status == 2, "\(flags): \(result.stderr)")
        #expect(result.stderr.hasPrefix("bnfile: error: "), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func missingOperandIsTrouble() throws {
        defer { scratch.cleanup() }
        let a = try scratch.savez("a.npz", "x=np.ones(2)")
        #expect(try BNFileBinary.run(["diff", a]).status == 2)
    }

    @Test func quietPrintsOneLine() throws {
        defer { scratch.cleanup() }
        let a = try scratch.savez("a.npz", "x=np.ones(4), y=np.ones(2)")
        let b = try scratch.savez("b.npz", "x=np.array([1, 1, 1, 2.0]), y=np.ones(2)")
        let result = try BNFileBinary.run(["diff", a, b, "--quiet"])
        #expect(result.status == 1)
        #expect(
            outputLines(result.stdout) == [
                "bnfile diff: 1 of 2 keys differ (x: 1/4 mismatched, max 4503599627370496 ulp)"
            ])
        let same = try BNFileBinary.run(["diff", a, a, "--quiet"])
        #expect(same.status == 0)
        #expect(same.stdout == "bnfile diff: 0 of 2 keys differ\n")
    }

    @Test func jsonParsesInPythonWithVerdictsAndTolerances() throws {
        defer { scratch.cleanup() }
        let a = try scratch.savez("a.npz", "x=np.array([np.nan, 1, 2], np.float32), only=np.ones(1)")
        let b = try scratch.savez("b.npz", "x=np.array([0, 1, 2.5], np.float32)")
        let result = try BNFileBinary.run(["diff", a, b, "--json", "--top", "1"])
        #expect(result.status == 1)
        let summary = try Python.run(
            """
            import json, sys
            d = json.load(sys.stdin)
            x = [k for k in d['keys'] if k['key'] == 'x'][0]['outcome']['comparison']
            print(d['result'], d['exitStatus'], d['mode'], x['verdict'], x['tolerance']['rtol'], \
            x['tolerance']['atol'], len(x['topOffenders']), x['topOffenders'][0]['a'], \
            [k['outcome']['kind'] for k in d['keys']])
            """, stdin: result.stdout)
        #expect(summary == "differ 1 plain mismatch 1.3e-06 1e-05 1 nan ['compared', 'onlyInA']\n")
    }

    @Test func twoNPYFilesAreOneKey() throws {
        defer { scratch.cleanup() }
        let a = try scratch.save("mine.npy", "np.arange(3.0)")
        let b = try scratch.save("theirs.npy", "np.arange(3.0)")
        let report = try DiffJSON.run([a, b])
        #expect(report.status == 0)
        #expect(report.keys.map { $0["key"] as? String } == ["array"])
        let named = try DiffJSON.run([a, b, "--keys", "dx"])
        #expect(named.keys.map { $0["key"] as? String } == ["dx"])
        // Two files of the same name in two directories are that key.
        try FileManager.default.createDirectory(atPath: scratch.path("t"), withIntermediateDirectories: true)
        let torch = try scratch.save("t/out.npy", "np.arange(3.0) + 1")
        let mine = try scratch.save("out.npy", "np.arange(3.0)")
        let stem = try DiffJSON.run([mine, torch])
        #expect(stem.status == 1)
        #expect(stem.keys.map { $0["key"] as? String } == ["out"])
        #expect(try BNFileBinary.run(["diff", a, b, "--keys", "a,b"]).status == 2)
    }

    @Test func coloursOnlyOnATerminal() throws {
        defer { scratch.cleanup() }
        let (a, b) = try pair("np.array([1.0, 2])", "np.array([1.0, 3])")
        #expect(!(try BNFileBinary.run(["diff", a, b]).stdout.contains("\u{1B}[")))
        // `script` gives the command a pseudo-terminal as standard output.
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "util-linux script(1) needed")
        let command = [BNFileBinary.path, "diff", a, b].map(Python.quoted).joined(separator: " ")
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let literal = String(decoding: try encoder.encode(command), as: UTF8.self)  // a Python literal too
        // NO_COLOR (set by some test runners) switches colours off even on a terminal.
        let onTerminal = try Python.run(
            """
            import os, subprocess
            for no_color in [None, '1']:
                env = {k: v for k, v in os.environ.items() if k != 'NO_COLOR'}
                if no_color: env['NO_COLOR'] = no_color
                r = subprocess.run(['/usr/bin/script', '-eqc', \(literal), '/dev/null'],
                                   capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env)
                print('\\x1b[' in r.stdout, r.returncode)
            """)
        #expect(onTerminal == "True 1\nFalse 1\n")
    }

    @Test func histogramsOfEveryKeyOnRequest() throws {
        defer { scratch.cleanup() }
        let a = try scratch.savez("a.npz", "x=np.ones(2)")
        #expect(!(try BNFileBinary.run(["diff", a, a]).stdout.contains("A vs B: ulp")))
        let all = try BNFileBinary.run(["diff", a, a, "--histograms"])
        #expect(all.stdout.contains("x A vs B: ulp, 2 elements"), "\(all.stdout)")
        #expect(all.stdout.contains("beyond tolerance: 0"))
    }
}
