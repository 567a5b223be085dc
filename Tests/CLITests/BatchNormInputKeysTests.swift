import Foundation
import NumPyFormat
import TestSupport
import Testing

/// Input keys: extras are ignored, misspellings of absent keys are errors that name the fix.
@Suite struct BatchNormInputKeysTests {
    static let three = try! NPYArray([Float(1), 2, 3])

    @Test(arguments: [
        ("gama", "gamma"), ("wieght", "weight"), ("Beta", "beta"), ("grad_output", "grad_out"),
        ("epsilon", "eps"), ("runing_var", "running_var"),
    ])
    func misspeltKeyIsAnErrorThatSuggestsTheName(typo: String, meant: String) throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let extra =
            typo == "grad_output"
            ? try NPYArray([Float](repeating: 1, count: 24), shape: [2, 3, 4])
            : typo == "epsilon" ? try NPYArray([Double(1e-3)], shape: []) : Self.three
        try scratch.writeInput("in.npz", extra: [typo: extra])
        let result = try BNFileBinary.run(["run", scratch.path("in.npz"), scratch.path("out.npz")])
        #expect(result.status == 2)
        #expect(
            result.stderr.contains("key '\(typo)' is not one bnfile reads; did you mean '\(meant)'?"),
            "\(result.stderr)")
        #expect(result.stderr.contains("keys present: x, \(typo)"), "\(result.stderr)")
        #expect(!scratch.exists("out.npz"))
    }

    @Test func unrelatedExtraKeysAreIgnored() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try scratch.writeInput(
            "in.npz",
            extra: [
                "num_batches_tracked": try NPYArray([Int64(7)], shape: []),
                "label": try NPYArray([Int64(1), 2]), "gamma": Self.three,
            ])
        let result = try BNFileBinary.run(["run", scratch.path("in.npz"), scratch.path("out.npz")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty)
    }

    @Test func outputFileGivenAsInputIsRecognised() throws {
        let result = try BNFileBinary.run([
            "run", Repository.data("notebook.torch.npz"),
            "/nonexistent/out.npz",
        ])
        #expect(result.status == 2)
        #expect(result.stderr.contains("no array 'x' (the input); keys present: out, dx,"), "\(result.stderr)")
        #expect(result.stderr.contains("this looks like an output file"))
    }

    @Test func channelsLastInputSuggestsTheLayoutFlag() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let writer = try NPZWriter(path: scratch.path("nhwc.npz"))
        try writer.add("x", try NPYArray((0..<40).map { Float($0 % 9) }, shape: [2, 4, 5]))
        try writer.add("gamma", try NPYArray([Float](repeating: 1, count: 5)))
        try writer.finish()
        let result = try BNFileBinary.run(["run", scratch.path("nhwc.npz"), scratch.path("out.npz")])
        #expect(result.status == 2)
        #expect(result.stderr.contains("if the channels are on the last axis, pass --layout nhwc"), "\(result.stderr)")
    }
}
