import NumPyFormat
import TestSupport
import Testing

@Suite struct NPYConversionTests {
    func array(_ descr: String, shape: [Int], fortran: Bool = false, bytes: [UInt8]) throws -> NPYArray {
        try NPYArray(
            header: NPYArrayHeader(dtype: NPYDType(descr: descr), shape: shape, fortranOrder: fortran), bytes: bytes)
    }

    @Test func byteSwapsBigEndian() throws {
        let a = try array(">i4", shape: [2], bytes: [0, 0, 1, 2, 0xff, 0xff, 0xff, 0xfe])
        #expect(try a.elements(as: Int32.self) == [0x102, -2])
        #expect(try a.elements(as: Int64.self) == [0x102, -2])
        #expect(try a.elements(as: Double.self) == [258, -2])
        #expect(!a.isDirectlyUsable(as: Int32.self))
        let f = try array(">f4", shape: [1], bytes: [0x3f, 0xc0, 0, 0])
        #expect(try f.elements(as: Float.self) == [1.5])
        #expect(try f.withUnsafeElements(as: Double.self) { Array($0) } == [1.5])
    }

    @Test func reordersFortranToC() throws {
        // Fortran order of [[0,1,2],[3,4,5]] is 0,3,1,4,2,5.
        let a = try NPYArray([Int16(0), 3, 1, 4, 2, 5], shape: [2, 3], fortranOrder: true)
        #expect(try a.elements(as: Int16.self) == [0, 1, 2, 3, 4, 5])
        #expect(try a.withUnsafeElements(as: Int16.self) { Array($0) } == [0, 1, 2, 3, 4, 5])
        #expect(!a.isDirectlyUsable(as: Int16.self))
        // Rank 3: element (i,j,k) of shape (2,3,4) sits at i + 2j + 6k in Fortran order.
        var fortranData = [Int32](repeating: 0, count: 24)
        for i in 0..<2 {
            for j in 0..<3 { for k in 0..<4 { fortranData[i + 2 * j + 6 * k] = Int32(100 * i + 10 * j + k) } }
        }
        let b = try NPYArray(fortranData, shape: [2, 3, 4], fortranOrder: true)
        var expected: [Int64] = []
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 { expected.append(Int64(100 * i + 10 * j + k)) } } }
        #expect(try b.elements(as: Int64.self) == expected)
    }

    @Test func widens() throws {
        let half = try NPYArray([Float16(0.5), Float16(-3)])
        #expect(try half.elements(as: Float.self) == [0.5, -3])
        #expect(try half.elements(as: Double.self) == [0.5, -3])
        let u8 = try NPYArray([UInt8(200), 7])
        #expect(try u8.elements(as: Int16.self) == [200, 7])
        #expect(try u8.elements(as: Float16.self) == [200, 7])
        let bools = try NPYArray([true, false])
        #expect(try bools.elements(as: Int32.self) == [1, 0])
        #expect(try bools.elements(as: Bool.self) == [true, false])
        let f = try NPYArray([Float(2)])
        #expect(try f.elements(as: NPYComplex128.self) == [NPYComplex128(2, 0)])
        let c = try array(">c8", shape: [1], bytes: [0x3f, 0xc0, 0, 0, 0xbf, 0x80, 0, 0])
        #expect(try c.elements(as: NPYComplex128.self) == [NPYComplex128(1.5, -1)])
    }

    @Test(arguments: [
        ("<i8", "Double"), ("<f8", "Float"), ("<i4", "Float"), ("<u1", "Int8"), ("<i1", "UInt64"),
        ("<c8", "Double"), ("<f4", "Int64"), ("<i2", "Float16"), ("<i4", "Bool"),
    ])
    func refusesLossyConversions(descr: String, target: String) throws {
        let dtype = try NPYDType(descr: descr)
        let a = try NPYArray(
            header: NPYArrayHeader(dtype: dtype, shape: [1]), bytes: [UInt8](repeating: 0, count: dtype.itemSize))
        let error = formatError {
            switch target {
            case "Double": _ = try a.elements(as: Double.self)
            case "Float": _ = try a.elements(as: Float.self)
            case "Int8": _ = try a.elements(as: Int8.self)
            case "UInt64": _ = try a.withUnsafeElements(as: UInt64.self) { _ in 0 }
            case "Int64": _ = try a.elements(as: Int64.self)
            case "Float16": _ = try a.elements(as: Float16.self)
            default: _ = try a.elements(as: Bool.self)
            }
        }
        #expect(error?.message.contains("cannot read \(dtype.descr)") == true, "\(String(describing: error))")
        #expect(error?.message.contains(target) == true)
    }

    @Test func zeroCopyWhenNativeAndAligned() throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let path = directory.path("f.npy")
        try NPYFile.write(try NPYArray((0..<1000).map(Float.init), shape: [10, 100]), to: path)
        let array = try NPYFile.read(path: path)
        #expect(array.isDirectlyUsable(as: Float.self))
        let sameMemory = try array.withUnsafeElements(as: Float.self) { elements in
            array.withUnsafeBytes { $0.baseAddress == UnsafeRawPointer(elements.baseAddress) }
        }
        #expect(sameMemory)
        #expect(try array.withUnsafeElements(as: Float.self) { $0[999] } == 999)
    }
}
