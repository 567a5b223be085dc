import ExactBatchNorm
import NumPyFormat

#if canImport(Glibc)
import Glibc
#endif

/// Measurements for `make bench`, one JSON object per line, which scripts/bench.py sets
/// beside numpy's and torch's figures from the same run. Each figure is the median of
/// several repetitions: the machine is shared and noisy, and a median resists that.
///
///     bnbench engine N,C,H,W REPEATS [THREADS] [float32|bfloat16] [training|evaluation]
///                                                exact forward+backward (default float32)
///     bnbench write PATH MEGABYTES stored|deflated REPEATS
///     bnbench read PATH REPEATS [nocrc]
///     bnbench copy MEGABYTES REPEATS              memory-copy bandwidth
///     bnbench rawwrite PATH MEGABYTES REPEATS     write(2) of the same bytes, no npz
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

/// Peak resident memory of this process so far, in bytes.
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss * 1024
}

func timed(_ repeats: Int, _ body: () throws -> Void) rethrows -> [Double] {
    var times: [Double] = []
    for _ in 0..<repeats {
        let t0 = now()
        try body()
        times.append(now() - t0)
    }
    return times
}

func report(_ name: String, _ times: [Double], _ extra: String = "") {
    print("{\"bench\":\"\(name)\",\"median_s\":\(median(times)),\"min_s\":\(times.min()!)\(extra)}")
}

/// Deterministic normal deviates (SplitMix64 and Box-Muller), so every run measures the
/// same data.
func normalData(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed
    func uniform() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) * 0x1p-53
    }
    return (0..<count).map { _ in
        Float((-2 * log(max(uniform(), 1e-300))).squareRoot() * cos(2 * Double.pi * uniform()))
    }
}

func engine(_ args: [String]) throws {
    switch args.count > 3 ? args[3] : "float32" {
    case "float32": try engine(args, Float.self)
    case "bfloat16": try engine(args, BFloat16.self)
    default:
        engineUsage()
    }
}

/// The engine's usage line, and status 2.
func engineUsage() -> Never {
    print("usage: bnbench engine N,C,H,W REPEATS [THREADS] [float32|bfloat16] [training|evaluation]")
    exit(2)
}

/// The same data (rounded to `X`) and outputs in `X`.
func engine<X: BatchNormFloat>(_ args: [String], _: X.Type) throws {
    let dims = args[0].split(separator: ",").map { Int($0)! }
    let repeats = Int(args[1])!
    let threads = args.count > 2 ? Int(args[2])! : ExactBatchNorm.defaultThreadCount
    let count = dims.reduce(1, *)
    let x = normalData(count, seed: 42).map { X($0) }
    let dout = normalData(count, seed: 43).map { X($0) }
    let shape = try BatchNormShape(dimensions: dims, layout: .channelsFirst)
    let modeName = args.count > 4 ? args[4] : "training"
    guard modeName == "training" || modeName == "evaluation" else { engineUsage() }
    let mode: BatchNormMode = modeName == "evaluation" ? .evaluation : .training
    var exactPaths = 0
    let before = peakResidentBytes()
    // Output memory is allocated once and reused, as torch's caching allocator reuses
    // its tensors between iterations; the first run's page faults are not timed twice.
    var out = [X](repeating: 0, count: count)
    var dx = [X](repeating: 0, count: count)
    let times = try timed(repeats) {
        let r = try x.withUnsafeBytes { xs in
            try dout.withUnsafeBytes { ds in
                try out.withUnsafeMutableBufferPointer { o in
                    try dx.withUnsafeMutableBufferPointer { d in
                        try ExactBatchNorm.compute(
                            BatchNormInput(
                                x: xs, dout: ds, elementType: X.elementType,
                                shape: shape, mode: mode),
                            out: o, dx: d, threads: threads)
                    }
                }
            }
        }
        exactPaths = r.exactPathCount
    }
    report(
        "engine", times,
        ",\"dtype\":\"\(X.self)\",\"mode\":\"\(mode)\",\"threads\":\(threads),\"elements\":\(count),"
            + "\"exact_path_elements\":\(exactPaths),"
            + "\"peak_rss_growth_bytes\":\(peakResidentBytes() - before)")
}

func write(_ args: [String]) throws {
    let path = args[0]
    let count = Int(args[1])! * (1 << 20) / 4
    let compressed = args[2] == "deflated"
    let data = normalData(count, seed: 1)
    let times = try timed(Int(args[3])!) {
        let writer = try NPZWriter(path: path, options: NPZWriteOptions(compression: compressed ? .deflated : .stored))
        try data.withUnsafeBufferPointer { try writer.add("x", elements: $0, shape: [count]) }
        try writer.finish()
    }
    report("write_\(args[2])", times)
}

/// The floor under any file writer: the same number of bytes through one open(O_TRUNC),
/// write(2) and close, as the npz writer does them, without headers or CRC. What this
/// costs is the kernel allocating and filling page-cache pages, not a memory copy.
func rawWrite(_ args: [String]) throws {
    let path = args[0]
    let bytes = Int(args[1])! << 20
    let data = normalData(bytes / 4, seed: 1)
    let times = timed(Int(args[2])!) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n <= 0 { break }
                done += n
            }
        }
        close(fd)
    }
    report("raw_write", times)
}

func read(_ args: [String]) throws {
    let path = args[0]
    var options = NPYReadOptions()
    options.verifyCRC = !(args.count > 2 && args[2] == "nocrc")
    var sum: Float = 0
    let before = peakResidentBytes()
    let times = try timed(Int(args[1])!) {
        let archive = try NPZArchive(path: path, options: options)
        let array = try archive.array(named: "x")
        // Touch every value, as a consumer would; a mapping alone reads nothing.
        sum += try array.withUnsafeElements(as: Float.self) { values in
            var lanes = SIMD16<Float>(repeating: 0)
            let raw = UnsafeRawPointer(values.baseAddress!)
            var offset = 0
            while offset + 64 <= values.count * 4 {
                lanes += raw.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
                offset += 64
            }
            return lanes.sum()
        }
    }
    report(
        options.verifyCRC ? "read" : "read_nocrc", times,
        ",\"peak_rss_growth_bytes\":\(peakResidentBytes() - before),\"checksum\":\(sum.isFinite ? 1 : 0)")
}

func copyBandwidth(_ args: [String]) {
    let bytes = Int(args[0])! << 20
    let source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    let target = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    memset(source, 1, bytes)
    memset(target, 0, bytes)
    let times = timed(Int(args[1])!) { memcpy(target, source, bytes) }
    report("copy", times, ",\"bytes\":\(bytes)")
}

let args = Array(CommandLine.arguments.dropFirst())
do {
    switch args.first {
    case "engine": try engine(Array(args.dropFirst()))
    case "write": try write(Array(args.dropFirst()))
    case "read": try read(Array(args.dropFirst()))
    case "copy": copyBandwidth(Array(args.dropFirst()))
    case "rawwrite": try rawWrite(Array(args.dropFirst()))
    default:
        print("usage: bnbench engine|write|read|copy|rawwrite ...")
        exit(2)
    }
} catch {
    print("bnbench: \(error)")
    exit(2)
}
