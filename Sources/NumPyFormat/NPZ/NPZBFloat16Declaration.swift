/// How an .npz says which of its arrays are bfloat16: a member named `bfloat16`, a
/// 1-d unicode array of their names, e.g. `np.array(["out", "dx"])`.
///
/// A file cannot say it in the arrays themselves. numpy has no bfloat16 descr, and
/// ml_dtypes' arrays are saved as `<V2` (two raw bytes), so any marker inside the
/// descr (a structured field name, a made-up type string) would make numpy refuse the
/// file or read it differently. A member is plain numpy: `np.load(f)["out"]` stays a
/// `<V2` array that `.view(ml_dtypes.bfloat16)` reads, and every other tool sees one
/// more small array. `NPZWriter` adds the member whenever it writes bfloat16 arrays;
/// `NPZArchive` reads it and returns the arrays it lists as bfloat16.
///
/// A member of that name that is not a string array is an ordinary array, not a
/// declaration. A declaration must be 0-d or 1-d, list only arrays the archive holds
/// (and not itself), and each listed array must be `<V2` (checked when it is read).
public enum NPZBFloat16Declaration {
    /// The array name of the declaration member (`bfloat16.npy` in the zip).
    public static let arrayName = "bfloat16"

    /// The names the declaration lists; nil when there is none or reading it is off.
    static func read(
        names: [String], options: NPYReadOptions, load: (String) throws -> NPYArray?
    ) throws -> [String]? {
        guard options.readsBFloat16Declaration, names.contains(arrayName), let array = try load(arrayName),
            array.dtype.kind.isString
        else { return nil }
        guard array.shape.count <= 1, array.count <= names.count else {
            throw array.context.error(
                .malformed,
                "expected the bfloat16 declaration to be a 1-d list of at most \(names.count) array names, "
                    + "found shape \(pythonTuple(array.shape))")
        }
        let listed = try array.strings()
        for name in listed where name == arrayName || !names.contains(name) {
            throw array.context.error(
                .inconsistent,
                "the bfloat16 declaration lists '\(name)', which is not an array of this archive "
                    + "(arrays: \(NPZArchive.listing(names.filter { $0 != arrayName })))")
        }
        return listed
    }
}
