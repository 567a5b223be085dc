import NumPyFormat

/// The `--json` form: `{"files":[{"path":...,"arrays":[{...}]}]}`, keys in a fixed order.
public enum InspectJSON {
    public static func document(_ reports: [InspectFileReport]) -> String {
        let files = reports.map { report in
            object([
                ("path", string(report.path)),
                ("format", string(report.format)),
                ("arrays", "[" + report.arrays.map(array).joined(separator: ",") + "]"),
            ])
        }
        return object([("files", "[" + files.joined(separator: ",") + "]")])
    }

    private static func array(_ a: InspectArrayReport) -> String {
        var fields: [(String, String)] = [
            ("name", string(a.name)),
            ("dtype", string(a.header.dtype.descr)),
            ("shape", "[" + a.header.shape.map(String.init).joined(separator: ",") + "]"),
            ("fortran_order", a.header.fortranOrder ? "true" : "false"),
            ("version", string(a.header.version.description)),
            ("storage", string(a.storage)),
            ("compressed_bytes", String(a.compressedBytes)),
            ("raw_bytes", String(a.rawBytes)),
            ("crc", string(a.crc)),
            ("type", string(a.header.dtype.typeName)),
        ]
        if let text = a.text {
            fields.append(("strings", "[" + text.shown.map(string).joined(separator: ",") + "]"))
            fields.append(("strings_total", String(text.total)))
        }
        if a.statsRequested, a.stats == nil {
            fields.append(("stats", "null"))
        } else if let stats = a.stats {
            fields.append(
                (
                    "stats",
                    object([
                        ("min", number(stats.min)), ("max", number(stats.max)), ("mean", number(stats.mean)),
                        ("std", number(stats.std)), ("nan", String(stats.nan)), ("inf", String(stats.inf)),
                    ])
                ))
        }
        return object(fields)
    }

    private static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(string($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    /// Stats are finite by construction; absent ones (no finite values) are null.
    private static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "null" }
        return "\(value)"
    }

    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
