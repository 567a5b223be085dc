/// The last line of a batch, on stderr:
///
///     bnfile: 38 of 40 files written to out; 2 failed: a.npz, b.npz
///     bnfile: 3 of 40 files written to out; 1 failed: a.npz; 36 not started (--keep-going runs them anyway)
///
/// Failures are named in input order, not in the order they happened, so the line is
/// the same on every run; each also had its own `bnfile: error:` line with the reason.
struct BatchSummary {
    let items: [BatchItem]
    let outcomes: [BatchFileOutcome]
    let outDir: String

    var anyFailed: Bool { !failedInputs.isEmpty }

    var failedInputs: [String] {
        zip(items, outcomes).compactMap { item, outcome in
            if case .failed = outcome { return item.input }
            return nil
        }
    }

    var text: String {
        let written = outcomes.filter { if case .written = $0 { true } else { false } }.count
        let notStarted = outcomes.filter { if case .notStarted = $0 { true } else { false } }.count
        let noun = items.count == 1 ? "file" : "files"
        var line = "\(ToolIdentity.name): \(written) of \(items.count) \(noun) written to \(outDir)"
        let failed = failedInputs
        if !failed.isEmpty {
            line += "; \(failed.count) failed: \(failed.joined(separator: ", "))"
        }
        if notStarted > 0 {
            line += "; \(notStarted) not started (--keep-going runs them anyway)"
        }
        return line
    }
}
