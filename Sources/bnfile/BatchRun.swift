import ArgumentParser
import Dispatch
import ExactBatchNorm
import NumPyFormat

/// What happened to one file of a batch.
enum BatchFileOutcome: Sendable {
    case written
    case failed(String)
    /// Not started because an earlier file failed and `--keep-going` was not given.
    case notStarted
}

/// `bnfile run --out-dir DIR IN...`: the same job as a single run, for many files at once.
///
/// Files run concurrently, each on a share of the thread budget: the engine's results
/// do not depend on its thread count, so every output is bit-for-bit the file a single
/// `bnfile run IN OUT` writes, and each is written atomically. Many small files then
/// keep every core busy with a file each, and a few large ones split the cores.
struct BatchRun {
    let items: [BatchItem]
    let keepGoing: Bool
    /// The total number of threads (`--threads`, default all cores).
    let threads: Int

    /// Files in flight at once. Capped by `SignalCleanup.slots` because every running
    /// file registers its temporary output there, to be removed on Ctrl-C.
    var workerCount: Int { max(1, min(threads, items.count, SignalCleanup.slots)) }

    /// The engine threads of each file.
    var threadsPerFile: Int { max(1, threads / workerCount) }

    /// Plans the batch, creates DIR, runs `job` for every file, prints the summary, and
    /// exits with status 2 if anything failed. `job` gets the item and its thread count.
    static func perform(
        arguments: [String], outDir: String, keepGoing: Bool, threads: Int,
        job: @escaping @Sendable (BatchItem, Int) throws -> Void
    ) throws {
        let items = try exitingOnTrouble {
            let (items, warnings) = try BatchPlan.make(arguments: arguments, outDir: outDir)
            for warning in warnings {
                StandardError.write("\(ToolIdentity.name): warning: \(escapingControlCharacters(warning))\n")
            }
            try BatchPlan.createFolder(outDir)
            return items
        }
        let batch = BatchRun(items: items, keepGoing: keepGoing, threads: threads)
        let outcomes = batch.run(job)
        let summary = BatchSummary(items: items, outcomes: outcomes, outDir: outDir)
        StandardError.write(summary.text + "\n")
        if summary.anyFailed { throw ExitCode(2) }
    }

    /// Runs every file (or, after a failure without `--keep-going`, every file already
    /// started) and returns the outcomes in input order.
    func run(_ job: @escaping @Sendable (BatchItem, Int) throws -> Void) -> [BatchFileOutcome] {
        let ledger = BatchLedger(count: items.count, keepGoing: keepGoing)
        let items = self.items
        let perFile = threadsPerFile
        ledger.started()
        // Each worker pulls the next file until none is left, so a slow file does not
        // hold up the others and the number in flight never exceeds workerCount.
        DispatchQueue.concurrentPerform(iterations: workerCount) { _ in
            while let index = ledger.nextIndex() {
                let outcome: BatchFileOutcome
                do {
                    try job(items[index], perFile)
                    outcome = .written
                } catch {
                    outcome = .failed(ToolError.describe(error))
                }
                ledger.record(outcome, at: index)
            }
        }
        return ledger.finish()
    }
}

/// The shared state of a running batch, behind one lock: which file is next, whether
/// to stop, the outcomes so far, and the terminal output (progress bar and error
/// lines), so that lines from different workers never interleave.
private final class BatchLedger: Sendable {
    private struct State {
        var outcomes: [BatchFileOutcome?]
        var next = 0
        var stopping = false
        var done = 0
        var failed = 0
        var progress: ProgressBar
    }

    private let keepGoing: Bool
    private let state: Locked<State>

    init(count: Int, keepGoing: Bool) {
        self.keepGoing = keepGoing
        state = Locked(State(outcomes: Array(repeating: nil, count: count), progress: ProgressBar(total: count)))
    }

    func started() {
        state.withLock { $0.progress.draw(done: 0, failed: 0) }
    }

    /// The next file to start, or nil when all are taken or the batch is stopping.
    func nextIndex() -> Int? {
        state.withLock { s in
            guard !s.stopping, s.next < s.outcomes.count else { return nil }
            defer { s.next += 1 }
            return s.next
        }
    }

    func record(_ outcome: BatchFileOutcome, at index: Int) {
        state.withLock { s in
            s.outcomes[index] = outcome
            s.done += 1
            if case .failed(let message) = outcome {
                s.failed += 1
                if !keepGoing { s.stopping = true }
                s.progress.erase()
                printError(message)
            }
            s.progress.draw(done: s.done, failed: s.failed)
        }
    }

    func finish() -> [BatchFileOutcome] {
        state.withLock { s in
            s.progress.erase()
            return s.outcomes.map { $0 ?? .notStarted }
        }
    }
}
