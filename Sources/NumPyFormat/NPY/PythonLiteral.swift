/// The subset of Python literal syntax an NPY header is written in.
///
/// The header is the `repr` of a dict and numpy reads it with `ast.literal_eval`, so any
/// valid spelling must be accepted: any key order, any spacing, trailing commas, `(5,)`
/// one-tuples, Python 2 `3L` longs. Parsing the grammar instead of matching fixed
/// offsets or key order is what keeps files from other writers readable.
struct PythonLiteral {
    indirect enum Value {
        case string(String)
        /// An integer literal; `nil` when it does not fit in 64 bits.
        case int(Int?, text: String)
        case bool(Bool)
        case none
        case float(String)
        case tuple([PythonLiteral])
        case list([PythonLiteral])
        case dict([(key: PythonLiteral, value: PythonLiteral)])

        /// How the value is described in messages: the kind, not the full text, so that
        /// messages stay one line.
        var kindName: String {
            switch self {
            case .string: "a string"
            case .int: "an integer"
            case .bool: "a bool"
            case .none: "None"
            case .float: "a float"
            case .tuple: "a tuple"
            case .list: "a list"
            case .dict: "a dict"
            }
        }
    }

    var value: Value
    /// Offset of the literal's first byte in the parsed text.
    var position: Int
}

/// A syntax error at a position in the header text.
struct PythonLiteralError: Error {
    var position: Int
    var message: String
}

/// Recursive-descent parser over the header bytes.
struct PythonLiteralParser {
    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0
    /// Nesting is bounded so a header of 10,000 `(` cannot exhaust the stack.
    private static let maxDepth = 64

    /// Parses exactly one literal followed only by whitespace.
    static func parse(_ bytes: [UInt8]) throws(PythonLiteralError) -> PythonLiteral {
        var parser = PythonLiteralParser(bytes: bytes)
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.index < bytes.count {
            throw parser.error("unexpected \(parser.describeCurrent()) after the header dict")
        }
        return value
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private func error(_ message: String, at position: Int? = nil) -> PythonLiteralError {
        PythonLiteralError(position: position ?? index, message: message)
    }

    private func describeCurrent() -> String {
        guard index < bytes.count else { return "end of header" }
        let byte = bytes[index]
        if byte >= 0x21 && byte < 0x7f {
            return "'\(Character(Unicode.Scalar(byte)))'"
        }
        return "byte 0x\(hex(byte, digits: 2))"
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0a, 0x0d, 0x0b, 0x0c: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(PythonLiteralError) -> PythonLiteral {
        skipWhitespace()
        guard index < bytes.count else { throw error("header ends where a value was expected") }
        let start = index
        switch bytes[index] {
        case UInt8(ascii: "{"):
            return PythonLiteral(value: .dict(try parseDict()), position: start)
        case UInt8(ascii: "("):
            return try parseParenthesized()
        case UInt8(ascii: "["):
            // Lists count toward the nesting bound like dicts and tuples: without it a
            // 10,000-byte header of `[` recursed 10,000 deep and overflowed the stack.
            try enter()
            defer { depth -= 1 }
            index += 1
            let items = try parseSequence(closing: UInt8(ascii: "]"))
            return PythonLiteral(value: .list(items), position: start)
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return PythonLiteral(value: .string(try parseString()), position: start)
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."):
            return PythonLiteral(value: try parseNumber(), position: start)
        default:
            let word = parseWord()
            switch word {
            case "True": return PythonLiteral(value: .bool(true), position: start)
            case "False": return PythonLiteral(value: .bool(false), position: start)
            case "None": return PythonLiteral(value: .none, position: start)
            case "":
                throw error("unexpected \(describeCurrent()) where a value was expected")
            default:
                throw error("unexpected name '\(word)' where a value was expected", at: start)
            }
        }
    }

    private mutating func parseWord() -> String {
        let start = index
        while index < bytes.count {
            let b = bytes[index]
            let isWordByte =
                (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z"))
                || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
            guard isWordByte else { break }
            index += 1
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func enter() throws(PythonLiteralError) {
        depth += 1
        if depth > Self.maxDepth { throw error("header nests deeper than \(Self.maxDepth) levels") }
    }

    private mutating func parseDict() throws(PythonLiteralError) -> [(key: PythonLiteral, value: PythonLiteral)] {
        try enter()
        defer { depth -= 1 }
        index += 1  // "{"
        var entries: [(key: PythonLiteral, value: PythonLiteral)] = []
        while true {
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return entries
            }
            let key = try parseValue()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw error("expected ':' after a dict key, found \(describeCurrent())")
            }
            index += 1
            let value = try parseValue()
            entries.append((key, value))
            skipWhitespace()
            guard index < bytes.count else { throw error("header ends inside the dict") }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): continue
            default: throw error("expected ',' or '}' in the dict, found \(describeCurrent())")
            }
        }
    }

    /// `()` is an empty tuple, `(x,)` and `(x, y)` are tuples, `(x)` is just `x`.
    private mutating func parseParenthesized() throws(PythonLiteralError) -> PythonLiteral {
        try enter()
        defer { depth -= 1 }
        let start = index
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: ")") {
            index += 1
            return PythonLiteral(value: .tuple([]), position: start)
        }
        let first = try parseValue()
        skipWhitespace()
        guard index < bytes.count else { throw error("header ends inside a tuple") }
        if bytes[index] == UInt8(ascii: ")") {
            index += 1
            return first
        }
        guard bytes[index] == UInt8(ascii: ",") else {
            throw error("expected ',' or ')' in a tuple, found \(describeCurrent())")
        }
        index += 1
        let rest = try parseSequence(closing: UInt8(ascii: ")"))
        return PythonLiteral(value: .tuple([first] + rest), position: start)
    }

