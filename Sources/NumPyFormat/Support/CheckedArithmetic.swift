/// Sizes and offsets in .npy and .zip files are untrusted numbers: a lying header can
/// make `a * b` or `a + b` wrap around and turn a huge request into a small one that
/// passes every later check. All size arithmetic on file data goes through these.
enum CheckedArithmetic {
    static func multiply(_ a: Int, _ b: Int) -> Int? {
        let (result, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? nil : result
    }

    static func add(_ a: Int, _ b: Int) -> Int? {
        let (result, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : result
    }

    static func product(_ values: [Int]) -> Int? {
        var result = 1
        for value in values {
            guard let next = multiply(result, value) else { return nil }
            result = next
        }
        return result
    }

    /// A 64-bit unsigned count from a file, as an `Int` if it fits.
    static func int(_ value: UInt64) -> Int? {
        value <= UInt64(Int.max) ? Int(value) : nil
    }
}
