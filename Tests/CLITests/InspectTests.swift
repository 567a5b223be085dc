import Foundation
import NumPyFormat
import TestSupport
import Testing

extension ScratchFolder {

    /// An npz with a float array holding a NaN and an Inf, a Fortran int array and a complex one.
    func sampleArchive(compressed: Bool) throws -> String {
        let path = self.path(compressed ? "z.npz" : "s.npz")
        let writer = try NPZWriter(path: path, options: NPZWriteOptions(compression: compressed ? .deflated : .stored))
        try writer.add("x", try NPYArray([Float(1), 2, 3, .nan, .infinity, 6], shape: [2, 3]))
        try writer.add("k", try NPYArray([Int64(1), 2, 3, 4], shape: [2, 2], fortranOrder: true))
        try writer.add("c", try NPYArray([NPYComplex64(1, 1)]))
        try writer.finish()
        return path
    }
}

@Suite struct InspectTests {
    @Test func describesStoredArchiveAsText() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let path = try scratch.sampleArchive(compressed: false)
        let result = try BNFileBinary.run(["inspect", path, "--stats"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "\(path): npz, 3 arrays")
        let x = try #require(lines.first { $0.hasPrefix("  x ") })
        for part in ["<f4", "(2, 3)", " C ", "v1.0", "stored", "crc ok"] { #expect(x.contains(part), "\(x)") }
        let k = try #require(lines.first { $0.hasPrefix("  k ") })
        for part in ["<i8", "(2, 2)", " F "] { #expect(k.contains(part), "\(k)") }
        #expect(result.stdout.contains("min 1.0  max 6.0  mean 3.0"))
        #expect(result.stdout.contains("nan 1  inf 1"))
        #expect(result.stdout.contains("no statistics for complex"))
    }

    @Test func jsonReportsEveryField() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let path = try scratch.sampleArchive(compressed: true)
        let result = try BNFileBinary.run(["inspect", "--json", "--stats", path])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let files = try #require(document["files"] as? [[String: Any]])
        #expect(files.count == 1 && files[0]["path"] as? String == path)
        let arrays = try #require(files[0]["arrays"] as? [[String: Any]])
        #expect(arrays.map { $0["name"] as? String } == ["x", "k", "c"])
        let x = arrays[0]
        #expect(x["dtype"] as? String == "<f4")
        #expect(x["shape"] as? [Int] == [2, 3])
        #expect(x["fortran_order"] as? Bool == false)
        #expect(x["version"] as? String == "1.0")
        #expect(x["storage"] as? String == "deflated")
        #expect(x["raw_bytes"] as? Int == 128 + 24)
        #expect((x["compressed_bytes"] as? Int ?? 0) > 0)
        #expect(x["crc"] as? String == "ok")
        let stats = try #require(x["stats"] as? [String: Any])
        #expect(stats["min"] as? Double == 1 && stats["max"] as? Double == 6)
        #expect(stats["mean"] as? Double == 3)
        #expect(abs((stats["std"] as? Double ?? 0) - (3.5).squareRoot()) < 1e-12)
        #expect(stats["nan"] as? Int == 1 && stats["inf"] as? Int == 1)
        #expect(arrays[1]["fortran_order"] as? Bool == true)
        #expect(arrays[2]["stats"] is NSNull)
    }

    @Test func describesNPYFiles() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let path = scratch.path("weights.npy")
        try NPYFile.write(try NPYArray([Double(0.5), -0.5]), to: path)
        let result = try BNFileBinary.run(["inspect", "--json", path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"name\":\"weights\",\"dtype\":\"<f8\",\"shape\":[2]"))
        #expect(result.stdout.contains("\"crc\":\"none\""))
        #expect(!result.stdout.contains("\"stats\""))
    }

    @Test func unreadableInputExitsWithStatus2() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let good = try scratch.sampleArchive(compressed: false)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))
        bytes.removeLast(30)
        let bad = scratch.path("bad.npz")
        try Data(bytes).write(to: URL(fileURLWithPath: bad))
        let result = try BNFileBinary.run(["inspect", bad])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("bnfile: error: \(bad): offset "), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        let missing = try BNFileBinary.run(["inspect", scratch.path("missing.npy")])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("No such file"))
    }

    @Test func showsStringArraysWithoutStatistics() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let path = scratch.path("settings.npz")
        let writer = try NPZWriter(path: path)
        try writer.add("layout", try NPYArray(strings: ["nhwc"], shape: []))
        try writer.add("keys", try NPYArray(strings: ["x", "it's"], shape: [2]))
        try writer.add("many", try NPYArray(strings: (0..<10).map(String.init), shape: [10]))
        try writer.finish()
        let result = try BNFileBinary.run(["inspect", path, "--stats"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let layout = try #require(lines.firstIndex { $0.hasPrefix("  layout ") })
        #expect(lines[layout].contains("<U4") && lines[layout].contains("()"))
        #expect(lines[layout + 1] == "    = 'nhwc'")
        #expect(lines[layout + 2] == "    (no statistics for string arrays)")
        #expect(result.stdout.contains("    = ['x', 'it\\'s']"))
        #expect(result.stdout.contains("'7', ... (10 items)]"))
        let json = try BNFileBinary.run(["inspect", "--json", "--stats", path])
        #expect(json.stdout.contains("\"strings\":[\"nhwc\"],\"strings_total\":1,\"stats\":null"), "\(json.stdout)")
    }

    @Test func helpHasAnExample() throws {
        let result = try BNFileBinary.run(["inspect", "--help"])
        #expect(result.stdout.contains("bnfile inspect data/notebook.npz --stats"))
        #expect(result.stdout.contains("finite values only"))
    }
}
