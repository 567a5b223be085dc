/// Text from a file (member names, paths, header strings) made safe for one line of a
/// terminal: control characters become visible escapes.
///
/// A member name may hold a newline, which would split a one-line error over several
/// lines (and a Makefile's log reader with it), or an ESC sequence, which a terminal
/// would obey. C0 controls, DEL and C1 controls are written as Python writes them in a
/// repr: `\n`, `\r`, `\t`, else `\xNN`; everything else, including non-ASCII letters
/// and backslashes, is kept as it is.
public func escapingControlCharacters(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: isControl) else { return text }
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where isControl(scalar): out += "\\x" + hex(UInt8(scalar.value), digits: 2)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

private func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value)
}
