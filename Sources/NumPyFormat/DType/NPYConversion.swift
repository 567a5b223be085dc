/// Which dtype-to-type conversions the typed readers perform.
///
/// A conversion is allowed only when every value of the source dtype has an exact
/// representation in the target: widening integers, integers into floats whose
/// significand holds all their bits, narrower floats into wider ones, reals into complex,
/// bfloat16 into float32 and wider (its values are float32's upper halves). Strings and
/// raw bytes (void) have no numeric values and convert to nothing.
/// `int64` to `Double` is refused even though numpy calls it "safe", because values
/// above 2^53 would silently change.
enum NPYConversion {
    static func isLossless(from source: NPYDType, to target: NPYDType) -> Bool {
        let s = source.itemSize, t = target.itemSize
        switch (source.kind, target.kind) {
        case (.unicode, _), (.bytes, _), (.void, _), (_, .unicode), (_, .bytes), (_, .void): return false
        case (.bool, _): return true
        case (.bfloat16, .bfloat16): return true
        case (.bfloat16, .float): return t >= 4
        case (.bfloat16, .complex): return t >= 8
        case (.signedInteger, .bfloat16), (.unsignedInteger, .bfloat16): return integerBits(source) <= 8
        case (.bfloat16, _), (_, .bfloat16): return false
        case (_, .bool): return false
        case (.signedInteger, .signedInteger), (.unsignedInteger, .unsignedInteger),
            (.float, .float), (.complex, .complex):
            return t >= s
        case (.unsignedInteger, .signedInteger): return t > s
        case (.signedInteger, .unsignedInteger): return false
        case (.signedInteger, .float), (.unsignedInteger, .float):
            return integerBits(source) <= significandBits(t)
        case (.signedInteger, .complex), (.unsignedInteger, .complex):
            return integerBits(source) <= significandBits(t / 2)
        case (.float, .complex): return t / 2 >= s
        case (.float, _), (.complex, _): return false
        }
    }

    /// Magnitude bits an integer type needs.
    private static func integerBits(_ dtype: NPYDType) -> Int {
        dtype.itemSize * 8 - (dtype.kind == .signedInteger ? 1 : 0)
    }

    /// Significand precision, including the implicit bit, of an IEEE float of `size` bytes.
    private static func significandBits(_ size: Int) -> Int {
        switch size {
        case 2: 11
        case 4: 24
        default: 53
        }
    }

    static func refusal(from source: NPYDType, to type: Any.Type, context: ErrorContext) -> NumPyFormatError {
        if source.kind == .void {
            return context.error(
                .lossyConversion(from: source),
                "cannot read \(source.descr) (\(source.typeName)) as \(type): the items are raw bytes with no "
                    + "element type; if they are bfloat16 (as ml_dtypes saves it), declare them bfloat16")
        }
        if source.kind.isString {
            return context.error(
                .lossyConversion(from: source),
                "cannot read \(source.descr) (\(source.typeName)) as \(type): the array holds strings, "
                    + "not numbers; read it with strings()")
        }
        return context.error(
            .lossyConversion(from: source),
            "cannot read \(source.descr) (\(source.typeName)) as \(type): not every \(source.typeName) "
                + "value is exactly representable; read it as a type that holds them all")
    }
}
