import ArrayComparison
import NumPyFormat

/// Everything `bnfile diff` was asked, with defaults resolved.
public struct DiffRequest {
    public var fileA: String
    public var fileB: String
    public var keys: [String]?
    public var rtol: Double?
    public var atol: Double?
    /// nil: the layout's channel axis.
    public var channelAxis: Int?
    public var topK: Int
    public var equalNaN: Bool
    public var inputs: String?
    public var settings: BatchNormSettings
    public var options: NPYReadOptions

    public init(
        fileA: String, fileB: String, keys: [String]?, rtol: Double?, atol: Double?, channelAxis: Int?,
        topK: Int, equalNaN: Bool, inputs: String?, settings: BatchNormSettings, options: NPYReadOptions
    ) {
        (self.fileA, self.fileB, self.keys, self.rtol, self.atol) = (fileA, fileB, keys, rtol, atol)
        (self.channelAxis, self.topK, self.equalNaN) = (channelAxis, topK, equalNaN)
        (self.inputs, self.settings, self.options) = (inputs, settings, options)
    }
}

/// Builds the report: opens both files, picks the keys, reads each pair, computes the
/// truth when asked, and hands every key to `KeyReport.compare`. Any error here is
/// trouble (exit 2); differences are in the report.
///
/// Keys in one file only are notes, not differences (bnfile's own `mean` and `invstd`
/// beside torch's file, a file without running statistics), unless `--keys` asked for
/// them. Settings come from the flags, then the inputs, then a result file that records
/// them; two files that record different settings are trouble, naming both.
public enum DiffJob {
    public static func report(for request: DiffRequest) throws -> DiffReport {
        let (a, b) = try openFiles(request)
        let keys = try DiffKeys.select(a: a, b: b, requested: request.keys)
        let fallback = try recordedSettings(a: a, b: b, flags: request.settings.stated)
        let truth = try request.inputs.map {
            try DiffTruth(path: $0, settings: request.settings, fallback: fallback, options: request.options)
        }
        if let truth { try checkAgreement(truth.problem, with: [a, b], flags: request.settings.stated) }
        let layout =
            truth?.layout
            ?? request.settings.stated.over(fallback).resolved(framework: request.settings.framework).layout
        let axis = request.channelAxis ?? (layout == .channelsLast ? -1 : 1)
        var notes: [String] = []
        var outFormat: FloatFormat? = nil
        var loaded: [(key: String, pair: DiffPair)] = []
        for key in keys {
            let pair = try DiffPair.load(key: key, a: a, b: b, rtol: request.rtol, atol: request.atol)
            switch pair {
            case .structural(let outcome):
                if let note = onlyInOneFile(key, outcome, a: a, b: b) { notes.append(note) }
            case .values(let values):
                if let note = values.dtypeNote { notes.append(note) }
                if values.isFloat, let truth { try truth.prepare(key: key, shape: values.shape) }
                if key == "out" { outFormat = values.formatA }
            }
            loaded.append((key, pair))
        }
        let values = loaded.compactMap { if case .values(let values) = $0.pair { values } else { nil } }
        let scanned = try DiffScan.reports(
            values, truth: truth, request: request, axis: axis,
            threads: request.settings.threads)
        var reports = loaded.map { key, pair in
            if case .structural(let outcome) = pair {
                return KeyReport(key: key, outcome: outcome, missingIsDifference: request.keys != nil)
            }
            return scanned[key]!
        }
        var multiples: [String: (a: Int?, b: Int?)] = [:]
        if let truth {
            multiples = try DiffHints.gradientMultiples(values, truth: truth)
            let diagnosed = try diagnosisSides(values, reports: reports, truth: truth)
            try BugDiagnosis.attach(to: &reports, a: diagnosed.a, b: diagnosed.b, truth: truth)
        }
        notes += DiffHints.hints(reports, multiples: multiples, recorded: (!a.stated.isEmpty, !b.stated.isEmpty))
        if let truth { notes.append(settingsNote(truth.problem)) }
        let channels = truth.map { $0.channelAccuracy(format: outFormat ?? .float64) } ?? []
        var report = DiffReport(
            fileA: request.fileA, fileB: request.fileB, keys: reports, notes: notes,
            channels: channels)
        if !report.hasCommonKey {
            report.notes.append(
                "no key in common: \(a.path) has \(list(a.dataKeys)), \(b.path) has \(list(b.dataKeys))")
        }
        return report
    }

