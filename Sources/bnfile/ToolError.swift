import ArgumentParser
import BatchNormFiles
import ExactBatchNorm
import NumPyFormat

/// A failure the user can act on: printed as one line, exit status 2.
///
/// Status 2 means "trouble" for every subcommand (as for cmp and h5diff), so that a
/// Makefile can tell it from `bnfile diff`'s 1, "the files differ".
struct ToolError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }

    /// The one line for any error bnfile's libraries throw.
    static func describe(_ error: Error) -> String {
        switch error {
        case let e as ToolError: return e.description
        case let e as BatchNormFileError: return e.description
        case let e as NumPyFormatError: return e.description(limitHint: e.limit.map(hint))
        case let e as BatchNormError: return e.description
        default: return String(describing: error)
        }
    }
}

/// How a bnfile user raises a bound the reader enforces (the library's own hint names
/// `NPYReadOptions`, which a command-line user cannot reach).
private func hint(_ limit: NumPyFormatError.Limit) -> String {
    switch limit {
    case .maxBytes: return "raise the limit with --max-bytes N if you trust this file"
    case .maxHeaderSize: return "numpy refuses such headers too (its max_header_size)"
    case .maxMembers: return "raise the limit with --max-members N if you trust this file"
    }
}

/// Prints `bnfile: error: ...` to standard error, as one line whatever names it holds.
func printError(_ message: String) {
    StandardError.write("\(ToolIdentity.name): error: \(escapingControlCharacters(message))\n")
}

enum StandardError {
    static func write(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = LibC.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
    }
}

/// Runs `body`, turning any error into the one-line message and exit status 2.
func exitingOnTrouble<R>(_ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch let e as ExitCode {
        throw e
    } catch {
        printError(ToolError.describe(error))
        throw ExitCode(2)
    }
}
