import ExactBatchNorm
import NumPyFormat

/// One `bnfile run`: read a problem, compute it exactly, write the results atomically.
enum RunJob {
    /// The output keys in the order they are written.
    static let channelKeys: [ChannelQuantity] = [.dgamma, .dbeta, .runningMean, .runningVar, .mean, .invstd]

    static func run(input: String, output: String, settings: BatchNormSettings, options: NPYReadOptions,
                    compressed: Bool) throws {
        let problem = try BatchNormInputFile(path: input, settings: settings, options: options)
        switch problem.x.dtype.itemSize {
        case 2: try write(problem, Float16.self, to: output, settings: settings, compressed: compressed)
        case 4: try write(problem, Float.self, to: output, settings: settings, compressed: compressed)
        default: try write(problem, Double.self, to: output, settings: settings, compressed: compressed)
        }
    }

    static func write<X: BatchNormFloat & NPYElement>(_ problem: BatchNormInputFile, _: X.Type, to path: String,
                                                      settings: BatchNormSettings, compressed: Bool) throws {
        let result = try problem.evaluate(X.self, as: X.self, threads: settings.threads)
        let file = try AtomicOutput(destination: path)
        do {
            let writer = NPZWriter(fileDescriptor: file.descriptor, name: path,
                                   options: NPZWriteOptions(compressed: compressed))
            let shape = problem.x.shape
            try result.out.withUnsafeBufferPointer { try writer.add("out", elements: $0, shape: shape) }
            if let dx = result.dx {
                try dx.withUnsafeBufferPointer { try writer.add("dx", elements: $0, shape: shape) }
            }
            switch problem.channelDType.itemSize {
            case 2: try addChannels(result, Float16.self, to: writer)
            case 4: try addChannels(result, Float.self, to: writer)
            default: try addChannels(result, Double.self, to: writer)
            }
            try writer.finish()
            try file.commit()
        } catch {
            file.abandon()
            throw error
        }
    }

    static func addChannels<Output: BatchNormFloat, P: BatchNormFloat & NPYElement>(
        _ result: BatchNormResult<Output>, _: P.Type, to writer: NPZWriter
    ) throws {
        for key in channelKeys {
            guard let values = result.perChannel(key, as: P.self) else { continue }
            try values.withUnsafeBufferPointer { try writer.add(key.rawValue, elements: $0, shape: [values.count]) }
        }
    }
}
