import BatchNormFiles
import ExactBatchNorm
import NumPyFormat

/// One `bnfile run`: read a problem, compute it exactly, write the results atomically.
enum RunJob {
    /// The output keys in the order they are written.
    static let channelKeys: [ChannelQuantity] = [.dgamma, .dbeta, .runningMean, .runningVar, .mean, .invstd]

    static func run(input: String, output: String, settings: BatchNormSettings, options: NPYReadOptions,
                    compressed: Bool) throws {
        SignalCleanup.prepare()
        if let identity = FileIdentity(path: output), identity == FileIdentity(path: input) {
            throw ToolError("\(output): is the input file \(input) itself; choose another OUT, "
                + "so the results do not replace their input")
        }
        let problem = try BatchNormInputFile(path: input, settings: settings, options: options)
        if problem.x.dtype.kind == .bfloat16 {
            return try write(problem, BFloat16.self, to: output, settings: settings, compressed: compressed)
        }
        switch problem.x.dtype.itemSize {
        case 2: try write(problem, Float16.self, to: output, settings: settings, compressed: compressed)
        case 4: try write(problem, Float.self, to: output, settings: settings, compressed: compressed)
        default: try write(problem, Double.self, to: output, settings: settings, compressed: compressed)
        }
    }

    /// Stored output (the default) is streamed: `out` and `dx` go to the file a block at
    /// a time as the engine computes them, so the process holds the (memory-mapped)
    /// inputs and about a megabyte of outputs rather than both whole outputs. Deflated
    /// output needs each member's bytes in sequence, so it computes whole arrays first.
    static func write<X: BatchNormFloat & NPYElement>(_ problem: BatchNormInputFile, _: X.Type, to path: String,
                                                      settings: BatchNormSettings, compressed: Bool) throws {
        let file = try AtomicOutput(destination: path)
        do {
            let writer = NPZWriter(fileDescriptor: file.descriptor, name: path,
                                   options: NPZWriteOptions(compression: compressed ? .deflated : .stored))
            let shape = problem.x.shape
            let channels: BatchNormChannels
            if compressed {
                let result = try problem.evaluate(X.self, as: X.self, threads: settings.threads)
                try result.out.withUnsafeBufferPointer { try writer.add("out", elements: $0, shape: shape) }
                if let dx = result.dx {
                    try dx.withUnsafeBufferPointer { try writer.add("dx", elements: $0, shape: shape) }
                }
                channels = result.channels
            } else {
                let header = NPYArrayHeader(dtype: X.npyDType, shape: shape)
                let members = problem.dout == nil ? [("out", header)] : [("out", header), ("dx", header)]
                var computed: BatchNormChannels? = nil
                try writer.addStored(members) { pieces in
                    computed = try problem.evaluate(X.self, threads: settings.threads) { _, out, dx in
                        try pieces.write(UnsafeRawBufferPointer(out), to: "out")
                        if let dx { try pieces.write(UnsafeRawBufferPointer(dx), to: "dx") }
                    }
                }
                channels = computed!
            }
            switch problem.channelDType.itemSize {
            case 2 where problem.channelDType.kind == .bfloat16: try addChannels(channels, BFloat16.self, to: writer)
            case 2: try addChannels(channels, Float16.self, to: writer)
            case 4: try addChannels(channels, Float.self, to: writer)
            default: try addChannels(channels, Double.self, to: writer)
            }
            try problem.settings.write(to: writer)
            try writer.finish()
            try file.commit()
        } catch {
            file.abandon()
            throw error
        }
    }

    static func addChannels<P: BatchNormFloat & NPYElement>(
        _ channels: BatchNormChannels, _: P.Type, to writer: NPZWriter
    ) throws {
        for key in channelKeys {
            guard let values = channels.perChannel(key, as: P.self) else { continue }
            try values.withUnsafeBufferPointer { try writer.add(key.rawValue, elements: $0, shape: [values.count]) }
        }
    }
}
