import ArgumentParser
import NumPyFormat

/// `--bfloat16 KEY[,KEY...]` for run, diff and inspect: members stored as `<V2` (two raw
/// bytes, as ml_dtypes saves bfloat16) that are to be read as bfloat16. Files bnfile
/// writes declare their bfloat16 members themselves (NPZBFloat16Declaration), so the
/// flag is for files from elsewhere; it adds to a file's own declaration.
struct BFloat16Keys: ParsableArguments {
    @Option(
        name: .customLong("bfloat16"),
        help: ArgumentHelp(
            "Read these <V2 members (bfloat16 saved by ml_dtypes) as bfloat16; comma-separated. "
                + "Files bnfile writes declare theirs and need no flag.", valueName: "k1,k2"))
    var keys: [String] = []

    /// `--bfloat16 x,dout --bfloat16 out` is x, dout, out.
    var names: Set<String> {
        Set(
            keys.flatMap { $0.split(separator: ",") }
                .map { String($0.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()) }
                .filter { !$0.isEmpty })
    }

    /// The read options with these members declared.
    func applied(to options: NPYReadOptions) -> NPYReadOptions {
        var options = options
        options.bfloat16Arrays.formUnion(names)
        return options
    }

    func validate() throws {
        if !keys.isEmpty && names.isEmpty { throw ValidationError("--bfloat16 names no key") }
    }
}
