import ExactBatchNorm
import NumPyFormat

/// The engine's bfloat16 is the element type of NumPyFormat's bfloat16 dtype. The
/// conversions are the library's own for binary floating-point types: bfloat16 arrays
/// are used in place, and bools and 8-bit integers (the only dtypes every value of
/// which bfloat16 holds) are widened.
extension BFloat16: NPYElement {
    public static var npyDType: NPYDType { .bfloat16() }
}
