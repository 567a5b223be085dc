#if canImport(FoundationEssentials)
import FoundationEssentials  // JSONEncoder without ICU
#else
import Foundation
#endif

/// The machine-readable report.
///
/// JSON has no NaN or infinity, and the figures bnfile reports are exactly where they
/// appear (a NaN in one side, an infinite error against the truth), so non-finite
/// numbers are written as the strings "nan", "inf" and "-inf" — the spellings numpy and
/// Python print — rather than dropped or turned into null, which would read as "absent".
/// Keys are sorted so reports diff cleanly between runs.
public enum JSONReport {
    /// 2: notes, channels (conditioning), sentences and the legend; per-side formats.
    static let schemaVersion = 2

    struct Document: Encodable {
        /// The command that wrote the report ("bnfile diff").
        var tool: String
        var schemaVersion = JSONReport.schemaVersion
        var fileA: String
        var fileB: String
        var mode: String
        var result: String
        var exitStatus: Int32
        var keyCount: Int
        var differingKeyCount: Int
        var summary: String
        var keys: [KeyReport]
        var notes: [String]
        var channels: [ChannelAccuracy]
        var sentences: [String]
        var legend: String?
    }

    /// Sorted keys, non-finite numbers as strings: every bnfile JSON report is written so.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    static func render(_ report: DiffReport, command: String) throws -> String {
        let document = Document(
            tool: command, fileA: report.fileA, fileB: report.fileB, mode: report.mode,
            result: report.result.name, exitStatus: report.result.rawValue,
            keyCount: report.keys.count, differingKeyCount: report.differingKeys.count,
            summary: SummaryLine.render(report, command: command), keys: report.keys, notes: report.notes,
            channels: report.channels,
            sentences: VerdictSentences.render(report) + ChannelAccuracy.sentences(report.channels),
            legend: report.mode == "truth" ? VerdictSentences.legend : nil)
        let data = try encoder().encode(document)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
