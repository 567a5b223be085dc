import NumPyFormat

/// The human-readable form of `inspect`: one aligned line per array, stats indented below.
public enum InspectText {
    public static func render(_ reports: [InspectFileReport]) -> String {
        var out = ""
        for report in reports {
            let noun = report.arrays.count == 1 ? "array" : "arrays"
            out += "\(escapingControlCharacters(report.path)): \(report.format), \(report.arrays.count) \(noun)\n"
            let rows = report.arrays.map { a in
                [
                    escapingControlCharacters(a.name), dtypeText(a.header.dtype), pythonTuple(a.header.shape), a.order,
                    "v\(a.header.version)",
                    a.storage, "\(a.compressedBytes)/\(a.rawBytes) bytes", "crc \(a.crc)",
                ]
            }
            let widths = (0..<8).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for (row, array) in zip(rows, report.arrays) {
                let cells = row.enumerated().map { column, cell in
                    column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
                }
                out += "  " + cells.joined(separator: "  ") + "\n"
                if let text = array.text {
                    out += "    = \(text.rendered(zeroDimensional: array.header.shape.isEmpty))\n"
                }
                if let stats = array.stats {
                    out += "    min \(number(stats.min))  max \(number(stats.max))  mean \(number(stats.mean))"
                    out += "  std \(number(stats.std))  nan \(stats.nan)  inf \(stats.inf)\n"
                } else if array.statsRequested {
                    out += "    (no statistics for \(InspectStats.missingReason(array.header.dtype)))\n"
                }
            }
        }
        return out
    }

    /// The descr, with the type a declaration gave it: `bfloat16 (<V2)`.
    static func dtypeText(_ dtype: NPYDType) -> String {
        dtype.kind == .bfloat16 ? "bfloat16 (\(dtype.descr))" : dtype.descr
    }

    private static func number(_ value: Double?) -> String {
        guard let value else { return "-" }
        return "\(value)"
    }
}
