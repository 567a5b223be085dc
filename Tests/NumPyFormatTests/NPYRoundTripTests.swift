import NumPyFormat
import TestSupport
import Testing

let allDescrs = [
    "|b1", "|i1", "|u1", "<i2", "<i4", "<i8", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8", "<c8", "<c16",
]

let sampleShapes: [[Int]] = [
    [], [0], [7], [2, 3], [3, 0, 2], [2, 3, 4],
    Array(repeating: 1, count: 29) + [2, 1, 3],  // rank 32
]

/// Deterministic bytes that are valid for every dtype (bools need 0/1).
func patternBytes(count: Int, dtype: NPYDType) -> [UInt8] {
    let isBool = dtype.kind == .bool
    return (0..<count).map { (i: Int) -> UInt8 in
        if isBool { return i % 3 == 0 ? 1 : 0 }
        return UInt8((i * 37 + 11) % 251)
    }
}

@Suite struct NPYRoundTripTests {
    @Test(arguments: allDescrs)
    func everyDTypeOrderAndRankRoundTrips(descr: String) throws {
        let directory = try ScratchFolder()
        defer { directory.cleanup() }
        let base = try NPYDType(descr: descr)
        for order in [NPYDType.ByteOrder.little, .big] {
            for fortran in [false, true] {
                for shape in sampleShapes {
                    let header = NPYArrayHeader(dtype: base.withByteOrder(order), shape: shape, fortranOrder: fortran)
                    let data = patternBytes(count: header.byteCount!, dtype: base)
                    let array = try NPYArray(header: header, bytes: data)
                    let path = directory.path("a.npy")
                    try NPYFile.write(array, to: path)
                    let back = try NPYFile.read(path: path)
                    #expect(back.header.dtype == header.dtype)
                    #expect(back.shape == shape)
                    #expect(back.fortranOrder == fortran)
                    #expect(back.header.version == .v1)
                    #expect(back.bytes == data)
                    #expect(back.isMemoryMapped)
                    let fromMemory = try NPYFile.read(bytes: NPYFile.encode(array))
                    #expect(fromMemory.bytes == data)
                }
            }
        }
    }

    @Test func typedArraysRoundTrip() throws {
        let values: [Float] = [1.5, -2, .infinity, 0, 3.25, .nan]
        let array = try NPYArray(values, shape: [2, 3])
        let back = try NPYFile.read(bytes: NPYFile.encode(array))
        let read = try back.elements(as: Float.self)
        #expect(read.count == 6)
        #expect(zip(read, values).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
        let scalar = try NPYArray([Int64(42)], shape: [])
        #expect(try NPYFile.read(bytes: NPYFile.encode(scalar)).elements(as: Int64.self) == [42])
        let empty = try NPYArray([Double](), shape: [0, 4])
        #expect(try NPYFile.read(bytes: NPYFile.encode(empty)).elements(as: Double.self) == [])
        let complex = try NPYArray([NPYComplex128(1, -1), NPYComplex128(0.5, 2)])
        #expect(
            try NPYFile.read(bytes: NPYFile.encode(complex)).elements(as: NPYComplex128.self)
                == [NPYComplex128(1, -1), NPYComplex128(0.5, 2)])
    }

    @Test func writingChecksDataSize() throws {
        let header = NPYArrayHeader(dtype: .native(Float.self), shape: [3])
        let error = formatError { _ = try NPYArray(header: header, bytes: [0, 0, 0, 0]) }
        #expect(error?.message.contains("expected 12 bytes") == true)
        let negative = formatError { _ = try NPYArray([Float](), shape: [-1]) }
        #expect(negative?.message.contains("non-negative") == true)
    }
}
