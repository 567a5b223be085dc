import Foundation
import TestSupport
import Testing

/// `bnfile check`: every captured layer of a real network in one command.
@Suite struct CheckTests {
    static let captures = Repository.data("captures")

    let scratch: ScratchFolder

    init() throws { scratch = try ScratchFolder() }

    @Test func aCorrectTorchGivesExitZero() throws {
        let result = try BNFileBinary.run(["check", Self.captures + "/resnet18"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(outputLines(result.stdout).filter { $0.hasPrefix("layer") && !$0.hasPrefix("layer ") }.count == 19)
        #expect(result.stdout.hasSuffix("bnfile check: 20 layers, every result within rounding\n"), "\(result.stdout)")
        let variants = try BNFileBinary.run(["check", Self.captures + "/variants"])
        #expect(variants.status == 0, "\(variants.stdout)")
        #expect(variants.stdout.contains("shared.call2"), "a second call is its own layer")
        let autocast = try BNFileBinary.run(["check", Self.captures + "/bfloat16"])
        #expect(autocast.status == 0, "bfloat16 captures read without flags: \(autocast.stdout)\(autocast.stderr)")
    }

    @Test func aCorruptedDxGivesExitOneNamingTheLayer() throws {
        let result = try BNFileBinary.run(["check", Self.captures + "/resnet18_corrupt"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("1 beyond rounding: layer1.0.bn2 (dx)"), "\(result.stdout)")
        let row = try #require(outputLines(result.stdout).first { $0.hasPrefix("layer1.0.bn2") })
        #expect(row.contains("BEYOND"), "\(row)")
    }

    @Test func jsonCarriesEveryLayersReport() throws {
        let result = try BNFileBinary.run(["check", Self.captures + "/resnet18_corrupt", "--json"])
        #expect(result.status == 1)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let layers = try #require(document["layers"] as? [[String: Any]])
        #expect(layers.count == 2)
        #expect(document["exitStatus"] as? Int == 1)
        let report = try #require(layers.first?["reference"] as? [String: Any])
        #expect((report["keys"] as? [[String: Any]])?.isEmpty == false)
    }

    /// A second implementation's files beside torch's: each file judged on its own, so
    /// a good candidate shows beside torch's corrupted layer, and a candidate result that
    /// does not fit its layer is trouble without hiding torch's verdict.
    @Test func aCandidateFolderIsJudgedBesideTheReference() throws {
        defer { scratch.cleanup() }
        let mine = scratch.path("mine")
        try FileManager.default.createDirectory(atPath: mine, withIntermediateDirectories: true)
        for layer in ["layer1.0.bn2", "layer2.0.bn1"] {
            try FileManager.default.copyItem(
                atPath: Self.captures + "/resnet18/\(layer).torch.npz",
                toPath: mine + "/\(layer).torch.npz")
        }
        let result = try BNFileBinary.run(["check", Self.captures + "/resnet18_corrupt", "--candidate", mine])
        #expect(result.status == 1, "torch's corrupted layer is still beyond: \(result.stdout)")
        let candidate = try #require(outputLines(result.stdout).first { $0.hasPrefix("layer1.0.bn2  candidate") })
        #expect(!candidate.contains("BEYOND"), "\(candidate)")
        let torch = try #require(outputLines(result.stdout).first { $0.hasPrefix("layer1.0.bn2  torch") })
        #expect(torch.contains("BEYOND"), "\(torch)")
        try FileManager.default.removeItem(atPath: mine + "/layer1.0.bn2.torch.npz")
        try FileManager.default.copyItem(
            atPath: mine + "/layer2.0.bn1.torch.npz", toPath: mine + "/layer1.0.bn2.torch.npz")
        let misfit = try BNFileBinary.run(["check", Self.captures + "/resnet18_corrupt", "--candidate", mine])
        #expect(misfit.status == 2)
        #expect(
            misfit.stderr.contains("layer1.0.bn2 (\(mine)/layer1.0.bn2.torch.npz): out has shape"), "\(misfit.stderr)")
        #expect(
            misfit.stdout.contains("1 beyond rounding: layer1.0.bn2 (dx)"), "torch's verdict stays: \(misfit.stdout)")
        let missing = try BNFileBinary.run(["check", Self.captures + "/resnet18", "--candidate", mine])
        #expect(missing.status == 2, "a candidate without a layer's file is trouble")
        #expect(missing.stderr.contains("no result for layer bn1"), "\(missing.stderr)")
    }

    @Test func runOutDirSkipsTorchsFiles() throws {
        defer { scratch.cleanup() }
        let out = scratch.path("grads")
        let result = try BNFileBinary.run(["run", "--out-dir", out, Self.captures + "/resnet18_corrupt"])
        #expect(result.status == 0, "\(result.stderr)")
        let written = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(written == ["layer1.0.bn2.grads.npz", "layer2.0.bn1.grads.npz"])
    }

    @Test func anEmptyFolderIsTrouble() throws {
        defer { scratch.cleanup() }
        let result = try BNFileBinary.run(["check", scratch.path("")])
        #expect(result.status == 2)
        #expect(result.stderr.contains("no layers to check"), "\(result.stderr)")
    }
}
