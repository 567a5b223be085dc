import Foundation
import Testing
import ExactBatchNorm
import NumPyFormat

/// The engine against the independent oracle (scripts/bn_oracle.py: Python fractions,
/// with the one irrational factor from mpmath), whose results are committed under
/// data/cases. Equality is bitwise: every output must be the correctly rounded value.
@Suite struct FixtureTests {
    struct Case: Decodable, Sendable, CustomStringConvertible {
        let name: String
        let layout: String
        let eval: Bool
        var description: String { name }
    }

    static let casesFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("data/cases")

    static let cases: [Case] = {
        let data = try! Data(contentsOf: casesFolder.appendingPathComponent("manifest.json"))
        return try! JSONDecoder().decode([Case].self, from: data)
    }()

    /// A problem loaded from `NAME.in.npz`, with every per-channel input widened to double.
    struct Problem {
        let x: NPYArray
        let dout: NPYArray?
        let shape: BatchNormShape
        let parameters: BatchNormParameters
        let mode: BatchNormMode
        let xFormat: FixtureFloat
        let channelFormat: FixtureFloat

        init(_ c: Case) throws {
            let archive = try NPZArchive(path: FixtureTests.casesFolder.appendingPathComponent("\(c.name).in.npz").path)
            func channel(_ key: String) throws -> [Double]? {
                archive.member(named: key) == nil ? nil : try archive.array(named: key).elements(as: Double.self)
            }
            func scalar(_ key: String) throws -> Double? { try channel(key)?.first }
            x = try archive.array(named: "x")
            dout = archive.member(named: "dout") == nil ? nil : try archive.array(named: "dout")
            shape = try BatchNormShape(dimensions: x.shape, layout: c.layout == "nhwc" ? .channelsLast : .channelsFirst)
            parameters = BatchNormParameters(
                gamma: try channel("gamma"), beta: try channel("beta"), runningMean: try channel("running_mean"),
                runningVar: try channel("running_var"), eps: try scalar("eps") ?? 1e-5,
                momentum: try scalar("momentum") ?? 0.1)
            mode = c.eval ? .evaluation : .training
            xFormat = try FixtureFloat(x.dtype)
            channelFormat = try archive.member(named: "gamma").map { _ in try FixtureFloat(archive.array(named: "gamma").dtype) }
                ?? xFormat
        }

        /// Runs the engine and returns every output as raw bytes, keyed like the files.
        func outputs(threads: Int) throws -> [String: [UInt8]] {
            switch xFormat {
            case .float16: return try outputs(Float16.self, threads: threads)
            case .bfloat16: return try bfloat16Outputs(threads: threads)
            case .float32: return try outputs(Float.self, threads: threads)
            case .float64: return try outputs(Double.self, threads: threads)
            }
        }

        func outputs<X: BatchNormFloat & NPYElement>(_: X.Type, threads: Int) throws -> [String: [UInt8]] {
            let result = try x.withUnsafeElements(as: X.self) { xs in
                try (dout.map { try $0.elements(as: X.self) }).withOptionalBuffer { ds in
                    try ExactBatchNorm.compute(x: xs, dout: ds, shape: shape, parameters: parameters, mode: mode,
                                               output: X.self, threads: threads)
                }
            }
            return bytes(of: result)
        }

        /// bfloat16 data straight from the files' (declared) bytes: the engine takes raw
        /// bytes, and the fixtures are little-endian, as this machine is.
        func bfloat16Outputs(threads: Int) throws -> [String: [UInt8]] {
            let result = try x.withUnsafeBytes { xs in
                try (dout?.bytes).withOptionalBuffer { (ds: UnsafeBufferPointer<UInt8>?) in
                    try ExactBatchNorm.compute(
                        BatchNormInput(x: xs, dout: ds.map { UnsafeRawBufferPointer($0) }, elementType: .bfloat16,
                                       shape: shape, parameters: parameters, mode: mode),
                        output: BFloat16.self, threads: threads)
                }
            }
            return bytes(of: result)
        }

        /// Every output's raw bytes, per-channel ones in the parameters' dtype.
        func bytes<Output: BatchNormFloat>(of result: BatchNormResult<Output>) -> [String: [UInt8]] {
            var bytes: [String: [UInt8]] = ["out": result.out.rawBytes]
            if let dx = result.dx { bytes["dx"] = dx.rawBytes }
            for q in ChannelQuantity.allCases {
                switch channelFormat {
                case .float16: if let v = result.perChannel(q, as: Float16.self) { bytes[q.rawValue] = v.rawBytes }
                case .bfloat16: if let v = result.perChannel(q, as: BFloat16.self) { bytes[q.rawValue] = v.rawBytes }
                case .float32: if let v = result.perChannel(q, as: Float.self) { bytes[q.rawValue] = v.rawBytes }
                case .float64: if let v = result.perChannel(q, as: Double.self) { bytes[q.rawValue] = v.rawBytes }
                }
            }
            return bytes
        }
    }

    @Test(arguments: cases)
    func engineMatchesOracleBitForBit(_ c: Case) throws {
        let problem = try Problem(c)
        let expected = try NPZArchive(path: Self.casesFolder.appendingPathComponent("\(c.name).exact.npz").path)
        // One thread and three: the exact sums make the split irrelevant, and this checks it.
        for threads in [1, 3] {
            let got = try problem.outputs(threads: threads)
            for name in expected.dataNames {
                let want = try expected.array(named: name).bytes
                #expect(got[name] == want, "\(c.name): \(name) differs from the oracle (threads \(threads))")
            }
            #expect(Set(got.keys) == Set(expected.dataNames), "\(c.name): keys \(got.keys.sorted()) vs \(expected.names)")
            // bfloat16 outputs are declared as bnfile declares them.
            let bfloat16 = got.keys.filter { try! expected.array(named: $0).dtype.kind == .bfloat16 }
            #expect(Set(expected.bfloat16Declaration ?? []) == Set(bfloat16), "\(c.name): bfloat16 declaration")
        }
    }
}

/// A fixture array's float format, decided once: any other dtype fails the test rather
/// than being read as float64.
enum FixtureFloat {
    case float16, bfloat16, float32, float64

    struct Unsupported: Error, CustomStringConvertible {
        let descr: String
        var description: String { "fixture dtype \(descr) is not float16, bfloat16, float32 or float64" }
    }

    init(_ dtype: NPYDType) throws {
        switch (dtype.kind, dtype.itemSize) {
        case (.bfloat16, _): self = .bfloat16
        case (.float, 2): self = .float16
        case (.float, 4): self = .float32
        case (.float, 8): self = .float64
        default: throw Unsupported(descr: dtype.descr)
        }
    }
}

extension Array {
    var rawBytes: [UInt8] { withUnsafeBytes { Array<UInt8>($0) } }
}

extension Optional {
    /// Calls `body` with a buffer over the array, or nil.
    func withOptionalBuffer<E, R>(_ body: (UnsafeBufferPointer<E>?) throws -> R) rethrows -> R where Wrapped == [E] {
        switch self {
        case .some(let array): return try array.withUnsafeBufferPointer { try body($0) }
        case .none: return try body(nil)
        }
    }
}
