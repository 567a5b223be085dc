/// The one error type the library throws.
///
/// Every failure names the file, the archive member when there is one, and the byte
/// offset where the problem was found, because a user holding a corrupt 4 GB archive
/// needs to know *where* to look, not just that something is wrong.
public struct NumPyFormatError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Where `offset` is counted from.
    public enum OffsetSpace: Sendable, Equatable {
        /// Bytes from the start of the file on disk.
        case file
        /// Bytes from the start of a deflated member's inflated data: a position in the
        /// compressed file would be meaningless to the reader of the message.
        case inflatedMember
    }

    /// A configurable bound of `NPYReadOptions` that the file exceeded.
    ///
    /// Kept apart from the message so that a tool can tell its own user how to raise the
    /// bound (a command-line flag, say) instead of naming a library property.
    public enum Limit: String, Sendable, Equatable {
        case maxBytes, maxHeaderSize, maxMembers
    }

    public var file: String
    public var member: String?
    public var offset: Int?
    public var offsetSpace: OffsetSpace
    public var message: String
    /// Set when the failure is a bound being exceeded rather than the file being wrong.
    public var limit: Limit?

    public init(
        file: String, member: String? = nil, offset: Int? = nil,
        offsetSpace: OffsetSpace = .file, message: String, limit: Limit? = nil
    ) {
        self.file = file
        self.member = member
        self.offset = offset
        self.offsetSpace = offsetSpace
        self.message = message
        self.limit = limit
    }

    /// One line: `file: member 'x.npy': offset 1234: message`, and for an exceeded
    /// bound, how to raise it through `NPYReadOptions`. Control characters in names
    /// are escaped, so it stays one line whatever the file calls its members.
    public var description: String {
        description(limitHint: limit.map { "raise NPYReadOptions.\($0.rawValue) if you trust this file" })
    }

    /// The one-line description with `limitHint` (when not nil) saying how to raise the
    /// exceeded bound.
    public func description(limitHint: String?) -> String {
        var parts = [file]
        if let member { parts.append("member '\(member)'") }
        if let offset {
            parts.append(offsetSpace == .file ? "offset \(offset)" : "inflated offset \(offset)")
        }
        parts.append(message + (limitHint.map { "; " + $0 } ?? ""))
        return escapingControlCharacters(parts.joined(separator: ": "))
    }
}

/// Where a reader is working, so that every error it raises carries the same file and
/// member names and a correct absolute offset without each call site repeating them.
struct ErrorContext: Sendable {
    var file: String
    var member: String? = nil
    /// Added to positions relative to the bytes being parsed (e.g. a stored member's
    /// payload starts at `base` in the archive).
    var base: Int = 0
    var offsetSpace: NumPyFormatError.OffsetSpace = .file

    func error(at position: Int?, _ message: String, limit: NumPyFormatError.Limit? = nil) -> NumPyFormatError {
        NumPyFormatError(
            file: file, member: member, offset: position.map { base + $0 },
            offsetSpace: offsetSpace, message: message, limit: limit)
    }

    func error(_ message: String) -> NumPyFormatError {
        error(at: nil, message)
    }

    /// The same context for the bytes of one member whose first byte is at `base`.
    func member(_ name: String, base: Int, space: NumPyFormatError.OffsetSpace) -> ErrorContext {
        ErrorContext(file: file, member: name, base: base, offsetSpace: space)
    }
}
