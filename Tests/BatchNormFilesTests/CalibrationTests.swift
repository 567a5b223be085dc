import ArrayComparison
import BatchNormFiles
import Foundation
import NumPyFormat
import Testing

/// The verdict's proof: every correct implementation of the calibration suite
/// (data/calibration, made by scripts/make_calibration.py) is within rounding on every
/// key, and every buggy one is beyond rounding on some key, except the cases listed in
/// data/calibration/exceptions.json, each with the reason its mistake cannot be told from
/// rounding at the data's precision. The list must be exact: a bug that becomes visible,
/// or one that stops being, fails the test until the list (and the README's matrix) says so.
@Suite struct CalibrationTests {
    struct Record: Decodable, Sendable, CustomStringConvertible, CustomTestStringConvertible {
        var dataset: String
        var implementation: String
        var file: String
        var kind: String
        var bug: String?
        var description: String { "\(dataset)/\(implementation)" }
        var testDescription: String { description }
    }

    static let folder = dataFolder.appendingPathComponent("calibration")

    static let records: [Record] = {
        guard let data = try? Data(contentsOf: folder.appendingPathComponent("manifest.json")) else { return [] }
        return (try? JSONDecoder().decode([Record].self, from: data)) ?? []
    }()

    static let exceptions: [String: String] = {
        guard let data = try? Data(contentsOf: folder.appendingPathComponent("exceptions.json")) else { return [:] }
        return (try? JSONDecoder().decode([String: String].self, from: data)) ?? [:]
    }()

    /// The keys of one record judged beyond rounding, with the largest error of each.
    static func beyond(_ record: Record) throws -> [String: Double] {
        beyondKeys(
            try judge(
                folder.appendingPathComponent(record.file).path,
                inputs: folder.appendingPathComponent("\(record.dataset).npz").path))
    }

    @Test func theSuiteIsThere() {
        #expect(Self.records.count >= 150)
        #expect(Set(Self.records.filter { $0.kind == "correct" }.map(\.implementation)).count >= 6)
        #expect(Set(Self.records.compactMap(\.bug)).count >= 9)
        #expect(Set(Self.records.map(\.dataset)).count >= 9)
        #expect(Self.exceptions.keys.allSatisfy { key in Self.records.contains { "\($0)" == key } })
    }

    @Test(arguments: records.filter { $0.kind == "correct" })
    func correctCodeIsNeverBeyondRounding(_ record: Record) throws {
        let beyond = try Self.beyond(record)
        #expect(beyond.isEmpty, "false alarm: \(record) beyond rounding on \(beyond)")
    }

    @Test(arguments: records.filter { $0.kind == "bug" })
    func everyBugIsBeyondRoundingUnlessProvablyHidden(_ record: Record) throws {
        let beyond = try Self.beyond(record)
        if let reason = Self.exceptions["\(record)"] {
            #expect(beyond.isEmpty, "\(record) is listed as hidden (\(reason)) but is beyond on \(beyond)")
        } else {
            #expect(!beyond.isEmpty, "missed bug: \(record) is within rounding on every key")
        }
    }
}
