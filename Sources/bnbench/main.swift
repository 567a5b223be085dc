import ExactBatchNorm
#if canImport(Glibc)
import Glibc
#endif

/// Benchmarks of the exact engine, printed as one JSON object per line so that
/// scripts/bench.py can put them beside numpy's and torch's figures.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

struct Generator {
    var state: UInt64
    mutating func normal() -> Double {
        // Box-Muller on a SplitMix stream: deterministic inputs for every run.
        func next(_ s: inout UInt64) -> Double {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) * 0x1p-53
        }
        let u1 = max(next(&state), 1e-300), u2 = next(&state)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

func makeData(_ count: Int, seed: UInt64) -> [Float] {
    var gen = Generator(state: seed)
    return (0 ..< count).map { _ in Float(gen.normal()) }
}

let args = CommandLine.arguments
let dims = args.count > 1 ? args[1].split(separator: ",").map { Int($0)! } : [32, 64, 56, 56]
let repeats = args.count > 2 ? Int(args[2])! : 5
let threads = args.count > 3 ? Int(args[3])! : ExactBatchNorm.defaultThreadCount
let count = dims.reduce(1, *)
let x = makeData(count, seed: 42)
let dout = makeData(count, seed: 43)
let shape = try! BatchNormShape(dimensions: dims, layout: .channelsFirst)
var times: [Double] = []
var exactPaths = 0
for _ in 0 ..< repeats {
    let t0 = now()
    let r = try! x.withUnsafeBufferPointer { xb in
        try dout.withUnsafeBufferPointer { db in
            try ExactBatchNorm.compute(x: xb, dout: db, shape: shape, parameters: BatchNormParameters(),
                                       mode: .training, output: Float.self, threads: threads)
        }
    }
    times.append(now() - t0)
    exactPaths = r.exactPathCount
}
print("{\"bench\":\"engine_fwd_bwd_f32\",\"shape\":\(dims),\"threads\":\(threads),\"median_s\":\(median(times)),\"min_s\":\(times.min()!),\"exact_path_elements\":\(exactPaths)}")
