import Foundation
import TestSupport
import Testing

/// bfloat16 through the tool: ml_dtypes' `<V2` files refused without a declaration (with
/// the flag named), read with `--bfloat16` or the file's own `bfloat16` member; outputs
/// that numpy and ml_dtypes read back; diff on bfloat16's grid; inspect.
@Suite struct BFloat16CLITests {
    /// An ml_dtypes autocast-style input (bfloat16 x and dout, float32 parameters) with
    /// no declaration: what a user saving `x.numpy()` through ml_dtypes has.
    func mlDtypesInput(_ scratch: ScratchFolder, name: String = "in.npz") throws -> String {
        let path = scratch.path(name)
        try Python.run(
            """
            import numpy as np, ml_dtypes
            rng = np.random.default_rng(3)
            x = rng.standard_normal((4, 3, 6)).astype(ml_dtypes.bfloat16)
            dout = rng.standard_normal((4, 3, 6)).astype(ml_dtypes.bfloat16)
            np.savez(\(Python.quoted(path)), x=x, dout=dout, gamma=np.array([1, -2, 0.5], 'f4'),
                     beta=np.array([0, 0.25, 1], 'f4'))
            """)
        return path
    }

    @Test func undeclaredBFloat16IsRefusedWithTheFlagNamed() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let input = try mlDtypesInput(scratch)
        let result = try BNFileBinary.run(["run", input, scratch.path("out.npz")])
        #expect(result.status == 2)
        #expect(
            result.stderr.contains("\(input): x has dtype <V2") && result.stderr.contains("--bfloat16 x"),
            "\(result.stderr)")
        #expect(outputLines(result.stderr).count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path) == ["in.npz"])
        let half = try BNFileBinary.run(["run", input, scratch.path("out.npz"), "--bfloat16", "x"])
        #expect(
            half.status == 2 && half.stderr.contains("dout has dtype <V2") && half.stderr.contains("--bfloat16 dout"),
            "\(half.stderr)")
    }

    /// The flag's output, read by numpy and ml_dtypes: `out` and `dx` as `<V2` that
    /// `.view(ml_dtypes.bfloat16)` reads, declared by a `bfloat16` member; per-channel
    /// outputs in float32 (gamma's dtype). Their values are the oracle's (bn_oracle.py
    /// runs here on the same file), bit for bit.
    @Test func flaggedRunWritesWhatNumpyReadsAndTheOracleAgrees() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let input = try mlDtypesInput(scratch)
        let output = scratch.path("out.npz")
        let result = try BNFileBinary.run(["run", input, output, "--bfloat16", "x,dout"])
        #expect(result.status == 0, "\(result.stderr)")
        let oracle = Repository.root.appendingPathComponent("scripts/bn_oracle.py").path
        let check = try Python.run(
            """
            import subprocess, sys, numpy as np, ml_dtypes
            subprocess.run([sys.executable, \(Python.quoted(oracle)), \(Python.quoted(input)),
                            \(Python.quoted(scratch.path("oracle.npz"))), '--bfloat16', 'x,dout'], check=True)
            f, o = np.load(\(Python.quoted(output))), np.load(\(Python.quoted(scratch.path("oracle.npz"))))
            assert list(f['bfloat16']) == ['out', 'dx'], f['bfloat16']
            for k in ('out', 'dx'):
                assert f[k].dtype.itemsize == 2 and f[k].dtype.kind == 'V', f[k].dtype
                ours, theirs = f[k].view(ml_dtypes.bfloat16), o[k].view(ml_dtypes.bfloat16)
                assert ours.shape == (4, 3, 6) and (ours.view(np.uint16) == theirs.view(np.uint16)).all(), k
            for k in ('dgamma', 'dbeta', 'mean', 'invstd', 'running_mean', 'running_var'):
                assert f[k].dtype == np.float32 and (f[k] == o[k]).all(), k
            print(float(f['out'].view(ml_dtypes.bfloat16).astype(np.float32).std()))
            """)
        // Normalised outputs with gamma (1, -2, 0.5): a spread of order one, not zeros.
        #expect((Double(check.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0.5, "\(check)")
        // bnfile's own file needs no flag.
        let again = try BNFileBinary.run(["diff", output, output, "--inputs", input, "--bfloat16", "x,dout", "--quiet"])
        #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
        let inspect = try BNFileBinary.run(["inspect", output, "--stats"])
        #expect(
            inspect.stdout.contains("bfloat16 (<V2)") && inspect.stdout.contains("= ['out', 'dx']"),
            "\(inspect.stdout)")
    }

    @Test func aDeclarationInTheInputNeedsNoFlag() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let plain = try mlDtypesInput(scratch)
        let declared = scratch.path("declared.npz")
        try Python.run(
            """
            import numpy as np
            d = dict(np.load(\(Python.quoted(plain))))
            np.savez(\(Python.quoted(declared)), bfloat16=np.array(['x', 'dout']), **d)
            """)
        #expect(try BNFileBinary.run(["run", declared, scratch.path("a.npz")]).status == 0)
        #expect(
            try BNFileBinary.run(["run", plain, scratch.path("b.npz"), "--bfloat16", "x", "--bfloat16", "dout"])
                .status == 0)
        let a = try Data(contentsOf: URL(fileURLWithPath: scratch.path("a.npz")))
        let b = try Data(contentsOf: URL(fileURLWithPath: scratch.path("b.npz")))
        #expect(a == b)
    }

    /// torch's CPU-autocast result (committed fixture) on well-conditioned data: plain
    /// comparison under assert_close's bfloat16 tolerance, and judged on bfloat16's grid.
    @Test func diffJudgesBFloat16OnItsOwnGrid() throws {
        let fixture = try #require(FixtureCase.all.first { $0.name == "small_bf16_f32" })
        let report = try fixture.diff("torch")
        #expect(report.status == 0)
        let out = try report.key("out")
        let truth = try #require(out["truth"] as? [String: Any])
        #expect(truth["format"] as? String == "bfloat16" && truth["unitRoundoff"] as? Double == 0x1p-8)
        let tolerance = try #require(try report.comparison("out")?["tolerance"] as? [String: Any])
        #expect(tolerance["rtol"] as? Double == 1.6e-2 && tolerance["atol"] as? Double == 1e-5)
        for key in ["out", "dx"] {
            let verdict = try report.side(key, "a")["verdict"] as? String
            #expect(verdict == "exact" || verdict == "withinRounding", "\(key): \(verdict ?? "?")")
        }
        #expect(!report.keys.contains { $0["key"] as? String == "bfloat16" }, "the declaration is not a key")
    }

    @Test func diffRefusesUndeclaredRawBytesWithTheFlagNamed() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let input = try mlDtypesInput(scratch)
        let result = try BNFileBinary.run(["diff", input, input, "--keys", "x"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("declare them with --bfloat16 x"), "\(result.stderr)")
        #expect(try BNFileBinary.run(["diff", input, input, "--keys", "x", "--bfloat16", "x"]).status == 0)
    }

    @Test func inspectShowsRawBytesUntilDeclared() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let input = try mlDtypesInput(scratch)
        let raw = try BNFileBinary.run(["inspect", input, "--stats"])
        #expect(raw.status == 0)
        #expect(
            raw.stdout.contains("  x      <V2") && raw.stdout.contains("no statistics for raw bytes"), "\(raw.stdout)")
        let typed = try BNFileBinary.run(["inspect", input, "--stats", "--bfloat16", "x,dout", "--json"])
        let document = try JSONSerialization.jsonObject(with: Data(typed.stdout.utf8)) as? [String: Any]
        let arrays = try #require((document?["files"] as? [[String: Any]])?.first?["arrays"] as? [[String: Any]])
        let x = try #require(arrays.first { $0["name"] as? String == "x" })
        #expect(x["dtype"] as? String == "<V2" && x["type"] as? String == "bfloat16")
        let stats = try #require(x["stats"] as? [String: Any])
        let expected = try Python.run(
            """
            import numpy as np, ml_dtypes
            x = np.load(\(Python.quoted(input)))['x'].view(ml_dtypes.bfloat16).astype(np.float64)
            print(x.min(), x.max())
            """
        ).split(separator: " ").map { Double($0.trimmingCharacters(in: .whitespacesAndNewlines))! }
        #expect(stats["min"] as? Double == expected[0] && stats["max"] as? Double == expected[1])
        let npy = scratch.path("x.npy")
        try Python.run(
            """
            import numpy as np
            np.save(\(Python.quoted(npy)), np.load(\(Python.quoted(input)))['x'])
            """)
        #expect(try BNFileBinary.run(["inspect", npy, "--bfloat16", "x"]).stdout.contains("bfloat16 (<V2)"))
    }

    @Test(arguments: ["run", "diff", "inspect"])
    func helpNamesTheFlag(_ command: String) throws {
        let help = try BNFileBinary.run([command, "--help"]).stdout
        #expect(help.contains("--bfloat16") && help.contains("<V2"), "\(help)")
    }
}
