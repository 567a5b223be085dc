/// A problem with the files given to bnfile that the user can act on: a missing key, a
/// shape that does not fit, settings that disagree. Its description is one line that
/// names the file; the command-line tool prints it and exits with status 2.
public struct BatchNormFileError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) { self.description = description }
}
