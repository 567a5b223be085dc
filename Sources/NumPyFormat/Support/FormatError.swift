/// The one error type the library throws.
///
/// Every failure names the file, the archive member when there is one, and the byte
/// offset where the problem was found, because a user holding a corrupt 4 GB archive
/// needs to know *where* to look, not just that something is wrong. `kind` says what
/// went wrong in a form a caller can `switch` on, with the figures that matter (what
/// was expected, what was found); `message` says it in words, and `description` is the
/// one line a tool prints.
public struct NumPyFormatError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, for callers that act on it.
    public enum Kind: Sendable, Equatable {
        /// The system refused an operation on the file (open, map, write); the message
        /// holds its reason.
        case system
        /// The bytes are not an .npy file or a zip archive at all.
        case wrongFormat
        /// The bytes end before what the headers declare: `expected` bytes of a
        /// structure or of data, of which `found` exist.
        case truncated(expected: Int, found: Int)
        /// A header, record or field that does not follow the format.
        case malformed
        /// Valid numpy or zip, but a feature this library does not read: object,
        /// structured and datetime dtypes, encryption, other compression methods,
        /// multi-disk archives.
        case unsupported
        /// Records that contradict each other: a local header against the central
        /// directory, sizes against a stream, names given twice.
        case inconsistent
        /// The data does not have the CRC-32 it declares.
        case checksumMismatch(expected: UInt32, found: UInt32)
        /// Bytes that fail their own checks: corrupt deflate data, bool bytes other than
        /// 0 and 1, text that is not Unicode.
        case corruptData
        /// A structure of the shape used to exhaust readers: a member declaring more than
        /// deflate can produce, inflating past its declared size, overlapping members.
        case hostile
        /// A configurable bound of `NPYReadOptions` exceeded: its value and what the
        /// file needed.
        case limitExceeded(Limit, maximum: Int, found: Int)
        /// The elements cannot be read as the type asked for without losing values (or
        /// at all: strings and raw bytes).
        case lossyConversion(from: NPYDType)
        /// The archive has no array of this name.
        case missingArray(String)
        /// A request the library refuses: a dtype or shape that cannot exist, a writer
        /// used after it finished or failed, data of the wrong size.
        case invalidRequest
    }

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
    /// Named apart from the message so that a tool can tell its own user how to raise the
    /// bound (a command-line flag, say) instead of naming a library property.
    public enum Limit: String, Sendable, Equatable {
        case maxBytes, maxHeaderSize, maxMembers
    }

    public var kind: Kind
    /// The file, or empty for an error about no file (a dtype built in code).
    public var file: String
    public var member: String?
    public var offset: Int?
    public var offsetSpace: OffsetSpace
    public var message: String

    /// The bound exceeded, when the failure is a bound rather than the file being wrong.
    // Not inlined into callers: Swift 6.3's optimizer, inlining this match into a
    // caller's `as` cast (bnfile's ToolError), fails its own ownership check and crashes.
    @inline(never)
    public var limit: Limit? {
        switch kind {
        case .limitExceeded(let limit, _, _): limit
        default: nil
        }
    }

    public init(
        _ kind: Kind, file: String, member: String? = nil, offset: Int? = nil,
        offsetSpace: OffsetSpace = .file, message: String
    ) {
        self.kind = kind
        self.file = file
        self.member = member
        self.offset = offset
        self.offsetSpace = offsetSpace
        self.message = message
    }

    /// An error about no file: a dtype or value built in code. Readers that meet it
    /// in a file rethrow it with the file and offset (`ErrorContext.error(_:at:)`).
    init(_ kind: Kind, _ message: String) {
        self.init(kind, file: "", message: message)
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
        var parts = file.isEmpty ? [] : [file]
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

    func error(_ kind: NumPyFormatError.Kind, at position: Int?, _ message: String) -> NumPyFormatError {
        NumPyFormatError(
            kind, file: file, member: member, offset: position.map { base + $0 }, offsetSpace: offsetSpace,
            message: message)
    }

    func error(_ kind: NumPyFormatError.Kind, _ message: String) -> NumPyFormatError {
        error(kind, at: nil, message)
    }

    /// `error`, which arose outside any file (a dtype), placed at `position` here.
    func placing(_ error: NumPyFormatError, at position: Int?) -> NumPyFormatError {
        self.error(error.kind, at: position, error.message)
    }

    /// The same context for the bytes of one member whose first byte is at `base`.
    func member(_ name: String, base: Int, space: NumPyFormatError.OffsetSpace) -> ErrorContext {
        ErrorContext(file: file, member: name, base: base, offsetSpace: space)
    }
}
