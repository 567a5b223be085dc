import NumPyFormat

/// bfloat16 members as the batch-norm files declare them (see NumPyFormat's
/// `NPZBFloat16Declaration`): what a single .npy array becomes when its key is declared,
/// and what to tell a user whose float member is two raw bytes.
public enum BFloat16Declaration {
    /// The single array of an .npy file (which has no room for a declaration), as
    /// bfloat16 when the read options name its key and it is stored as raw bytes.
    public static func declared(_ array: NPYArray, key: String, options: NPYReadOptions) throws -> NPYArray {
        options.bfloat16Arrays.contains(key) && array.dtype.kind == .void ? try array.declaredBFloat16() : array
    }

    /// What to say about a `<V2` member where a float is needed.
    public static func hint(for dtype: NPYDType, key: String) -> String {
        dtype.isTwoByteVoid
            ? " (2-byte raw items, as ml_dtypes saves bfloat16; if '\(key)' is bfloat16, pass --bfloat16 \(key))" : ""
    }
}