    static func openFiles(_ request: DiffRequest) throws -> (DiffFile, DiffFile) {
        let npyA = DiffFile.isNPY(request.fileA), npyB = DiffFile.isNPY(request.fileB)
        guard npyA == npyB else {
            throw BatchNormFileError(
                "\(npyA ? request.fileA : request.fileB) is an .npy file and "
                    + "\(npyA ? request.fileB : request.fileA) is not; compare two .npz or two .npy files")
        }
        let single =
            npyA
            ? try DiffKeys.singleArrayKey(a: request.fileA, b: request.fileB, requested: request.keys) : ""
        return (
            try DiffFile(path: request.fileA, singleArrayKey: single, options: request.options),
            try DiffFile(path: request.fileB, singleArrayKey: single, options: request.options)
        )
    }

    /// What a diagnosis needs of each side: every judged key's values and truth, whole,
    /// for a side with some key beyond rounding; nothing for a side within rounding
    /// everywhere, which is not diagnosed (so only beyond sides are held whole).
    static func diagnosisSides(_ values: [DiffValues], reports: [KeyReport], truth: DiffTruth) throws
        -> (a: DiagnosisSide, b: DiagnosisSide)
    {
        let judged = Dictionary(uniqueKeysWithValues: reports.compactMap { r in r.truth.map { (r.key, $0) } })
        func side(_ pick: KeyPath<TruthJudgement, SideJudgement>, isA: Bool) throws -> DiagnosisSide {
            var side = DiagnosisSide()
            guard judged.values.contains(where: { $0[keyPath: pick].verdict == .beyondRounding }) else { return side }
            for pair in values {
                guard let judgement = judged[pair.key] else { continue }
                let format = isA ? pair.formatA : pair.formatB
                guard let exact = try truth.truth(for: pair.key, shape: pair.shape, format: format) else { continue }
                side.add(
                    key: pair.key, values: isA ? try pair.valuesA() : try pair.valuesB(), format: format,
                    truth: exact, beyond: judgement[keyPath: pick].verdict == .beyondRounding)
            }
            return side
        }
        return (try side(\.a, isA: true), try side(\.b, isA: false))
    }

    /// What A and B record, after checking that they agree where the flags are silent.
    static func recordedSettings(a: DiffFile, b: DiffFile, flags: StatedSettings) throws -> StatedSettings {
        let conflicts = a.stated.conflicts(with: b.stated).filter { !overridden($0, by: flags) }
        guard conflicts.isEmpty else {
            throw BatchNormFileError(
                "\(a.path) and \(b.path) record different settings: "
                    + conflicts.joined(separator: ", ") + "; give the right one as a flag")
        }
        return a.stated.over(b.stated)
    }

    /// The inputs' settings against each result file's.
    static func checkAgreement(_ problem: BatchNormInputFile, with files: [DiffFile], flags: StatedSettings) throws {
        for file in files {
            let conflicts = problem.statedInFile.conflicts(with: file.stated).filter { !overridden($0, by: flags) }
            guard conflicts.isEmpty else {
                throw BatchNormFileError(
                    "\(problem.path) and \(file.path) record different settings: "
                        + conflicts.joined(separator: ", ") + "; give the right one as a flag")
            }
        }
    }

    /// Whether a conflict ("eps 1e-05 vs 0.001") concerns a setting the flags decide.
    static func overridden(_ conflict: String, by flags: StatedSettings) -> Bool {
        let name = conflict.split(separator: " ").first.map(String.init) ?? ""
        switch name {
        case "eps": return flags.eps != nil
        case "momentum": return flags.momentum != nil
        case "momentum_convention": return flags.momentumConvention != nil
        case "running_var_convention": return flags.runningVariance != nil
        case "training": return flags.training != nil
        case "layout": return flags.layout != nil
        default: return false
        }
    }

    static func onlyInOneFile(_ key: String, _ outcome: KeyOutcome, a: DiffFile, b: DiffFile) -> String? {
        switch outcome {
        case .onlyInA: "\(key) is only in A (\(a.path)); not compared"
        case .onlyInB: "\(key) is only in B (\(b.path)); not compared"
        default: nil
        }
    }

    static func settingsNote(_ problem: BatchNormInputFile) -> String {
        let s = problem.settings
        return "truth computed with: \(s.training ? "training" : "evaluation"), eps \(s.eps), momentum \(s.momentum) "
            + "(\(s.momentumConvention.rawValue) convention), \(s.runningVariance.rawValue) running variance, "
            + "layout \(s.layout.rawValue)"
    }

    static func list(_ keys: [String]) -> String { keys.isEmpty ? "none" : keys.joined(separator: ", ") }
}
