#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Short, stable spellings of numbers for tables and summaries.
///
/// Reports are read side by side, so every figure is written with three significant
/// digits (enough to tell 1 ulp from 2 and 1e-7 from 1e-6, no more), integers stay
/// integers, and non-finite values use the same words as the JSON ("nan", "inf", "-inf").
public enum NumberText {
    public static func compact(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        if x == x.rounded(), abs(x) < 1e6 { return String(Int(x)) }
        let magnitude = abs(x)
        if magnitude >= 1e-3 && magnitude < 1e6 { return printf("%.3g", x) }
        return printf("%.2e", x)
    }

    static func count(_ n: UInt64) -> String { String(n) }

    /// The shortest decimal that reads back as the same value in `format`, so a value
    /// reads as it does in the user's own array.
    public static func value(_ x: Double, in format: FloatFormat) -> String {
        switch format {
        case .float16: Float16(x).description
        case .float32: Float(x).description
        case .bfloat16, .float64: x.description
        }
    }

    static func percent(_ p: Double) -> String {
        if p == 0 || p == 100 { return "\(Int(p))%" }
        // Never print 0% or 100% for a partial count: one mismatch in 10^7 must show.
        if p < 0.01 { return "<0.01%" }
        if p > 99.99 { return ">99.99%" }
        return printf("%.2f%%", p)
    }

    /// One double through a C format. Foundation's `String(format:)` would do, but it
    /// pulls in ICU: about 12 MB more resident memory in every run of the tool, a pipeline
    /// step whose memory is budgeted against the arrays it handles.
    public static func printf(_ format: String, _ x: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        _ = withVaList([x]) { vsnprintf(&buffer, buffer.count, format, $0) }
        return String(cString: buffer)
    }

    public static func index(_ index: [Int]) -> String {
        "(" + index.map(String.init).joined(separator: ", ") + (index.count == 1 ? ",)" : ")")
    }

    public static func shape(_ shape: [Int]) -> String { index(shape) }
}
