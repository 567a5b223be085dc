import ArrayComparison
import ExactBatchNorm
import NumPyFormat

/// A framework whose batch-norm conventions bnfile knows (measured with torch 2.15,
/// Keras 3.15 on TensorFlow and JAX, Flax 0.12):
///
/// | framework | eps  | momentum m | running update                 | running variance | channels |
/// |-----------|------|------------|--------------------------------|------------------|----------|
/// | torch     | 1e-5 | 0.1        | (1-m)*running + m*batch        | unbiased         | axis 1   |
/// | keras     | 1e-3 | 0.99       | m*running + (1-m)*batch        | biased           | last     |
/// | flax      | 1e-5 | 0.99       | m*running + (1-m)*batch        | biased           | last     |
///
/// tf_keras with `fused=True` and `tf.nn.fused_batch_norm` are Keras with an unbiased
/// running variance: `--framework keras --running-var unbiased`.
public enum Framework: String, Sendable, CaseIterable {
    case torch, keras, flax

    /// Every setting as this framework's layer defaults it.
    public var defaults: ResolvedSettings {
        switch self {
        case .torch:
            ResolvedSettings(
                eps: 1e-5, momentum: 0.1, momentumConvention: .torch, runningVariance: .unbiased,
                training: true, layout: .channelsFirst)
        case .keras:
            ResolvedSettings(
                eps: 1e-3, momentum: 0.99, momentumConvention: .keras, runningVariance: .biased,
                training: true, layout: .channelsLast)
        case .flax:
            ResolvedSettings(
                eps: 1e-5, momentum: 0.99, momentumConvention: .keras, runningVariance: .biased,
                training: true, layout: .channelsLast)
        }
    }
}

/// Every setting of a batch-norm step, decided.
public struct ResolvedSettings: Sendable, Equatable {
    public var eps: Double
    public var momentum: Double
    public var momentumConvention: MomentumConvention
    public var runningVariance: RunningVarianceConvention
    public var training: Bool
    public var layout: ChannelLayout

    public init(
        eps: Double, momentum: Double, momentumConvention: MomentumConvention,
        runningVariance: RunningVarianceConvention, training: Bool, layout: ChannelLayout
    ) {
        (self.eps, self.momentum, self.momentumConvention) = (eps, momentum, momentumConvention)
        (self.runningVariance, self.training, self.layout) = (runningVariance, training, layout)
    }

    public var mode: BatchNormMode { training ? .training : .evaluation }
}

/// Settings as far as one source states them (flags, a file, a framework): each field
/// nil where that source is silent.
///
/// Files record them as 0-d arrays, so that the settings travel with the data: `eps` and
/// `momentum` (float64), `training` (bool), and the strings `momentum_convention`
/// ("torch" or "keras"), `running_var_convention` ("unbiased" or "biased") and `layout`
/// ("nchw" or "nhwc"). That is what `np.savez(f, eps=1e-3, layout="nhwc", ...)` writes,
/// so a user's own export script states them the same way.
public struct StatedSettings: Sendable, Equatable {
    public var eps: Double?
    public var momentum: Double?
    public var momentumConvention: MomentumConvention?
    public var runningVariance: RunningVarianceConvention?
    public var training: Bool?
    public var layout: ChannelLayout?

    public init(
        eps: Double? = nil, momentum: Double? = nil, momentumConvention: MomentumConvention? = nil,
        runningVariance: RunningVarianceConvention? = nil, training: Bool? = nil,
        layout: ChannelLayout? = nil
    ) {
        (self.eps, self.momentum, self.momentumConvention) = (eps, momentum, momentumConvention)
        (self.runningVariance, self.training, self.layout) = (runningVariance, training, layout)
    }

    /// The member names a file states settings under.
    public static let keys: [String] = [
        "eps", "momentum", "momentum_convention", "running_var_convention",
        "training", "layout",
    ]

    public var isEmpty: Bool { self == StatedSettings() }

    /// These settings where stated, `fallback`'s elsewhere.
    public func over(_ fallback: StatedSettings) -> StatedSettings {
        StatedSettings(
            eps: eps ?? fallback.eps, momentum: momentum ?? fallback.momentum,
            momentumConvention: momentumConvention ?? fallback.momentumConvention,
            runningVariance: runningVariance ?? fallback.runningVariance,
            training: training ?? fallback.training, layout: layout ?? fallback.layout)
    }

