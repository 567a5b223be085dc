import ArrayComparison
import NumPyFormat

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One layer of `bnfile check`, judged: each result file's report against the truth of
/// the layer's inputs (the reference's, and the candidate's when there is one), or the
/// one-line reason it could not be judged. Each file is judged on its own, so a
/// candidate that does not fit cannot hide the reference's verdict.
public struct LayerCheck: Sendable, Encodable {
    public var layer: CheckLayer
    public var reference: DiffReport?
    public var candidate: DiffReport?
    /// Why the reference, or the candidate, could not be judged.
    public var referenceTrouble: String?
    public var candidateTrouble: String?

    public init(layer: CheckLayer, reference: Result<DiffReport, any Error>, candidate: Result<DiffReport, any Error>?)
    {
        self.layer = layer
        (self.reference, referenceTrouble) = Self.split(reference)
        if let candidate { (self.candidate, candidateTrouble) = Self.split(candidate) }
    }

    static func split(_ result: Result<DiffReport, any Error>) -> (DiffReport?, String?) {
        switch result {
        case .success(let report): (report, nil)
        case .failure(let error): (nil, String(describing: error))
        }
    }

    /// The layer's troubles, one line each, naming the file.
    public var troubles: [String] {
        [(layer.reference, referenceTrouble), (layer.candidate ?? "", candidateTrouble)].compactMap { file, trouble in
            trouble.map { "\(layer.name) (\(file)): \($0)" }
        }
    }

    /// The keys that make the layer fail: beyond rounding in either file, or a shape or
    /// dtype that does not fit the inputs.
    public var beyondKeys: [String] {
        var keys: [String] = []
        for report in [candidate, reference].compactMap({ $0 }) {
            for key in report.differingKeys.map(\.key) where !keys.contains(key) { keys.append(key) }
        }
        return keys
    }

    /// The judged files with their labels and troubles, candidate first.
    func rows(referenceName: String) -> [(label: String, report: DiffReport?, trouble: String?)] {
        let reference = (referenceName, self.reference, referenceTrouble)
        return layer.candidate == nil ? [reference] : [("candidate", candidate, candidateTrouble), reference]
    }
}

/// All layers of one `bnfile check`: the table a person reads, the summary line, the
/// exit status and the JSON.
public struct CheckReport: Sendable {
    public var layers: [LayerCheck]
    /// The reference's name in the table ("torch").
    public var referenceName: String

    /// The keys shown as columns, in batch norm's order.
    public static let columns = ["out", "dx", "dgamma", "dbeta", "running_mean", "running_var"]

    public init(layers: [LayerCheck], referenceName: String) {
        self.layers = layers
        self.referenceName = referenceName
    }

    public var hasCandidate: Bool { layers.contains { $0.layer.candidate != nil } }

    /// 0 every result within rounding, 1 any beyond, 2 any layer that could not be judged.
    public var exitStatus: Int32 {
        if layers.contains(where: { !$0.troubles.isEmpty }) { return 2 }
        return layers.contains { !$0.beyondKeys.isEmpty } ? 1 : 0
    }

    /// layer x key: the verdict and the largest error of each judged side.
    public func table(color: Bool) -> String {
        let style = TerminalStyle(enabled: color)
        let header = ["layer"] + (hasCandidate ? ["side"] : []) + Self.columns
        var rows = [header.map { StyledCell($0, .heading) }]
        for check in layers {
            for (label, report, trouble) in check.rows(referenceName: referenceName) {
                var row = [StyledCell(check.layer.name)] + (hasCandidate ? [StyledCell(label)] : [])
                if trouble != nil {
                    rows.append(row + [StyledCell("trouble", .warning)])
                    continue
                }
                row += Self.columns.map { key in Self.cell(report?.keys.first { $0.key == key }) }
                rows.append(row)
            }
        }
        return renderColumns(rows, style: style)
    }

    static func cell(_ key: KeyReport?) -> StyledCell {
        if let key, key.differs, key.truth == nil {
            return StyledCell(key.outcome.structuralDescription ?? "differs", .bad)
        }
        guard let judged = key?.truth?.a else { return StyledCell("-") }
        switch judged.verdict {
        case .exact: return StyledCell("exact", .good)
        case .withinRounding: return StyledCell(NumberText.compact(judged.maxError), .good)
        case .beyondRounding: return StyledCell("BEYOND \(NumberText.compact(judged.maxError))", .bad)
        }
    }

    /// "bnfile check: 20 layers within rounding" or the layers and keys beyond it;
    /// `command` is the name of the command that prints it ("bnfile check").
    public func summaryLine(command: String) -> String {
        let troubled = layers.filter { !$0.troubles.isEmpty }
        let beyond = layers.filter { !$0.beyondKeys.isEmpty }
        var text = "\(command): \(layers.count) layers"
        if beyond.isEmpty && troubled.isEmpty { return text + ", every result within rounding" }
        if !beyond.isEmpty {
            text +=
                "; \(beyond.count) beyond rounding: "
                + beyond.map { "\($0.layer.name) (\($0.beyondKeys.joined(separator: ", ")))" }.joined(separator: ", ")
        }
        if !troubled.isEmpty {
            text += "; \(troubled.count) could not be judged: " + troubled.map(\.layer.name).joined(separator: ", ")
        }
        return text
    }

    struct Document: Encodable {
        /// The command that wrote the report ("bnfile check").
        var tool: String
        var schemaVersion = 1
        var reference: String
        var exitStatus: Int32
        var summary: String
        var layers: [LayerCheck]
    }

    public func json(command: String) throws -> String {
        let document = Document(
            tool: command, reference: referenceName, exitStatus: exitStatus,
            summary: summaryLine(command: command), layers: layers)
        return String(decoding: try JSONReport.encoder().encode(document), as: UTF8.self) + "\n"
    }
}

/// Judges one layer as `bnfile diff --inputs` does.
public enum CheckJob {
    public static func judge(_ layer: CheckLayer, settings: BatchNormSettings, options: NPYReadOptions) -> LayerCheck {
        func report(_ file: String) throws -> DiffReport {
            try DiffJob.report(
                for: DiffRequest(
                    fileA: file, fileB: file, keys: nil, rtol: nil, atol: nil, channelAxis: nil, topK: 3,
                    equalNaN: false,
                    inputs: layer.inputs, settings: settings, options: options))
        }
        return LayerCheck(
            layer: layer, reference: Result { try report(layer.reference) },
            candidate: layer.candidate.map { file in Result { try report(file) } })
    }
}
