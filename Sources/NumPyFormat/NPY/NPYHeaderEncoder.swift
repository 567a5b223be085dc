/// Produces the header bytes `np.save` writes for an array, byte for byte.
///
/// numpy's recipe (numpy/lib/format.py): the dict repr with keys sorted, then 21 minus
/// the digits of the growth axis (the first dimension, or the last in Fortran order) of
/// spaces so the shape can later grow in place, then spaces and a newline so the data
/// starts on a 64-byte boundary, at least one space always. The version is the lowest
/// whose length field holds the header: 1.0, else 2.0 (3.0 is only for non-latin-1
/// descrs, which no dtype this library supports has).
enum NPYHeaderEncoder {
    static let arrayAlignment = 64
    static let growthAxisMaxDigits = 21

    static func encode(_ header: NPYArrayHeader) -> (bytes: [UInt8], version: NPYVersion) {
        var text = "{'descr': '\(header.dtype.descr)', 'fortran_order': \(header.fortranOrder ? "True" : "False"), "
        text += "'shape': \(pythonTuple(header.shape)), }"
        if !header.shape.isEmpty {
            let growthAxis = header.fortranOrder ? header.shape[header.shape.count - 1] : header.shape[0]
            text += String(repeating: " ", count: max(0, growthAxisMaxDigits - String(growthAxis).count))
        }
        let textBytes = Array(text.utf8)
        for version in [NPYVersion.v1, .v2] {
            let prefix = npyPreambleSize + version.headerLengthFieldSize
            let withNewline = textBytes.count + 1
            let padding = arrayAlignment - (prefix + withNewline) % arrayAlignment
            let length = withNewline + padding
            if version == .v1 && length > Int(UInt16.max) { continue }
            var bytes = npyMagic + [version.major, version.minor]
            bytes.reserveCapacity(prefix + length)
            if version == .v1 {
                appendLE(UInt16(length), to: &bytes)
            } else {
                appendLE(UInt32(length), to: &bytes)
            }
            bytes += textBytes
            bytes += [UInt8](repeating: 0x20, count: padding)
            bytes.append(0x0a)
            return (bytes, version)
        }
        // A rank-64 shape of 20-digit dimensions is under 2 KB: v2 always fits.
        preconditionFailure("NPY header does not fit in version 2.0")
    }
}

func appendLE<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
}
