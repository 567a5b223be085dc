import NumPyFormat

/// Summary statistics for `inspect --stats`, computed in float64.
///
/// NaN and ±Inf are counted, not folded in: one NaN would otherwise make every other
/// number NaN and hide what the rest of the data looks like. min, max, mean and std are
/// over the finite values (std with divisor n, numpy's default), nil when there are none.
///
/// The values are read as a stream, a piece at a time, in the order the file stores
/// them (for a Fortran-ordered array, column-major: its sums may then differ from a
/// C-order pass in the last bits); min, max and the counts do not depend on the order.
public struct InspectStats {
    public var min: Double?
    public var max: Double?
    public var mean: Double?
    public var std: Double?
    public var nan = 0
    public var inf = 0

    /// nil for complex arrays, which have no order and no single mean, and for string
    /// and void (raw bytes) arrays, which hold no numbers. Every numeric kind and width the
    /// reader accepts has its own case; a width it does not (which `NPYDType` refuses on
    /// reading) is an error here, never read as another type.
    init?(_ stream: NPYArrayStream) throws {
        let dtype = stream.header.dtype
        switch (dtype.kind, dtype.itemSize) {
        case (.bool, 1): try self.init(stream, Bool.self) { $0 ? 1 : 0 }
        case (.signedInteger, 1): try self.init(stream, Int8.self) { Double($0) }
        case (.signedInteger, 2): try self.init(stream, Int16.self) { Double($0) }
        case (.signedInteger, 4): try self.init(stream, Int32.self) { Double($0) }
        case (.signedInteger, 8): try self.init(stream, Int64.self) { Double($0) }
        case (.unsignedInteger, 1): try self.init(stream, UInt8.self) { Double($0) }
        case (.unsignedInteger, 2): try self.init(stream, UInt16.self) { Double($0) }
        case (.unsignedInteger, 4): try self.init(stream, UInt32.self) { Double($0) }
        case (.unsignedInteger, 8): try self.init(stream, UInt64.self) { Double($0) }
        case (.float, 2): try self.init(stream, Float16.self) { Double($0) }
        case (.float, 4): try self.init(stream, Float.self) { Double($0) }
        case (.float, 8): try self.init(stream, Double.self) { $0 }
        case (.bfloat16, _): try self.init(stream, Float.self) { Double($0) }
        case (.complex, _), (.unicode, _), (.bytes, _), (.void, _): return nil
        case (.bool, _), (.signedInteger, _), (.unsignedInteger, _), (.float, _):
            throw BatchNormFileError("no statistics for dtype \(dtype.descr): unsupported width")
        }
    }

    /// Two passes, as numpy's std makes them: the mean of the finite values, then the
    /// mean square of their distances from it, each summed with compensation.
    private init<T: NPYElement>(_ stream: NPYArrayStream, _ type: T.Type, _ toDouble: (T) -> Double) throws {
        var result = InspectStats()
        var sum = CompensatedSum<Double>()
        var finite = 0
        var low = Double.infinity, high = -Double.infinity
        try stream.forEachPiece { piece in
            try piece.withElements(as: T.self) { elements in
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
            }
        }
        if finite > 0 {
            let mean = sum.value / Double(finite)
            var squares = CompensatedSum<Double>()
            try stream.forEachPiece { piece in
                try piece.withElements(as: T.self) { elements in
                    for element in elements {
                        let x = toDouble(element)
                        if x.isFinite { squares.add((x - mean) * (x - mean)) }
                    }
                }
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
