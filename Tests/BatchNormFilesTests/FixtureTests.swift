import BatchNormFiles
import ExactBatchNorm
import Foundation
import NumPyFormat
import Testing

/// The library's whole path from an input file to the exact result (`BatchNormInputFile`,
/// the loader `bnfile run` uses: keys, aliases, settings, dtypes) against the independent
/// oracle (scripts/bn_oracle.py: Python fractions, with the one irrational factor from
/// mpmath), whose results are committed under data/cases. Equality is bitwise: every
/// output must be the correctly rounded value.
@Suite struct FixtureTests {
    struct Case: Decodable, Sendable, CustomStringConvertible {
        let name: String
        let layout: String
        let eval: Bool
        var description: String { name }
    }

    static let casesFolder = dataFolder.appendingPathComponent("cases")

    static let cases: [Case] = {
        let data = try! Data(contentsOf: casesFolder.appendingPathComponent("manifest.json"))
        return try! JSONDecoder().decode([Case].self, from: data)
    }()

    /// `NAME.in.npz` as `bnfile run` reads it with the manifest's flags (`--eval`,
    /// `--layout nhwc`); everything else comes from the file or torch's defaults.
    static func problem(_ c: Case) throws -> BatchNormInputFile {
        let stated = StatedSettings(training: !c.eval, layout: c.layout == "nhwc" ? .channelsLast : .channelsFirst)
        return try BatchNormInputFile(
            path: casesFolder.appendingPathComponent("\(c.name).in.npz").path,
            settings: BatchNormSettings(stated: stated), options: NPYReadOptions())
    }

    /// Runs the engine with outputs in x's format and returns each output's raw bytes,
    /// keyed like the files; per-channel outputs in the problem's channel format.
    static func outputs(_ problem: BatchNormInputFile, threads: Int) throws -> [String: [UInt8]] {
        switch problem.storedFloat {
        case .float16: try bytes(of: problem.evaluate(as: Float16.self, threads: threads), problem)
        case .bfloat16: try bytes(of: problem.evaluate(as: BFloat16.self, threads: threads), problem)
        case .float32: try bytes(of: problem.evaluate(as: Float.self, threads: threads), problem)
        case .float64: try bytes(of: problem.evaluate(as: Double.self, threads: threads), problem)
        }
    }

    static func bytes<Output: BatchNormFloat>(of result: BatchNormResult<Output>, _ problem: BatchNormInputFile)
        throws -> [String: [UInt8]]
    {
        var bytes: [String: [UInt8]] = ["out": raw(result.out)]
        if let dx = result.dx { bytes["dx"] = raw(dx) }
        let channelFormat = try #require(StoredFloat(problem.channelDType), "channel dtype \(problem.channelDType)")
        for q in ChannelQuantity.allCases {
            let values: [UInt8]? =
                switch channelFormat {
                case .float16: result.perChannel(q, as: Float16.self).map(raw)
                case .bfloat16: result.perChannel(q, as: BFloat16.self).map(raw)
                case .float32: result.perChannel(q, as: Float.self).map(raw)
                case .float64: result.perChannel(q, as: Double.self).map(raw)
                }
            if let values { bytes[q.rawValue] = values }
        }
        return bytes
    }

    static func raw<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    @Test(arguments: cases)
    func resultsMatchTheOracleBitForBit(_ c: Case) throws {
        let problem = try Self.problem(c)
        let expected = try NPZArchive(path: Self.casesFolder.appendingPathComponent("\(c.name).exact.npz").path)
        // One thread and three: the exact sums make the split irrelevant, and this checks it.
        for threads in [1, 3] {
            let got = try Self.outputs(problem, threads: threads)
            for name in expected.dataNames {
                let want = try expected.array(named: name).bytes
                #expect(got[name] == want, "\(c.name): \(name) differs from the oracle (threads \(threads))")
            }
            #expect(
                Set(got.keys) == Set(expected.dataNames), "\(c.name): keys \(got.keys.sorted()) vs \(expected.names)")
            // bfloat16 outputs are declared as bnfile declares them.
            let bfloat16 = got.keys.filter { try! expected.array(named: $0).dtype.kind == .bfloat16 }
            #expect(Set(expected.bfloat16Declaration ?? []) == Set(bfloat16), "\(c.name): bfloat16 declaration")
        }
    }
}
