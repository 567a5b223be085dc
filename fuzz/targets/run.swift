import BatchNormFiles
import ExactBatchNorm
import NumPyFormat

#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer entry for the whole `bnfile run` path on small inputs: the archive is
/// opened and read as a batch-norm problem (`BatchNormInputFile`), computed exactly,
/// and written atomically (`RunJob`, `AtomicOutput`, `NPZWriter`), exactly the code the
/// tool runs. The input is the archive itself (so `crashers/run/` files are both seeds
/// and the CLI tests' replays); each is run in training and evaluation, channels first
/// and last, with deflated output for odd sizes. Any error must be one of the tool's own
/// (a one-line message); a crash, a hang or a stray temporary file is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRun(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = FuzzSupport.scratchFile(data, size)
    let output = input + ".grads.npz"
    // Small bounds: a (0, 2^20) input must be refused quickly, not computed.
    var options = NPYReadOptions()
    options.maxBytes = 1 << 24
    for evaluation in [false, true] {
        for layout in ChannelLayout.allCases {
            let settings = BatchNormSettings(stated: StatedSettings(training: !evaluation, layout: layout), threads: 1)
            runOnce(input: input, output: output, settings: settings, options: options, compressed: size & 1 == 1)
        }
    }
    return 0
}

private func runOnce(
    input: String, output: String, settings: BatchNormSettings, options: NPYReadOptions,
    compressed: Bool
) {
    do {
        try RunJob.run(input: input, output: output, settings: settings, options: options, compressed: compressed)
    } catch is ToolError {
    } catch is BatchNormFileError {
    } catch is NumPyFormatError {
    } catch is BatchNormError {
    } catch {
        fatalError("run threw an error the tool would not describe in one line: \(error)")
    }
    unlink(output)
}
