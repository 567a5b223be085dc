extension NPZWriter {
    /// Adds stored members whose data `fill` hands over in pieces, for arrays that are
    /// produced a block at a time and never held whole. Each member's pieces must come
    /// in order, but pieces of different members may interleave (as `out` and `dx` do
    /// when both are computed per block): the layout of every member is fixed in
    /// advance from its header, pieces are written at their place, and the CRCs are
    /// patched into the local headers at the end. Each member must be given exactly its
    /// size; `options.compression` does not apply.
    public func addStored(
        _ members: [(name: String, header: NPYArrayHeader)], fill: (inout StoredPieces) throws -> Void
    ) throws {
        var admitted: [(memberName: String, size: Int)] = []
        do {
            for (name, header) in members { admitted.append(try admit(name, header)) }
        } catch {
            // A refused member leaves no trace: the others' names stay free.
            for (name, _) in members.prefix(admitted.count) { arrayNames.remove(name) }
            bfloat16Names.removeAll { name in members.contains { $0.name == name } }
            throw error
        }
        try failing {
            var pieces = StoredPieces(output: output)
            let end = try layOut(
                zip(members, admitted).map { ($0.0.name, $0.0.header, $0.1.memberName, $0.1.size) },
                into: &pieces)
            try fill(&pieces)
            for member in pieces.members {
                guard member.next == member.end else {
                    throw NumPyFormatError(
                        .invalidRequest, file: output.name, member: member.entry.name, offset: member.next,
                        message:
                            "expected \(member.end - member.next) more bytes of data before the archive is finished")
                }
                var entry = member.entry
                entry.crc = member.crc
                try patchCRC(entry)
                entries.append(entry)
            }
            try output.seek(to: end)
        }
    }

    /// Writes each member's local header and .npy header where it goes and records
    /// where its data will; returns the offset after the last member.
    private func layOut(
        _ members: [(name: String, header: NPYArrayHeader, memberName: String, size: Int)],
        into pieces: inout StoredPieces
    ) throws -> Int {
        var offset = output.position
        for member in members {
            let npyHeader = NPYFile.encodeHeader(member.header)
            let size = npyHeader.count + member.size
            let entry = ZipEntry(
                writing: member.memberName, method: 0, crc: 0, compressedSize: size, uncompressedSize: size,
                localHeaderOffset: offset)
            let local = ZipWriter.localHeader(entry, zip64: size > ZipWriter.zip64Threshold, align: true)
            try (local + npyHeader).withUnsafeBytes { try output.write($0, at: offset) }
            let dataStart = offset + local.count + npyHeader.count
            let crc = npyHeader.withUnsafeBytes { CRC32.update(0, $0) }
            pieces.index[member.name] = pieces.members.count
            pieces.members.append(.init(entry: entry, next: dataStart, end: dataStart + member.size, crc: crc))
            offset = dataStart + member.size
        }
        return offset
    }

    /// The pieces of the members of one ``NPZWriter/addStored(_:fill:)`` call, each
    /// addressed by its array name.
    public struct StoredPieces {
        struct Member {
            var entry: ZipEntry
            var next: Int
            var end: Int
            var crc: UInt32
        }

        let output: FileOutput
        var members: [Member] = []
        var index: [String: Int] = [:]

        /// Writes the next `bytes` of the member for array `name`.
        public mutating func write(_ bytes: UnsafeRawBufferPointer, to name: String) throws {
            guard let position = index[name] else {
                throw NumPyFormatError(
                    .invalidRequest, file: output.name, member: name + ".npy",
                    message: "expected one of the arrays being added (\(NPZArchive.listing(index.keys.sorted()))), "
                        + "got '\(name)'")
            }
            let member = members[position]
            guard bytes.count <= member.end - member.next else {
                throw NumPyFormatError(
                    .invalidRequest, file: output.name, member: member.entry.name, offset: member.next,
                    message: "expected at most \(member.end - member.next) more bytes of data, got \(bytes.count)")
            }
            try output.write(bytes, at: member.next)
            members[position].crc = CRC32.update(member.crc, bytes)
            members[position].next += bytes.count
        }
    }
}
