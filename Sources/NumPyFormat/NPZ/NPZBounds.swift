/// The checks that keep a hostile .npz from costing more than its own size in memory
/// and time: how many members it may have, that members do not share bytes, and how far
/// a deflated member may inflate.
///
/// With all three, the bytes a reader can be made to produce are bounded by
/// `maxDeflateRatio` times the file size (each compressed byte belongs to one member
/// only) and by `maxBytes` per member, and the work done at open by `maxMembers`.
enum NPZBounds {
    /// Deflate's largest possible expansion: a 258-byte match coded in 2 bits is 1032
    /// output bytes per input byte. A member declaring more than this many times its
    /// compressed size cannot be honest, so it is refused before anything is allocated.
    static let maxDeflateRatio = 1032

    /// Refuses an archive with more entries than `options.maxMembers`, before the
    /// central directory is parsed.
    static func checkMemberCount(_ count: Int, options: NPYReadOptions, at offset: Int, context: ErrorContext) throws {
        guard count <= options.maxMembers else {
            throw context.error(
                .limitExceeded(.maxMembers, maximum: options.maxMembers, found: count),
                at: offset,
                "expected at most \(options.maxMembers) members (maxMembers), found \(count) in the central directory")
        }
    }

    /// Refuses members whose bytes overlap another member's. Pointing many central
    /// directory entries at one compressed stream is how non-recursive zip bombs
    /// multiply a small file's output (Python's zipfile refuses them too); legitimate
    /// archives never share bytes between members. Sorting makes it O(n log n).
    static func checkNoOverlap(_ members: [NPZMember], context: ErrorContext) throws {
        let ordered = members.sorted { $0.localHeaderOffset < $1.localHeaderOffset }
        for (previous, next) in zip(ordered, ordered.dropFirst()) {
            let previousEnd = previous.dataOffset + previous.compressedSize
            guard previousEnd <= next.localHeaderOffset else {
                throw ErrorContext(file: context.file, member: next.memberName).error(
                    .hostile,
                    at: next.localHeaderOffset,
                    "expected members to occupy separate bytes, but this member's local header lies inside "
                        + "member '\(previous.memberName)' (bytes \(previous.localHeaderOffset)..<\(previousEnd)): "
                        + "overlapping members (a zip bomb technique)")
            }
        }
    }

    /// Refuses a deflated member whose declared size is over `options.maxBytes` (by
    /// default no more than the physical memory, so a member the machine cannot hold is
    /// refused before inflating, not swapped or killed for) or beyond what its
    /// compressed bytes could possibly inflate to.
    static func checkInflatedSize(_ member: NPZMember, options: NPYReadOptions, context: ErrorContext) throws {
        try checkInflationRatio(member, context: context)
        guard member.uncompressedSize <= options.maxBytes else {
            let memory = options.maxBytes == PhysicalMemory.bytes ? ", the machine's physical memory" : ""
            throw context.error(
                .limitExceeded(.maxBytes, maximum: options.maxBytes, found: member.uncompressedSize),
                at: member.dataOffset,
                "expected at most \(options.maxBytes) bytes once inflated (maxBytes\(memory)), "
                    + "but the member declares \(member.uncompressedSize)")
        }
    }

    /// Refuses a deflated member that declares more than its compressed bytes could
    /// possibly inflate to. A member read in pieces is held to this alone: it never
    /// needs memory for its declared size, so `maxBytes` does not apply to it.
    static func checkInflationRatio(_ member: NPZMember, context: ErrorContext) throws {
        let possible = CheckedArithmetic.multiply(member.compressedSize, maxDeflateRatio) ?? Int.max
        guard member.uncompressedSize <= possible else {
            throw context.error(
                .hostile,
                at: member.dataOffset,
                "expected at most \(possible) bytes once inflated (\(maxDeflateRatio) times the "
                    + "\(member.compressedSize) compressed bytes, deflate's limit), but the member declares "
                    + "\(member.uncompressedSize): a lying header or zip bomb")
        }
    }
}
