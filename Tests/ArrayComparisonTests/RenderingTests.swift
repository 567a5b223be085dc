import Testing

@testable import ArrayComparison

@Suite struct RenderingTests {
    func report() -> DiffReport {
        let tolerance = Tolerance.torchDefault(for: .float32)
        let same = KeyReport.compare(
            key: "dbeta", a: [1, 2, 3], b: [1, 2, 3], shape: [3],
            format: .float32, tolerance: tolerance)
        let dgamma = KeyReport.compare(
            key: "dgamma", a: [1, 2.5, 3.5], b: [1, 2, 3], shape: [3],
            format: .float32, tolerance: tolerance)
        return DiffReport(
            fileA: "a", fileB: "b",
            keys: [
                same, dgamma, KeyReport(key: "out", outcome: .onlyInA),
            ])
    }

    @Test func quietSummaryLine() {
        #expect(
            report().summaryLine(command: "bnfile diff")
                == "bnfile diff: 2 of 3 keys differ (dgamma: 2/3 mismatched, max 2097152 ulp; out: only in A)")
        let clean = DiffReport(fileA: "a", fileB: "b", keys: [report().keys[0]])
        #expect(clean.summaryLine(command: "bnfile diff") == "bnfile diff: 0 of 1 keys differ")
    }

    /// The command's name comes from the caller: nothing in the library spells "bnfile".
    @Test func theCommandNameIsTheCallers() throws {
        #expect(report().summaryLine(command: "tool x").hasPrefix("tool x: 2 of 3 keys differ"))
        let text = report().text(command: "tool x")
        #expect(
            text.hasSuffix("tool x: 2 of 3 keys differ (dgamma: 2/3 mismatched, max 2097152 ulp; out: only in A)\n"))
        #expect(!text.contains("bnfile"))
        let json = try report().json(command: "tool x")
        #expect(json.contains("\"tool\" : \"tool x\""), "\(json.prefix(400))")
    }

    /// Below the table: one detail line per compared key, aligned, then each tolerance
    /// once for the keys that share it.
    @Test func detailAndToleranceLines() {
        let lines = report().text(command: "bnfile diff").split(separator: "\n").map(String.init)
        #expect(lines.contains("dbeta   identical"), "\(lines)")
        let dgamma = lines.first { $0.hasPrefix("dgamma  worst (1,): A 2.5, B 2.0") }
        #expect(dgamma?.hasSuffix("; NaN/Inf: none; sign flips: 0") == true, "\(lines)")
        let tolerance = lines.filter { $0.hasPrefix("tolerance for ") }
        #expect(
            tolerance.count == 1 && tolerance[0].hasPrefix("tolerance for dbeta, dgamma: rtol 1.3e-06, atol 1e-05"),
            "\(tolerance)")
        #expect(!lines.contains { $0.hasPrefix("rounding limit") }, "no truth, no limit")
    }

    @Test func summaryLineInTruthMode() {
        let u = FloatFormat.float32.unitRoundoff
        let key = KeyReport.compare(
            key: "dx", a: [1], b: [1 + 64 * u], shape: [1], format: .float32,
            tolerance: .torchDefault(for: .float32),
            truth: TruthInput(values: [1], scale: [1], valuesPerChannel: 280))
        #expect(
            DiffReport(fileA: "a", fileB: "b", keys: [key]).summaryLine(command: "bnfile diff")
                == "bnfile diff: 1 of 1 keys differ (dx: B beyond rounding (max 64 u*scale > 28))")
    }

    @Test func tableHasOneRowPerKeyAndNoEscapesWithoutATerminal() {
        let text = report().table(color: false)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("key     verdict"))
        #expect(lines[1].hasPrefix("dbeta   match"))
        #expect(lines[2].contains("2/3 (66.67%)"))
        // Both mismatches are 0.5 off; the one with the smaller reference (tighter
        // allowance) is further beyond tolerance. 1-d indices are spelled as in Python.
        #expect(lines[2].contains("(1,)"))
        #expect(lines[3] == "out     only in A")
        #expect(!text.contains("\u{1B}["))
    }

    @Test func coloursOnlyOnATerminal() {
        let text = report().table(color: true)
        #expect(text.contains("\u{1B}[31mmismatch\u{1B}[0m"))
        #expect(text.contains("\u{1B}[32mmatch\u{1B}[0m"))
        #expect(report().histograms(color: true).contains("\u{1B}["))
        #expect(!report().histograms(color: false).contains("\u{1B}["))
    }

    @Test func truthColumnsAppearInTruthMode() {
        let key = KeyReport.compare(
            key: "dx", a: [1], b: [1.5], shape: [1], format: .float32,
            tolerance: .torchDefault(for: .float32),
            truth: TruthInput(values: [1], scale: [1], valuesPerChannel: 280))
        let text = DiffReport(fileA: "a", fileB: "b", keys: [key]).table()
        #expect(text.contains("A vs truth"))
        #expect(text.contains("exact"))
        #expect(text.contains("BEYOND (8.39e+06)"))
    }

    @Test func numberSpellings() {
        #expect(NumberText.compact(.nan) == "nan")
        #expect(NumberText.compact(-.infinity) == "-inf")
        #expect(NumberText.compact(512) == "512")
        #expect(NumberText.compact(0.5) == "0.5")
        #expect(NumberText.compact(1.5e-5) == "1.50e-05")
        #expect(NumberText.percent(1e-5) == "<0.01%")
        #expect(NumberText.percent(100) == "100%")
        #expect(NumberText.percent(99.999) == ">99.99%")
    }
}
