import ArgumentParser
import BatchNormFiles
import NumPyFormat

/// `bnfile inspect`: what is in .npy and .npz files, without loading them into Python.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe the arrays in .npy and .npz files.",
        discussion: """
            For each array in each file, prints its name, dtype (numpy descr, e.g. <f4), \
            shape, memory order (C or F), NPY format version, how it is stored (stored or \
            deflated, with compressed and raw sizes) and whether its CRC-32 checked out \
            (npz members; .npy files have no checksum). Every member is fully read and \
            verified. With --stats, also prints min, max, mean and (population) std, \
            computed in float64 over finite values only, plus NaN and Inf counts; complex \
            and string arrays get no statistics. String arrays (<U, |S) show their first \
            items, e.g. layout <U4 () = 'nhwc'. bfloat16 members (stored as <V2, as \
            ml_dtypes saves them) are shown as "bfloat16 (<V2)" with statistics when \
            the file's 'bfloat16' member lists them or --bfloat16 KEY[,KEY...] names them; \
            other <V2 members are raw bytes. A file that cannot be read is reported on stderr \
            and makes the exit status 2.

            Example:
              bnfile inspect data/notebook.npz --stats
              bnfile inspect --bfloat16 x,dout autocast.npz --stats
            """)

    @Argument(help: "The .npy or .npz files to describe.")
    var files: [String]

    @Flag(help: "Add min, max, mean, std (float64, finite values only) and NaN/Inf counts.")
    var stats = false

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    @OptionGroup var limits: ReadLimits

    @OptionGroup var bfloat16: BFloat16Keys

    func run() throws {
        var reports: [InspectFileReport] = []
        var failed = false
        for path in files {
            do {
                reports.append(
                    try InspectFileReport(
                        path: path, withStats: stats,
                        options: bfloat16.applied(to: limits.options)))
            } catch {
                printError(ToolError.describe(error))
                failed = true
            }
        }
        if json {
            print(InspectJSON.document(reports))
        } else {
            print(InspectText.render(reports), terminator: "")
        }
        if failed { throw ExitCode(2) }
    }
}
