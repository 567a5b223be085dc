/// A type whose values the scan's kernels read where they lie (native-endian, at any
/// alignment) and widen to `Double` in registers: float32 values from a file or the
/// engine's blocks, or doubles (stored so, or filled into scratch by a source).
///
/// Widening float32 to double is exact, so a kernel over the stored float32 values
/// computes on the same doubles as one over the filled copy: the same bits.
protocol ScanElement {
    /// The value at index `j` of those from `base`, as a double.
    static func load(_ base: UnsafeRawPointer, _ j: Int) -> Double
}

extension Float: ScanElement {
    @inline(__always)
    static func load(_ base: UnsafeRawPointer, _ j: Int) -> Double {
        Double(base.loadUnaligned(fromByteOffset: j &* 4, as: Float.self))
    }
}

extension Double: ScanElement {
    @inline(__always)
    static func load(_ base: UnsafeRawPointer, _ j: Int) -> Double {
        base.loadUnaligned(fromByteOffset: j &* 8, as: Double.self)
    }
}

/// How the kernel for doubles finds the magnitude patterns that ULP distances count
/// in (`FloatFormat.magnitudePattern`), chosen by the key's format.
protocol PatternRule {
    static func pattern(_ value: Double) -> UInt64
}

/// float64's grid: the double's own bits, without the sign.
enum OwnPatterns: PatternRule {
    @inline(__always)
    static func pattern(_ value: Double) -> UInt64 { value.bitPattern & ~(1 << 63) }
}

/// float32's grid: the hardware's rounding of the magnitude to float32.
enum Float32Patterns: PatternRule {
    @inline(__always)
    static func pattern(_ value: Double) -> UInt64 { UInt64(Float(value.magnitude).bitPattern) }
}

/// Grids without a native type (float16, bfloat16): the distances are computed after
/// the kernel, element by element (`FloatFormat.ulpDistance`); the kernel gives 0.
enum LaterPatterns: PatternRule {
    @inline(__always)
    static func pattern(_ value: Double) -> UInt64 { 0 }
}
