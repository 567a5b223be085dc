import Foundation
import TestSupport
import Testing

/// What `bnfile diff --inputs` tells a person, and the settings that travel with files.
@Suite struct VerdictReportTests {
    let scratch: ScratchFolder

    init() throws { scratch = try ScratchFolder() }

    static let data = Repository.root.appendingPathComponent("data").path

    @Test func runRecordsItsSettingsAndDiffUsesThem() throws {
        defer { scratch.cleanup() }
        let input = try scratch.savez(
            "in.npz",
            "x=np.random.default_rng(1).random((6, 3, 4), np.float32), "
                + "dout=np.random.default_rng(2).standard_normal((6, 3, 4)).astype(np.float32)")
        let output = scratch.path("out.npz")
        let run = try BNFileBinary.run(["run", input, output, "--framework", "keras", "--layout", "nchw"])
        #expect(run.status == 0, "\(run.stderr)")
        let printed = try Python.run(
            """
            import numpy as np; f = np.load(\(Python.quoted(output)))
            print(float(f['eps']), float(f['momentum']), str(f['momentum_convention']), str(f['running_var_convention']), bool(f['training']), str(f['layout']))
            """)
        #expect(printed == "0.001 0.99 keras biased True nchw\n")
        // diff takes the settings from the result file: no flag needed to get "exact".
        let same = try DiffJSON.run([output, output, "--inputs", input])
        #expect(same.status == 0)
        #expect(try same.side("running_var", "a")["verdict"] as? String == "exact")
        // An input that records other settings is trouble naming both files.
        let other = try scratch.savez("other.npz", "**dict(np.load(\(Python.quoted(input)))), eps=np.float64(1e-5)")
        let conflict = try BNFileBinary.run(["diff", output, output, "--inputs", other])
        #expect(conflict.status == 2)
        #expect(conflict.stderr.contains("record different settings: eps 1e-05 vs 0.001"), "\(conflict.stderr)")
        #expect(conflict.stderr.contains(other) && conflict.stderr.contains(output), "\(conflict.stderr)")
        #expect(
            try BNFileBinary.run(["diff", output, output, "--inputs", other, "--eps", "1e-3"]).status == 0,
            "a flag settles the disagreement")
    }

    @Test func sentencesLegendAndConditioningAreShown() throws {
        let folder = Self.data + "/calibration"
        let result = try BNFileBinary.run([
            "diff", folder + "/offset-1000.torch-cpu.npz", folder + "/offset-1000.torch-cpu.npz",
            "--inputs", folder + "/offset-1000.npz",
        ])
        #expect(result.status == 0)
        #expect(result.stdout.contains("out: A is rounding noise: at most "), "\(result.stdout)")
        #expect(result.stdout.contains("roundings of its terms, 28 allowed; worst at ("), "\(result.stdout)")
        #expect(result.stdout.contains("u*scale: one rounding (u, the unit roundoff"), "legend")
        #expect(result.stdout.contains("|mean|/std = 1.0"), "conditioning of the offset channels: \(result.stdout)")
        #expect(result.stdout.contains("float32 resolves out here only to ±"), "\(result.stdout)")
        #expect(!result.stdout.contains("e+30"), "no relative figure against a zero reference")
    }

    @Test func exactZerosAreSaidPlainly() throws {
        let result = try BNFileBinary.run([
            "diff", Self.data + "/notebook.torch.npz", Self.data + "/notebook.torch.npz",
            "--inputs", Self.data + "/notebook.npz",
        ])
        #expect(result.status == 0)
        let line = try #require(outputLines(result.stdout).first { $0.hasPrefix("dgamma: A is rounding noise") })
        #expect(line.hasSuffix("where the truth is exactly 0"), "\(line)")
        let dx = try #require(outputLines(result.stdout).first { $0.hasPrefix("dx  ") })
        #expect(!dx.contains("e+"), "the table's max rel column has no figure against zeros: \(dx)")
    }

    @Test func doubledGradientsGetTheirHint() throws {
        let folder = Self.data + "/calibration"
        let file = folder + "/uniform.bug-accumulated-gradients.npz"
        let result = try BNFileBinary.run(["diff", file, file, "--inputs", folder + "/uniform.npz"])
        #expect(result.status == 1)
        #expect(
            result.stdout.contains("dgamma and dbeta of A are 2 times the truth: gradients accumulated"),
            "\(result.stdout)")
    }

    @Test func theWrongModeGetsItsHint() throws {
        let folder = Self.data + "/cases"
        let result = try BNFileBinary.run([
            "diff", folder + "/eval_f32_4d.exact.npz", folder + "/eval_f32_4d.exact.npz",
            "--inputs", folder + "/eval_f32_4d.in.npz", "--train",
        ])
        #expect(result.status == 1)
        #expect(result.stdout.contains("check the mode (--eval or --train)"), "\(result.stdout)")
    }

    /// The notebook's float64 dx for float32 inputs is judged against the truth rounded
    /// to float64, in float64's roundings.
    @Test func eachSideIsJudgedInItsOwnDtype() throws {
        defer { scratch.cleanup() }
        let torch = Self.data + "/notebook.torch.npz"
        let wide = try scratch.savez(
            "wide.npz", "**{k: v.astype(np.float64) for k, v in np.load(\(Python.quoted(torch))).items()}")
        let report = try DiffJSON.run([wide, torch, "--inputs", Self.data + "/notebook.npz"])
        let side = try report.side("dx", "a")
        #expect(side["format"] as? String == "float64")
        #expect(side["verdict"] as? String == "beyondRounding", "torch's float32 noise is far beyond float64 rounding")
        #expect(try report.side("dx", "b")["format"] as? String == "float32")
        #expect(try report.side("dx", "b")["verdict"] as? String == "withinRounding")
        #expect(
            (report.document["notes"] as? [String])?.contains { $0.hasPrefix("dx: A is float64, B is float32") } == true
        )
    }

    @Test func aNegativeValueParsesAsAValue() throws {
        let result = try BNFileBinary.run(["run", Self.data + "/notebook.npz", "/nonexistent/out.npz", "--eps", "-1"])
        #expect(result.status == 2)
        #expect(!result.stderr.contains("Missing value"), "\(result.stderr)")
    }
}