    /// Items up to `closing`, with an optional trailing comma; the opening bracket (and
    /// for tuples the first item) has been consumed.
    private mutating func parseSequence(closing: UInt8) throws(PythonLiteralError) -> [PythonLiteral] {
        var items: [PythonLiteral] = []
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw error("header ends inside a sequence") }
            if bytes[index] == closing {
                index += 1
                return items
            }
            items.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw error("header ends inside a sequence") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] != closing {
                throw error("expected ',' or '\(Character(Unicode.Scalar(closing)))', found \(describeCurrent())")
            }
        }
    }

    private mutating func parseString() throws(PythonLiteralError) -> String {
        let quote = bytes[index]
        let start = index
        index += 1
        var out: [UInt8] = []
        while index < bytes.count {
            let b = bytes[index]
            index += 1
            if b == quote { return String(decoding: out, as: UTF8.self) }
            if b == 0x0a { break }
            if b == UInt8(ascii: "\\") {
                guard index < bytes.count else { break }
                out += parseEscape()
            } else {
                out.append(b)
            }
        }
        throw error("unterminated string", at: start)
    }

    /// One escape after a backslash, as Python's `ast.literal_eval` (numpy's header
    /// parser) reads it: `\\n` and the other one-letter escapes, `\\xNN`, up to three
    /// octal digits, `\\uNNNN` and `\\UNNNNNNNN`; any other escape keeps its backslash
    /// (`'\\q'` is two characters), so `'\\x3cf4'` is `'<f4'`, as numpy reads it.
    private mutating func parseEscape() -> [UInt8] {
        let e = bytes[index]
        index += 1
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "n"): 0x0a, UInt8(ascii: "t"): 0x09, UInt8(ascii: "r"): 0x0d, UInt8(ascii: "a"): 0x07,
            UInt8(ascii: "b"): 0x08, UInt8(ascii: "f"): 0x0c, UInt8(ascii: "v"): 0x0b, UInt8(ascii: "\\"): e,
            UInt8(ascii: "'"): e, UInt8(ascii: "\""): e, 0x0a: 0xff,
        ]
        if let value = simple[e] { return value == 0xff ? [] : [value] }  // backslash-newline: nothing
        let digits: (count: Int, radix: Int)? =
            switch e {
            case UInt8(ascii: "x"): (2, 16)
            case UInt8(ascii: "u"): (4, 16)
            case UInt8(ascii: "U"): (8, 16)
            case UInt8(ascii: "0")...UInt8(ascii: "7"): (3, 8)
            default: nil
            }
        guard let digits else { return [UInt8(ascii: "\\"), e] }
        let first = digits.radix == 8 ? index - 1 : index
        var end = first
        while end < bytes.count, end - first < digits.count,
            Character(Unicode.Scalar(bytes[end])).hexDigitValue.map({ $0 < digits.radix }) == true
        { end += 1 }
        guard digits.radix == 8 || end - first == digits.count,
            let code = UInt32(String(decoding: bytes[first..<end], as: UTF8.self), radix: digits.radix),
            let scalar = Unicode.Scalar(code)
        else { return [UInt8(ascii: "\\"), e] }
        index = end
        return Array(String(Character(scalar)).utf8)
    }

    /// Python's rules for a decimal integer, which numpy's parser applies: no leading
    /// zero before other digits (`04` is a syntax error in Python 3, not 4), and each
    /// underscore between two digits (`1_0` is 10; `0_4`, `4_` and `1__0` are errors).
    private func checkDecimalSpelling(digitsFrom start: Int, to end: Int) throws(PythonLiteralError) {
        let text = bytes[start..<end]
        let digits = text.filter { $0 != UInt8(ascii: "_") }
        if digits.first == UInt8(ascii: "0"), digits.contains(where: { $0 != UInt8(ascii: "0") }) {
            throw error(
                "malformed integer \(String(decoding: text, as: UTF8.self)): a decimal integer cannot "
                    + "start with 0 in Python, and numpy refuses it", at: start)
        }
        let underscore = UInt8(ascii: "_")
        let misplaced =
            text.last == underscore || zip(text, text.dropFirst()).contains { $0 == underscore && $1 == underscore }
        if misplaced {
            throw error(
                "malformed integer \(String(decoding: text, as: UTF8.self)): an underscore must stand "
                    + "between two digits, and numpy refuses it", at: start)
        }
    }

    private mutating func parseNumber() throws(PythonLiteralError) -> PythonLiteral.Value {
        let start = index
        var negative = false
        if bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
            skipWhitespace()
        }
        var magnitude: UInt64? = 0
        var sawDigit = false
        let digitsStart = index
        while index < bytes.count {
            let b = bytes[index]
            if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                sawDigit = true
                if let m = magnitude {
                    let (times10, o1) = m.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = times10.addingReportingOverflow(UInt64(b - UInt8(ascii: "0")))
                    magnitude = (o1 || o2) ? nil : sum
                }
                index += 1
            } else if b == UInt8(ascii: "_") && sawDigit {
                index += 1
            } else {
                break
            }
        }
        if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) {
            while index < bytes.count,
                let c = Optional(bytes[index]),
                (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: ".")
                    || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") || c == UInt8(ascii: "-")
                    || c == UInt8(ascii: "+")
            {
                index += 1
            }
            return .float(String(decoding: bytes[start..<index], as: UTF8.self))
        }
        guard sawDigit else { throw error("malformed number", at: start) }
        try checkDecimalSpelling(digitsFrom: digitsStart, to: index)
        // Python 2 wrote longs as `3L`; numpy still reads such v1 headers.
        if index < bytes.count, bytes[index] == UInt8(ascii: "L") || bytes[index] == UInt8(ascii: "l") {
            index += 1
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let m = magnitude else { return .int(nil, text: text) }
        if negative {
            if m <= UInt64(Int.max) { return .int(-Int(m), text: text) }
            return .int(m == UInt64(Int.max) + 1 ? Int.min : nil, text: text)
        }
        return .int(m <= UInt64(Int.max) ? Int(m) : nil, text: text)
    }
}

/// Zero-padded uppercase hex, for byte values and signatures in messages.
func hex<T: BinaryInteger>(_ value: T, digits: Int) -> String {
    let text = String(value, radix: 16, uppercase: false)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
}
