import NumPyFormat

/// Summary statistics for `inspect --stats`, computed in float64.
///
/// NaN and ±Inf are counted, not folded in: one NaN would otherwise make every other
/// number NaN and hide what the rest of the data looks like. min, max, mean and std are
/// over the finite values (std with divisor n, numpy's default), nil when there are none.
struct InspectStats {
    var min: Double?
    var max: Double?
    var mean: Double?
    var std: Double?
    var nan = 0
    var inf = 0

    /// nil for complex arrays, which have no order and no single mean, and for string
    /// and void (raw bytes) arrays, which hold no numbers.
    init?(_ array: NPYArray) throws {
        switch (array.dtype.kind, array.dtype.itemSize) {
        case (.bool, _): try self.init(array, Bool.self) { $0 ? 1 : 0 }
        case (.signedInteger, 1): try self.init(array, Int8.self) { Double($0) }
        case (.signedInteger, 2): try self.init(array, Int16.self) { Double($0) }
        case (.signedInteger, 4): try self.init(array, Int32.self) { Double($0) }
        case (.signedInteger, _): try self.init(array, Int64.self) { Double($0) }
        case (.unsignedInteger, 1): try self.init(array, UInt8.self) { Double($0) }
        case (.unsignedInteger, 2): try self.init(array, UInt16.self) { Double($0) }
        case (.unsignedInteger, 4): try self.init(array, UInt32.self) { Double($0) }
        case (.unsignedInteger, _): try self.init(array, UInt64.self) { Double($0) }
        case (.float, 2): try self.init(array, Float16.self) { Double($0) }
        case (.float, 4): try self.init(array, Float.self) { Double($0) }
        case (.float, _): try self.init(array, Double.self) { $0 }
        case (.bfloat16, _): try self.init(array, Float.self) { Double($0) }
        case (.complex, _), (.unicode, _), (.bytes, _), (.void, _): return nil
        }
    }

    /// Two passes (mean, then squared deviations) with compensated sums: the one-pass
    /// formula loses everything when |mean| is much larger than std.
    private init<T: NPYElement>(_ array: NPYArray, _ type: T.Type, _ toDouble: (T) -> Double) throws {
        var result = InspectStats()
        try array.withUnsafeElements(as: T.self) { elements in
            var sum = CompensatedSum()
            var finite = 0
            var low = Double.infinity, high = -Double.infinity
            for element in elements {
                let x = toDouble(element)
                if x.isNaN {
                    result.nan += 1
                } else if x.isInfinite {
                    result.inf += 1
                } else {
                    finite += 1
                    sum.add(x)
                    low = Swift.min(low, x)
                    high = Swift.max(high, x)
                }
            }
            guard finite > 0 else { return }
            let mean = sum.value / Double(finite)
            var squares = CompensatedSum()
            for element in elements {
                let x = toDouble(element)
                if x.isFinite { squares.add((x - mean) * (x - mean)) }
            }
            result.min = low
            result.max = high
            result.mean = mean
            result.std = (squares.value / Double(finite)).squareRoot()
        }
        self = result
    }

    private init() {}

    /// Why an array of `dtype` has no statistics, for the text report.
    static func missingReason(_ dtype: NPYDType) -> String {
        switch dtype.kind {
        case .unicode, .bytes: "string arrays"
        case .void where dtype.itemSize == 2: "raw bytes (void); if they are bfloat16, declare them with --bfloat16"
        case .void: "raw bytes (void)"
        default: "complex arrays"
        }
    }
}

/// Neumaier's compensated summation.
private struct CompensatedSum {
    private var sum = 0.0
    private var compensation = 0.0

    mutating func add(_ x: Double) {
        let t = sum + x
        compensation += abs(sum) >= abs(x) ? (sum - t) + x : (x - t) + sum
        sum = t
    }

    var value: Double { sum + compensation }
}
