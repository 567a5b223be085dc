import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// `bnfile diff` promises cmp's and h5diff's exit statuses: 0 same, 1 differ, 2 trouble.
/// ArgumentParser exits with 64 (EX_USAGE) on a bad flag, which a script testing
/// "status 1 means the files differ, anything else is trouble" would survive, but one
/// testing `== 2` would not. So a usage error of `bnfile diff` exits with 2.
///
/// Only diff's usage errors are remapped: `run` and `inspect` keep ArgumentParser's
/// behaviour until their owners decide. (Applying this to every subcommand belongs in
/// BNFile.swift.)
extension BNFile {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            if arguments.first == "diff",
               exitCode(for: error) == .validationFailure {
                printError(message(for: error))
                StandardError.write("See 'bnfile diff --help'.\n")
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }
}