    /// Fills what is still unstated from a framework's defaults.
    public func resolved(framework: Framework) -> ResolvedSettings {
        let d = framework.defaults
        return ResolvedSettings(
            eps: eps ?? d.eps, momentum: momentum ?? d.momentum,
            momentumConvention: momentumConvention ?? d.momentumConvention,
            runningVariance: runningVariance ?? d.runningVariance,
            training: training ?? d.training, layout: layout ?? d.layout)
    }

    /// The settings one file states, each checked for its type.
    public init(reading archive: NPZArchive, path: String) throws {
        func array(_ key: String) throws -> NPYArray? {
            guard archive.member(named: key) != nil else { return nil }
            let array = try archive.array(named: key)
            guard array.count == 1 else {
                throw BatchNormFileError(
                    "\(path): \(key) has shape \(pythonTuple(array.shape)); "
                        + "expected a 0-d array holding one setting")
            }
            return array
        }
        func number(_ key: String) throws -> Double? {
            guard let array = try array(key) else { return nil }
            guard array.dtype.kind == .float || array.dtype.kind == .signedInteger else {
                throw BatchNormFileError("\(path): \(key) has dtype \(array.dtype.descr); expected a number")
            }
            return try array.elements(as: Double.self)[0]
        }
        func word<T: RawRepresentable>(_ key: String, _: T.Type, choices: [String]) throws -> T?
        where T.RawValue == String {
            guard let array = try array(key) else { return nil }
            guard array.dtype.kind == .unicode || array.dtype.kind == .bytes,
                let text = try array.strings().first, let value = T(rawValue: text)
            else {
                throw BatchNormFileError(
                    "\(path): \(key) must be one of \(choices.joined(separator: ", ")) "
                        + "as a 0-d string array (np.array(\"\(choices[0])\"))")
            }
            return value
        }
        eps = try number("eps")
        momentum = try number("momentum")
        momentumConvention = try word(
            "momentum_convention", MomentumConvention.self,
            choices: MomentumConvention.allCases.map(\.rawValue))
        runningVariance = try word(
            "running_var_convention", RunningVarianceConvention.self,
            choices: RunningVarianceConvention.allCases.map(\.rawValue))
        layout = try word("layout", ChannelLayout.self, choices: ChannelLayout.allCases.map(\.rawValue))
        training = try array("training").map { array in
            guard array.dtype.kind == .bool else {
                throw BatchNormFileError("\(path): training has dtype \(array.dtype.descr); expected a 0-d bool")
            }
            return try array.elements(as: Bool.self)[0]
        }
    }

    /// Settings both sources state but differently, as "eps 1e-05 vs 0.001".
    public func conflicts(with other: StatedSettings) -> [String] {
        func describe<T: Equatable>(_ name: String, _ a: T?, _ b: T?, _ text: (T) -> String) -> String? {
            guard let a, let b, a != b else { return nil }
            return "\(name) \(text(a)) vs \(text(b))"
        }
        return [
            describe("eps", eps, other.eps) { "\($0)" },
            describe("momentum", momentum, other.momentum) { "\($0)" },
            describe("momentum_convention", momentumConvention, other.momentumConvention) { $0.rawValue },
            describe("running_var_convention", runningVariance, other.runningVariance) { $0.rawValue },
            describe("training", training, other.training) { "\($0)" },
            describe("layout", layout, other.layout) { $0.rawValue },
        ].compactMap { $0 }
    }
}

extension ResolvedSettings {
    /// Writes every setting as the 0-d members `StatedSettings(reading:)` reads.
    public func write(to writer: NPZWriter) throws {
        try writer.add("eps", NPYArray([eps], shape: []))
        try writer.add("momentum", NPYArray([momentum], shape: []))
        try writer.add("momentum_convention", NPYArray(strings: [momentumConvention.rawValue], shape: []))
        try writer.add("running_var_convention", NPYArray(strings: [runningVariance.rawValue], shape: []))
        try writer.add("training", NPYArray([training], shape: []))
        try writer.add("layout", NPYArray(strings: [layout.rawValue], shape: []))
    }
}

/// What the command line says: settings that override every file, and the framework
/// whose defaults fill what nobody states.
public struct BatchNormSettings: Sendable {
    public var stated: StatedSettings
    public var framework: Framework
    public var threads: Int

    public init(
        stated: StatedSettings = StatedSettings(), framework: Framework = .torch,
        threads: Int = ExactBatchNorm.defaultThreadCount
    ) {
        self.stated = stated
        self.framework = framework
        self.threads = threads
    }
}
