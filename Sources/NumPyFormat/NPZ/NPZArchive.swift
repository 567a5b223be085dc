/// A read-only .npz archive, memory-mapped.
///
/// Opening reads only the central directory and each member's local header (validating
/// both); no member data is touched until `array(named:)` asks for it. Stored members
/// are then used in place from the mapping; deflated ones are inflated into a buffer of
/// their declared, limit-checked size.
public final class NPZArchive: Sendable {
    public let path: String
    public let options: NPYReadOptions
    /// Members in archive (central directory) order.
    public let members: [NPZMember]
    let file: MappedFile
    private let index: [String: Int]
    /// The names the archive's `bfloat16` member lists, or nil when it has none (or
    /// `options.readsBFloat16Declaration` is off); see `NPZBFloat16Declaration`.
    public let bfloat16Declaration: [String]?

    /// The arrays the archive itself declares bfloat16.
    public var declaredBFloat16: Set<String> { Set(bfloat16Declaration ?? []) }

    /// The array names, in archive order.
    public var names: [String] { members.map(\.name) }

    /// The array names without the `bfloat16` declaration member, if there is one: the
    /// arrays that hold data.
    public var dataNames: [String] {
        hasBFloat16Declaration ? names.filter { $0 != NPZBFloat16Declaration.arrayName } : names
    }

    /// Whether the archive carries a `bfloat16` declaration that this reader honours.
    public var hasBFloat16Declaration: Bool { bfloat16Declaration != nil }

    /// The arrays read as bfloat16: declared by the archive or by `options.bfloat16Arrays`.
    public var bfloat16Names: Set<String> {
        declaredBFloat16.union(options.bfloat16Arrays.filter { index[$0] != nil })
    }

    public init(path: String, options: NPYReadOptions = NPYReadOptions()) throws {
        self.path = path
        self.options = options
        file = try MappedFile(path: path)
        let zip = ZipBytes(bytes: file.bytes, context: ErrorContext(file: path))
        let location = try ZipCentralDirectory.locate(zip)
        try NPZBounds.checkMemberCount(location.entryCount, options: options, at: location.offset, context: zip.context)
        let entries = try ZipCentralDirectory.entries(zip, location)
        var members: [NPZMember] = []
        var index: [String: Int] = [:]
        var memberNames: Set<String> = []
        for entry in entries {
            let context = ErrorContext(file: path, member: entry.name)
            guard memberNames.insert(entry.name).inserted else {
                throw context.error(
                    .inconsistent, at: entry.recordOffset, "expected unique member names, found this name twice")
            }
            let member = try Self.member(
                entry, in: ZipBytes(bytes: file.bytes, context: context), dataLimit: location.offset)
            if let previous = index[member.name] {
                throw context.error(
                    .inconsistent, at: entry.recordOffset,
                    "expected unique array names, but this member and '\(members[previous].memberName)' "
                        + "both name array '\(member.name)'")
            }
            index[member.name] = members.count
            members.append(member)
        }
        try NPZBounds.checkNoOverlap(members, context: zip.context)
        self.members = members
        self.index = index
        let (path, file) = (self.path, self.file)
        bfloat16Declaration = try NPZBFloat16Declaration.read(
            names: members.map(\.name), options: options,
            load: { name in try index[name].map { try Self.load(members[$0], file: file, path: path, options: options) }
            })
    }

    /// The member `entry` describes, once its flags, method and sizes are ones this
    /// reader takes and its local header agrees; its data must end by `dataLimit`.
    private static func member(_ entry: ZipEntry, in zip: ZipBytes, dataLimit: Int) throws -> NPZMember {
        if entry.flags & (ZipFlag.encrypted | ZipFlag.strongEncryption) != 0 {
            throw zip.context.error(
                .unsupported, at: entry.recordOffset + 8,
                "expected an unencrypted member, found the encryption flag set")
        }
        let storage: NPZStorage
        switch entry.method {
        case 0: storage = .stored
        case 8: storage = .deflated
        default:
            throw zip.context.error(
                .unsupported, at: entry.recordOffset + 10,
                "expected compression method 0 (stored) or 8 (deflated), found \(entry.method)")
        }
        if storage == .stored && entry.compressedSize != entry.uncompressedSize {
            throw zip.context.error(
                .inconsistent, at: entry.recordOffset + 20,
                "expected a stored member's compressed and uncompressed sizes to be equal, "
                    + "found \(entry.compressedSize) and \(entry.uncompressedSize)")
        }
        let dataOffset = try ZipLocalHeader.dataOffset(for: entry, in: zip, limit: dataLimit)
        return NPZMember(
            name: NPZMember.arrayName(forMember: entry.name), memberName: entry.name, storage: storage,
            compressedSize: entry.compressedSize, uncompressedSize: entry.uncompressedSize,
            crc32: entry.crc, localHeaderOffset: entry.localHeaderOffset, dataOffset: dataOffset)
    }

