extension NPZArchive {
    /// Array `name` as a stream of pieces (``NPYArrayStream``): its header now, its
    /// elements a buffer at a time, so an array of any size, stored or deflated, is read
    /// in bounded memory. The same checks as ``array(named:)``, except `maxBytes`: a
    /// stream never allocates what a member declares, so only deflate's own limit on how
    /// far compressed bytes can inflate applies.
    public func arrayStream(named name: String) throws -> NPYArrayStream {
        let member = try existingMember(named: name)
        let context = ErrorContext(file: path, member: member.memberName)
        let range = member.dataOffset..<(member.dataOffset + member.compressedSize)
        let file = self.file
        let open: () throws -> PayloadReader
        let payloadContext: ErrorContext
        switch member.storage {
        case .stored:
            open = { PayloadReader(file: file, stored: range) }
            payloadContext = context.member(member.memberName, base: member.dataOffset, space: .file)
        case .deflated:
            try NPZBounds.checkInflationRatio(member, context: context)
            open = {
                try PayloadReader(file: file, deflated: range, declaredSize: member.uncompressedSize, context: context)
            }
            payloadContext = context.member(member.memberName, base: 0, space: .inflatedMember)
        }
        let source = NPYArrayStream.Source(
            open: open, expectedCRC: options.verifyCRC ? member.crc32 : nil,
            mismatch: { Self.crcMismatch(member, found: $0, context: context) })
        let bfloat16 = { (dtype: NPYDType) in self.isReadAsBFloat16(name, dtype) }
        return try NPYArrayStream(
            source, checksum: options.verifyCRC ? .verified : .notChecked, options: options, context: payloadContext,
            retype: { header, dataContext in
                bfloat16(header.dtype) ? try header.declaredBFloat16(context: dataContext) : header
            })
    }
}
