import NumPyFormat

/// What `inspect` shows of a string array: its first few items (reading them checks
/// every item's code points), written the way Python prints them.
public struct InspectStrings {
    static let shownItems = 8

    public var shown: [String]
    public var total: Int

    /// nil for arrays that are not strings. Bytes items that are not UTF-8 are shown
    /// with U+FFFD in place of the bad bytes rather than refused: `|S` arrays may hold
    /// any bytes. The stream is read through once, a piece at a time, and the first
    /// items in C order are picked out where the file stores them.
    init?(_ stream: NPYArrayStream) throws {
        let header = stream.header
        guard header.dtype.kind.isString else { return nil }
        total = header.elementCount ?? 0
        let positions = (0..<min(Self.shownItems, total)).map { header.storagePosition(ofCOrderIndex: $0) }
        var picked = [String?](repeating: nil, count: positions.count)
        try stream.forEachPiece { piece in
            let items =
                header.dtype.kind == .unicode
                ? try piece.strings() : try piece.byteStrings().map { String(decoding: $0, as: UTF8.self) }
            let range = piece.startIndex..<(piece.startIndex + piece.count)
            for (shownIndex, position) in positions.enumerated() where range.contains(position) {
                picked[shownIndex] = items[position - piece.startIndex]
            }
        }
        shown = picked.map { $0 ?? "" }
    }

    /// `'nhwc'` for a 0-d array, `['x', 'dout']` otherwise, with `...` when items were left out.
    func rendered(zeroDimensional: Bool) -> String {
        let items = shown.map(Self.quoted)
        if zeroDimensional, let only = items.first { return only }
        let more = total > shown.count ? ", ... (\(total) items)" : ""
        return "[" + items.joined(separator: ", ") + more + "]"
    }

    /// Python-style single-quoted text with control characters escaped.
    static func quoted(_ text: String) -> String {
        var out = "'"
        for scalar in text.unicodeScalars {
            switch scalar {
            case "'": out += "\\'"
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f:
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" : "") + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "'"
    }
}
