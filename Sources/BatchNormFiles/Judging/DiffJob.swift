import ArrayComparison
import NumPyFormat

/// Everything `bnfile diff` was asked, with defaults resolved.
public struct DiffRequest {
    public var fileA: String
    public var fileB: String
    public var keys: [String]?
    public var rtol: Double?
    public var atol: Double?
    public var channelAxis: Int
    public var topK: Int
    public var equalNaN: Bool
    public var inputs: String?
    public var settings: BatchNormSettings
    public var options: NPYReadOptions

    public init(fileA: String, fileB: String, keys: [String]?, rtol: Double?, atol: Double?, channelAxis: Int,
                topK: Int, equalNaN: Bool, inputs: String?, settings: BatchNormSettings, options: NPYReadOptions) {
        (self.fileA, self.fileB, self.keys, self.rtol, self.atol) = (fileA, fileB, keys, rtol, atol)
        (self.channelAxis, self.topK, self.equalNaN) = (channelAxis, topK, equalNaN)
        (self.inputs, self.settings, self.options) = (inputs, settings, options)
    }
}

/// Builds the report: opens both files, picks the keys, reads each pair, computes the
/// truth when asked, and hands every key to `KeyReport.compare`. Any error here is
/// trouble (exit 2); differences are in the report.
public enum DiffJob {
    public static func report(for request: DiffRequest) throws -> DiffReport {
        let npyA = DiffFile.isNPY(request.fileA), npyB = DiffFile.isNPY(request.fileB)
        guard npyA == npyB else {
            throw BatchNormFileError("\(npyA ? request.fileA : request.fileB) is an .npy file and "
                + "\(npyA ? request.fileB : request.fileA) is not; compare two .npz or two .npy files")
        }
        let single = npyA
            ? try DiffKeys.singleArrayKey(a: request.fileA, b: request.fileB, requested: request.keys) : ""
        let a = try DiffFile(path: request.fileA, singleArrayKey: single, options: request.options)
        let b = try DiffFile(path: request.fileB, singleArrayKey: single, options: request.options)
        let keys = try DiffKeys.select(a: a, b: b, requested: request.keys)
        let truth = try request.inputs.map {
            try DiffTruth(path: $0, settings: request.settings, options: request.options)
        }
        let reports = try keys.map { key in
            switch try DiffPair.load(key: key, a: a, b: b, rtol: request.rtol, atol: request.atol) {
            case .structural(let outcome):
                return KeyReport(key: key, outcome: outcome)
            case .values(let valuesA, let valuesB, let shape, let format, let tolerance, let isFloat):
                return KeyReport.compare(
                    key: key, a: valuesA, b: valuesB, shape: shape, format: format, tolerance: tolerance,
                    channelAxis: request.channelAxis, equalNaN: request.equalNaN, topK: request.topK,
                    truth: isFloat ? try truth?.truth(for: key, shape: shape, format: format) : nil)
            }
        }
        return DiffReport(fileA: request.fileA, fileB: request.fileB, keys: reports)
    }
}
