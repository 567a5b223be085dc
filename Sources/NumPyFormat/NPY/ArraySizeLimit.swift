/// numpy's bound on an array's size, which a header must meet before anything is
/// allocated or iterated for it.
///
/// numpy multiplies the item size by every *nonzero* dimension and refuses the array
/// ("array is too big") when that product overflows a signed 64-bit integer. Zero
/// dimensions are skipped on purpose: an empty array of shape (0, 2^62, 4) has no data,
/// so a check on the data size alone passes it, yet its other dimensions still reach
/// code that multiplies or allocates by them (per-channel or per-row work). Requiring
/// the nonzero product to fit makes every product of any subset of the dimensions,
/// with or without the item size, fit in an `Int` too: none can overflow later.
enum ArraySizeLimit {
    /// The largest product numpy accepts: 2^63 - 1.
    static let largest = Int.max

    /// The item size times every nonzero dimension, or nil when it exceeds `largest`.
    static func nonzeroBytes(shape: [Int], itemSize: Int) -> Int? {
        var product = max(itemSize, 1)
        for dimension in shape where dimension != 0 {
            guard let next = CheckedArithmetic.multiply(product, dimension) else { return nil }
            product = next
        }
        return product
    }

    /// The message for a shape over the limit, naming the limit.
    static func refusal(shape: [Int], dtype: NPYDType) -> String {
        "shape \(pythonTuple(shape)) of \(dtype.descr) is too big: its \(dtype.itemSize)-byte items times "
            + "its nonzero dimensions exceed 2^63-1 bytes, the largest array numpy allows (it refuses this one too)"
    }
}
