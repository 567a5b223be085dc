import NumPyFormat
import Testing

@Suite struct DTypeTests {
    @Test(arguments: [
        "|b1", "|i1", "|u1", "<i2", ">i2", "<i4", ">i4", "<i8", ">i8", "<u2", ">u2", "<u4", ">u4", "<u8",
        ">u8", "<f2", ">f2", "<f4", ">f4", "<f8", ">f8", "<c8", ">c8", "<c16", ">c16",
    ])
    func descrRoundTrips(descr: String) throws {
        #expect(try NPYDType(descr: descr).descr == descr)
    }

    @Test func oneByteTypesHaveNoByteOrder() throws {
        #expect(try NPYDType(descr: "<i1") == NPYDType(descr: "|i1"))
        #expect(try NPYDType(descr: "b1").descr == "|b1")
        #expect(try NPYDType(descr: "=f4") == NPYDType.native(Float.self))
    }

    @Test(arguments: [
        ("|O", "object"), ("<q9", "unknown"), ("<f1", "unknown"), ("", "empty"), ("<Vx", "size after 'V'"),
        ("<M8[ns]", "datetime"), ("|f4", "byte order"), ("f4", "byte order"),
        ("<f16", "unknown"),
    ])
    func refusesUnsupported(descr: String, phrase: String) {
        do {
            _ = try NPYDType(descr: descr)
            Issue.record("accepted \(descr)")
        } catch {
            #expect(error.message.contains(phrase), "\(error.message)")
        }
    }

    @Test func nativeDTypes() {
        #expect(NPYDType.native(Float.self).descr == "<f4")
        #expect(NPYDType.native(Double.self).descr == "<f8")
        #expect(NPYDType.native(Float16.self).descr == "<f2")
        #expect(NPYDType.native(Bool.self).descr == "|b1")
        #expect(NPYDType.native(Int8.self).descr == "|i1")
        #expect(NPYDType.native(UInt64.self).descr == "<u8")
        #expect(NPYDType.native(NPYComplex64.self).descr == "<c8")
        #expect(NPYDType.native(NPYComplex128.self).descr == "<c16")
    }
}

@Suite struct DTypeConstructionTests {
    @Test func byteOrderIsNormalised() throws {
        #expect(try NPYDType(kind: .signedInteger, itemSize: 1, byteOrder: .big).descr == "|i1")
        #expect(try NPYDType(kind: .float, itemSize: 4, byteOrder: .notApplicable) == NPYDType.native(Float.self))
        #expect(try NPYDType(kind: .bytes, itemSize: 4, byteOrder: .little).descr == "|S4")
        #expect(try NPYDType(kind: .unicode, itemSize: 0, byteOrder: .big).descr == ">U0")
        #expect(throws: NumPyFormatError.self) { try NPYDType(kind: .unicode, itemSize: 6) }
    }
}
