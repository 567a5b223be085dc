import BatchNormFiles
import NumPyFormat

/// One `bnfile run`: read a problem, have the library compute and write its results,
/// and place the file atomically.
enum RunJob {
    static func run(
        input: String, output: String, settings: BatchNormSettings, options: NPYReadOptions,
        compressed: Bool
    ) throws {
        SignalCleanup.prepare()
        if let identity = FileIdentity(path: output), identity == FileIdentity(path: input) {
            throw ToolError(
                "\(output): is the input file \(input) itself; choose another OUT, "
                    + "so the results do not replace their input")
        }
        let problem = try BatchNormInputFile(path: input, settings: settings, options: options)
        let compression: NPZCompression = compressed ? .deflated : .stored
        let file = try AtomicOutput(destination: output)
        do {
            let writer = NPZWriter(
                fileDescriptor: file.descriptor, name: output,
                options: NPZWriteOptions(compression: compression, writesBehind: file.flushesOnCommit))
            try BatchNormResultFile.write(problem, to: writer, compression: compression, threads: settings.threads)
            try file.commit()
        } catch {
            file.abandon()
            throw error
        }
    }
}