    public func member(named name: String) -> NPZMember? {
        index[name].map { members[$0] }
    }

    /// Loads one array: verifies its CRC-32 (unless turned off), inflates it if deflated,
    /// and parses its .npy payload. Stored members' data stays in the mapped file.
    public func array(named name: String) throws -> NPYArray {
        try typed(load(existingMember(named: name)), name: name)
    }

    /// The member of array `name`, or the error that names the arrays there are.
    func existingMember(named name: String) throws -> NPZMember {
        guard let member = member(named: name) else {
            throw NumPyFormatError(
                .missingArray(name),
                file: path,
                message: "expected an array named '\(name)', found only: \(Self.listing(names))")
        }
        return member
    }

    /// The array as bfloat16 if it is declared so, else as stored.
    private func typed(_ array: NPYArray, name: String) throws -> NPYArray {
        isReadAsBFloat16(name, array.dtype) ? try array.declaredBFloat16() : array
    }

    /// Whether array `name`, stored as `dtype`, is read as bfloat16: the archive declares
    /// it, or the options name it and it is raw bytes.
    func isReadAsBFloat16(_ name: String, _ dtype: NPYDType) -> Bool {
        bfloat16Declaration?.contains(name) == true || (options.bfloat16Arrays.contains(name) && dtype.kind == .void)
    }

    /// Names for a message, quoted; the first few only, so an archive of thousands of
    /// members still gets a one-line message a person can read.
    static func listing(_ names: [String], limit: Int = 20) -> String {
        let shown = names.prefix(limit).map { "'\($0)'" }.joined(separator: ", ")
        return names.count > limit ? shown + " and \(names.count - limit) more" : shown
    }

    /// Loads every array, in archive order.
    public func arrays() throws -> [(name: String, array: NPYArray)] {
        try members.map { ($0.name, try typed(load($0), name: $0.name)) }
    }

    /// The error for a member whose data does not have the CRC-32 it declares.
    static func crcMismatch(_ member: NPZMember, found crc: UInt32, context: ErrorContext) -> NumPyFormatError {
        context.error(
            .checksumMismatch(expected: member.crc32, found: crc),
            at: member.dataOffset,
            "expected CRC-32 0x\(hex(member.crc32, digits: 8)) as declared, "
                + "found 0x\(hex(crc, digits: 8)) in the member's data: the data is corrupt")
    }

    private func load(_ member: NPZMember) throws -> NPYArray {
        try Self.load(member, file: file, path: path, options: options)
    }

    private static func load(_ member: NPZMember, file: MappedFile, path: String, options: NPYReadOptions) throws
        -> NPYArray
    {
        let context = ErrorContext(file: path, member: member.memberName)
        let compressed = UnsafeRawBufferPointer(
            rebasing: file.bytes[member.dataOffset..<(member.dataOffset + member.compressedSize)])
        let storage: ByteStorage
        let payloadContext: ErrorContext
        let crc: UInt32?
        switch member.storage {
        case .stored:
            storage = ByteStorage(mapping: file)
            payloadContext = context.member(member.memberName, base: member.dataOffset, space: .file)
            crc = options.verifyCRC ? CRC32.checksum(compressed) : nil
        case .deflated:
            try NPZBounds.checkInflatedSize(member, options: options, context: context)
            var inflatedCRC: UInt32 = 0
            let refused = {
                context.error(
                    .system,
                    at: member.dataOffset,
                    "cannot allocate the \(member.uncompressedSize) bytes the member declares: out of memory")
            }
            storage = try ByteStorage.allocate(count: member.uncompressedSize, refused: refused) { output in
                inflatedCRC = try Inflate.inflate(
                    compressed, into: output, context: context, inputOffset: member.dataOffset)
            }
            payloadContext = context.member(member.memberName, base: 0, space: .inflatedMember)
            crc = options.verifyCRC ? inflatedCRC : nil
        }
        if let crc, crc != member.crc32 { throw crcMismatch(member, found: crc, context: context) }
        let checksum: NPYChecksumStatus = crc == nil ? .notChecked : .verified
        if member.storage == .stored {
            return try NPYArray.parse(
                view: storage, offset: member.dataOffset, count: member.compressedSize,
                checksum: checksum, options: options, context: payloadContext)
        }
        return try NPYArray.parse(storage: storage, checksum: checksum, options: options, context: payloadContext)
    }
}
