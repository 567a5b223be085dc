/// Reading and building arrays of numpy's fixed-width strings (`<U4`, `|S4`).
///
/// numpy hands an item to Python with its trailing NULs removed, and only those: a NUL
/// inside the text stays. Reading here does the same, so `["x", "dout"]` saved as `<U4`
/// comes back as `["x", "dout"]`, and a string that itself ends in NULs loses them, as it
/// does in numpy.
extension NPYArray {
    /// An array of zero-byte items (`<U0`, `|S0`) holds no bytes whatever its shape, so
    /// the bytes present cannot bound how many strings `strings()` would make. numpy
    /// itself never writes such arrays; beyond this many items they are refused.
    public static let maxEmptyStringItems = 1 << 24

    /// The items of a unicode or bytes array as strings, in C (row-major) order, trailing
    /// NULs removed. Unicode items must hold Unicode scalar values (no surrogates, nothing
    /// above U+10FFFF); bytes items must be UTF-8 (ASCII in practice). Anything else is
    /// refused with the offset of the first bad code unit or byte.
    public func strings() throws -> [String] {
        try storageToCOrder(strings(numberingFrom: 0))
    }

    /// The items in storage order; messages number them from `firstItem`, the index of
    /// this array's first item in a larger one it is a piece of (`NPYArrayPiece`).
    func strings(numberingFrom firstItem: Int) throws -> [String] {
        try stringItems().map { item in
            dtype.kind == .unicode ? try unicodeItem(item, firstItem) : try utf8Item(item, firstItem)
        }
    }

    /// The items of a bytes (`|S`) array, in C order, trailing NULs removed.
    public func byteStrings() throws -> [[UInt8]] {
        guard dtype.kind == .bytes else {
            throw context.error(
                .lossyConversion(from: dtype),
                "expected a bytes string array (|S), found \(dtype.descr) (\(dtype.typeName))")
        }
        let items = try stringItems()
        return storageToCOrder(
            withUnsafeBytes { data in
                items.map { item in Array(data[item.offset..<(item.offset + trimmedLength(item, in: data))]) }
            })
    }

    /// A unicode array of `strings` (C order) with the dtype `np.array(strings)` gets:
    /// `<U{longest}` in this machine's byte order, at least `<U1`, lengths counted in
    /// Unicode scalars as Python counts them, every item padded with NULs.
    public init(strings: [String], shape: [Int]) throws {
        let scalars = strings.map { Array($0.unicodeScalars) }
        let length = max(1, scalars.map(\.count).max() ?? 0)
        let dtype = try Self.stringDType { () throws(NumPyFormatError) in try NPYDType.unicode(characters: length) }
        let header = try Self.stringHeader(dtype, shape: shape, count: strings.count)
        var units = [UInt32](repeating: 0, count: strings.count * length)
        for (i, item) in scalars.enumerated() {
            for (j, scalar) in item.enumerated() { units[i * length + j] = scalar.value }
        }
        self = try units.withUnsafeBytes { try NPYArray(header: header, copying: $0) }
    }

    /// A bytes array (`|S{longest}`, at least `|S1`) of `items` in C order, NUL-padded.
    public init(byteStrings items: [[UInt8]], shape: [Int]) throws {
        let length = max(1, items.map(\.count).max() ?? 0)
        let dtype = try Self.stringDType { () throws(NumPyFormatError) in try NPYDType(kind: .bytes, itemSize: length) }
        let header = try Self.stringHeader(dtype, shape: shape, count: items.count)
        var bytes = [UInt8](repeating: 0, count: items.count * length)
        for (i, item) in items.enumerated() {
            bytes.replaceSubrange((i * length)..<(i * length + item.count), with: item)
        }
        self = try NPYArray(header: header, bytes: bytes)
    }

    // MARK: Helpers

    /// One item's place in the data: byte offset and width.
    private struct StringItem {
        var offset: Int
        var width: Int
    }

