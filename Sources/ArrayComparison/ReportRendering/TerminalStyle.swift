/// ANSI colouring that can be switched off in one place.
///
/// Escape codes are only emitted when the caller says the output is a terminal: piped
/// into a file, a CI log or `grep`, they are noise. Styling is applied after padding is
/// computed on the plain text, so columns line up either way.
public struct TerminalStyle: Sendable {
    public enum Tone: String, Sendable {
        case good = "32"
        case bad = "31"
        case warning = "33"
        case heading = "1"
    }

    public let enabled: Bool

    public init(enabled: Bool) { self.enabled = enabled }

    public func apply(_ tone: Tone?, to text: String) -> String {
        guard enabled, let tone else { return text }
        return "\u{1B}[\(tone.rawValue)m\(text)\u{1B}[0m"
    }
}

/// A piece of text and how it should be coloured.
public struct StyledCell: Sendable {
    public var text: String
    public var tone: TerminalStyle.Tone?

    public init(_ text: String, _ tone: TerminalStyle.Tone? = nil) {
        self.text = text
        self.tone = tone
    }
}

/// Left-aligned columns separated by two spaces, widths taken from the plain text.
public func renderColumns(_ rows: [[StyledCell]], style: TerminalStyle) -> String {
    let columnCount = rows.map(\.count).max() ?? 0
    let widths = (0..<columnCount).map { column in
        rows.map { column < $0.count ? $0[column].text.count : 0 }.max() ?? 0
    }
    return rows.map { row in
        row.enumerated().map { column, cell in
            let isLast = column == row.count - 1
            let padding = isLast ? "" : String(repeating: " ", count: widths[column] - cell.text.count)
            return style.apply(cell.tone, to: cell.text) + padding
        }.joined(separator: "  ")
    }.joined(separator: "\n") + "\n"
}
