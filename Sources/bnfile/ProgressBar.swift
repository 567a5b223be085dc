/// The progress line of a batch, `[#########.....................] 12/40 files`,
/// redrawn in place with a carriage return.
///
/// It is drawn only when standard error is a terminal: in a log file or a CI transcript
/// the carriage returns would leave a heap of partial lines, so there the batch prints
/// only its error lines and the summary. Callers serialise the calls (one lock around
/// the whole batch's reporting), so lines never interleave.
struct ProgressBar {
    static let width = 30

    let total: Int
    let enabled: Bool
    /// The length of the line on screen, to blank it out completely.
    private var drawnLength = 0

    init(total: Int, enabled: Bool = isatty(2) == 1) {
        self.total = total
        self.enabled = enabled
    }

    /// `[###...] done/total files`, plus the failures so far when there are any.
    static func line(done: Int, failed: Int, total: Int) -> String {
        let filled = total > 0 ? min(width, done * width / total) : width
        var text =
            "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            + "] \(done)/\(total) files"
        if failed > 0 { text += ", \(failed) failed" }
        return text
    }

    mutating func draw(done: Int, failed: Int) {
        guard enabled else { return }
        let text = Self.line(done: done, failed: failed, total: total)
        let padding = String(repeating: " ", count: max(0, drawnLength - text.count))
        StandardError.write("\r" + text + padding)
        drawnLength = text.count
    }

    /// Blanks the line so that an error line or the summary starts on a clean row.
    mutating func erase() {
        guard enabled, drawnLength > 0 else { return }
        StandardError.write("\r" + String(repeating: " ", count: drawnLength) + "\r")
        drawnLength = 0
    }
}