    /// The items in storage order, after checking that this is a string array whose
    /// item count is reasonable.
    private func stringItems() throws -> [StringItem] {
        guard dtype.kind.isString else {
            throw context.error(
                .lossyConversion(from: dtype),
                "expected a string array (<U or |S), found \(dtype.descr) (\(dtype.typeName))")
        }
        let width = dtype.itemSize
        if width == 0 && count > Self.maxEmptyStringItems {
            throw context.error(
                .hostile,
                "refusing to make \(count) empty strings from a \(dtype.descr) array "
                    + "(at most \(Self.maxEmptyStringItems))")
        }
        return (0..<count).map { StringItem(offset: $0 * width, width: width) }
    }

    /// Bytes of `item` up to its last nonzero code unit.
    private func trimmedLength(_ item: StringItem, in data: UnsafeRawBufferPointer) -> Int {
        let unit = dtype.kind == .unicode ? 4 : 1
        var length = item.width
        while length >= unit {
            let last = data[(item.offset + length - unit)..<(item.offset + length)]
            if last.contains(where: { $0 != 0 }) { break }
            length -= unit
        }
        return length
    }

    private func unicodeItem(_ item: StringItem, _ firstItem: Int) throws -> String {
        try withUnsafeBytes { data in
            let swap = dtype.needsByteSwap
            var text = String.UnicodeScalarView()
            let length = trimmedLength(item, in: data)
            for position in stride(from: item.offset, to: item.offset + length, by: 4) {
                let raw = data.loadUnaligned(fromByteOffset: position, as: UInt32.self)
                let value = swap ? raw.byteSwapped : raw
                guard let scalar = Unicode.Scalar(value) else {
                    throw context.error(
                        .corruptData,
                        at: position,
                        "expected a Unicode code point in \(dtype.descr) item \(firstItem + position / max(item.width, 1)), "
                            + "found 0x\(hex(value, digits: 8))")
                }
                text.append(scalar)
            }
            return String(text)
        }
    }

    private func utf8Item(_ item: StringItem, _ firstItem: Int) throws -> String {
        try withUnsafeBytes { data in
            let bytes = data[item.offset..<(item.offset + trimmedLength(item, in: data))]
            var parser = Unicode.UTF8.ForwardParser()
            var iterator = bytes.makeIterator()
            var position = item.offset
            var text = String.UnicodeScalarView()
            while true {
                switch parser.parseScalar(from: &iterator) {
                case .valid(let encoded):
                    text.append(Unicode.UTF8.decode(encoded))
                    position += encoded.count
                case .emptyInput:
                    return String(text)
                case .error:
                    throw context.error(
                        .corruptData,
                        at: position,
                        "expected UTF-8 text in \(dtype.descr) item \(firstItem + item.offset / max(item.width, 1)), "
                            + "found byte 0x\(hex(data[position], digits: 2))")
                }
            }
        }
    }

    /// Items decoded in storage order, put into C order.
    private func storageToCOrder<T>(_ items: [T]) -> [T] {
        guard fortranOrder, !layoutsCoincide(shape), !items.isEmpty else { return items }
        var order = [Int](repeating: 0, count: items.count)
        let storage = Array(0..<items.count)
        storage.withUnsafeBufferPointer { source in
            order.withUnsafeMutableBufferPointer { copyFortranToC(source.baseAddress!, $0.baseAddress!, shape: shape) }
        }
        return order.map { items[$0] }
    }

    private static func stringDType(_ make: () throws(NumPyFormatError) -> NPYDType) throws -> NPYDType {
        do {
            return try make()
        } catch {
            throw ErrorContext(file: memoryName).placing(error, at: nil)
        }
    }

    /// The header for `count` strings of `dtype` in `shape`, which must hold exactly them.
    private static func stringHeader(_ dtype: NPYDType, shape: [Int], count: Int) throws -> NPYArrayHeader {
        let header = NPYArrayHeader(dtype: dtype, shape: shape)
        let context = ErrorContext(file: memoryName)
        _ = try checkedByteCount(header, context: context)
        guard header.elementCount == count else {
            throw context.error(
                .invalidRequest,
                "expected \(header.elementCount!) strings for shape \(pythonTuple(shape)), got \(count)")
        }
        return header
    }
}
