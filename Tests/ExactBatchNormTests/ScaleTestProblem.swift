import ExactBatchNorm
import Foundation
import Testing

/// Every output of one batch-norm problem by its file key (`out`, `dx` and the
/// per-channel quantities' raw values), as doubles.
typealias KeyedValues = [String: [Double]]

/// One batch-norm problem held in doubles, for the error-scale tests: the inputs can be
/// perturbed one by one, solved exactly, and fed to a float32 implementation.
struct ScaleProblem: CustomStringConvertible {
    var name: String
    var dimensions: [Int]
    var layout: ChannelLayout = .channelsFirst
    var x: [Double]
    var dout: [Double]?
    var gamma: [Double]
    var beta: [Double]
    var runningMean: [Double]
    var runningVar: [Double]
    var eps = 1e-5
    var momentum = 0.1
    var momentumConvention = MomentumConvention.torch
    var runningVariance = RunningVarianceConvention.unbiased
    var mode = BatchNormMode.training

    var description: String { "\(name) \(dimensions) \(mode) \(momentumConvention)/\(runningVariance)" }
    var shape: BatchNormShape { try! BatchNormShape(dimensions: dimensions, layout: layout) }
    var channels: Int { gamma.count }
    var valuesPerChannel: Int { shape.valuesPerChannel }

    var parameters: BatchNormParameters {
        BatchNormParameters(
            gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar, eps: eps,
            momentum: momentum, momentumConvention: momentumConvention,
            runningVariance: runningVariance)
    }

    /// The flat indices of channel `c`'s values, in memory order.
    func indices(ofChannel c: Int) -> [Int] {
        let shape = self.shape
        return (0..<shape.batch).flatMap { n in
            (0..<shape.spatial).map { l in
                layout == .channelsFirst
                    ? (n * channels + c) * shape.spatial + l : (n * shape.spatial + l) * channels + c
            }
        }
    }

    /// The truth: every output computed exactly and rounded once to double.
    func exactValues() -> KeyedValues {
        solve { result, _, _ in
            var values: KeyedValues = ["out": result.out]
            values["dx"] = result.dx
            for quantity in ChannelQuantity.allCases {
                values[quantity.rawValue] = result.perChannel(quantity, as: Double.self)
            }
            return values
        }
    }

    /// The implementation's error scales, keyed like `exactValues()`.
    func errorScales() -> KeyedValues {
        solve { result, xs, ds in
            let scales = try! ErrorScales(
                x: xs, dout: ds, shape: shape, parameters: parameters, mode: mode,
                result: result)
            let (x, d) = (UnsafeRawPointer(xs.baseAddress!), ds.map { UnsafeRawPointer($0.baseAddress!) })
            var values: KeyedValues = ["out": scales.elements(.out, x: x, dout: d)!.all()]
            values["dx"] = scales.elements(.dx, x: x, dout: d)?.all()
            for (quantity, perChannel) in scales.perChannel { values[quantity.rawValue] = perChannel }
            return values
        }
    }

    /// Per channel, how well the data resolves it, as `ErrorScales` reports.
    func conditioning() -> [ChannelConditioning] {
        solve { result, xs, ds in
            try! ErrorScales(x: xs, dout: ds, shape: shape, parameters: parameters, mode: mode, result: result)
                .conditioning
        }
    }

    private func solve<T>(
        _ body: (
            BatchNormResult<Double>, UnsafeBufferPointer<Double>,
            UnsafeBufferPointer<Double>?
        ) -> T
    ) -> T {
        x.withUnsafeBufferPointer { xs in
            func run(_ ds: UnsafeBufferPointer<Double>?) -> T {
                let result = try! ExactBatchNorm.compute(
                    x: xs, dout: ds, shape: shape, parameters: parameters,
                    mode: mode, output: Double.self, threads: 1)
                return body(result, xs, ds)
            }
            guard let dout else { return run(nil) }
            return dout.withUnsafeBufferPointer { run($0) }
        }
    }
}

// MARK: - Inputs, one at a time

/// One input of a problem: an element of x or dout, a channel's parameter, or a
/// hyperparameter.
enum ScaleInput: Hashable {
    case x(Int)
    case dout(Int)
    case gamma(Int)
    case beta(Int)
    case runningMean(Int)
    case runningVar(Int)
    case eps, momentum
}

extension ScaleProblem {
    /// Every input whose perturbation the scales must cover.
    var inputs: [ScaleInput] {
        let elements = x.indices
        return elements.map(ScaleInput.x) + (dout == nil ? [] : elements.map(ScaleInput.dout))
            + (0..<channels).flatMap { c in
                [ScaleInput.gamma(c), .beta(c), .runningMean(c), .runningVar(c)]
            } + [.eps, .momentum]
    }

    /// The same problem with every input `q` replaced by `transform(q, value)`.
    func mapInputs(_ transform: (ScaleInput, Double) -> Double) -> ScaleProblem {
        var p = self
        p.x = x.indices.map { transform(.x($0), x[$0]) }
        p.dout = dout.map { d in d.indices.map { transform(.dout($0), d[$0]) } }
        p.gamma = gamma.indices.map { transform(.gamma($0), gamma[$0]) }
        p.beta = beta.indices.map { transform(.beta($0), beta[$0]) }
        p.runningMean = runningMean.indices.map { transform(.runningMean($0), runningMean[$0]) }
        p.runningVar = runningVar.indices.map { transform(.runningVar($0), runningVar[$0]) }
        p.eps = transform(.eps, eps)
        p.momentum = transform(.momentum, momentum)
        return p
    }
}

// MARK: - Data sets

extension TestGenerator {
    /// Standard normal, by Box-Muller.
    mutating func normal() -> Double {
        let radius = (-2 * Foundation.log(max(uniform(), 0x1p-60))).squareRoot()
        return radius * Foundation.cos(2 * Double.pi * uniform())
    }

    mutating func sign() -> Double { next() & 1 == 0 ? 1 : -1 }

    /// `mean + spread*N(0,1)` as a float32 value whose last significand bit is clear:
    /// such a value times `1 +- 2^-30` is exactly a double, so perturbed data are exact.
    mutating func value(_ mean: Double, _ spread: Double) -> Double {
        spareBit(mean + spread * normal())
    }
}

/// `v` rounded to 23 significant bits (a float32 value with a spare bit).
func spareBit(_ v: Double) -> Double {
    guard v != 0, v.isFinite else { return v }
    let unit = Double(sign: .plus, exponent: v.exponent - 22, significand: 1)
    return Double(Float((v / unit).rounded() * unit))
}

/// The hostile and ordinary data the scales are tested on.
enum ScaleDataSet: String, CaseIterable, CustomTestStringConvertible, Sendable {
    /// x ~ N(0.3, 1), random parameters, channels first with spatial axes.
    case ordinary
    /// Channels last (N, H, W, C).
    case channelsLast
    /// BatchNorm1d's (N, C).
    case oneDimensional
    /// x = 1000 + 0.01*N(0,1): |mean|/std = 1e5.
    case offset1000
    /// Channel 1 holds one value repeated.
    case constantChannel
    /// dout = 1 everywhere: dx and dgamma are exactly 0.
    case doutOnes
    /// x and dout of size 1e-30: the variance (1e-60) vanishes beside eps.
    case tiny
    /// x and dout of size 1e20.
    case huge
    /// gamma 1, beta 0, running stats 0 and 1; x ~ N(0.05, 0.1^2), dout ~ N(0, 1).
    case freshInit

    var testDescription: String { rawValue }

    func problem(mode: BatchNormMode, seed: UInt64 = 1) -> ScaleProblem {
        var g = TestGenerator(state: seed &* 0x9E37_79B9 &+ UInt64(rawValue.utf8.count))
        let (dimensions, layout) = self.dimensions
        let shape = try! BatchNormShape(dimensions: dimensions, layout: layout)
        let c = shape.channels
        var p = ScaleProblem(
            name: rawValue, dimensions: dimensions, layout: layout, x: [], dout: nil,
            gamma: (0..<c).map { _ in g.sign() * g.value(1, 0.3) },
            beta: (0..<c).map { _ in g.value(0, 0.5) },
            runningMean: (0..<c).map { _ in g.value(0.2, 0.3) },
            runningVar: (0..<c).map { _ in g.value(1, 0.2).magnitude }, mode: mode)
        let (xMean, xSpread, doutSpread) = moments
        p.x = (0..<shape.elementCount).map { _ in g.value(xMean, xSpread) }
        p.dout = (0..<shape.elementCount).map { _ in self == .doutOnes ? 1 : g.value(0, doutSpread) }
        switch self {
        case .constantChannel:
            for i in p.indices(ofChannel: 1) { p.x[i] = 2.5 }
        case .freshInit:
            p.gamma = Array(repeating: 1, count: c)
            p.beta = Array(repeating: 0, count: c)
            p.runningMean = Array(repeating: 0, count: c)
            p.runningVar = Array(repeating: 1, count: c)
        case .offset1000:
            // Running statistics near the data's, as after some training.
            p.runningMean = p.runningMean.map { spareBit(1000 + 0.001 * $0) }
            p.runningVar = p.runningVar.map { spareBit(1e-4 * $0) }
        default: break
        }
        return p
    }

    private var dimensions: ([Int], ChannelLayout) {
        switch self {
        case .channelsLast: ([3, 2, 3, 2], .channelsLast)
        case .oneDimensional: ([8, 3], .channelsFirst)
        case .freshInit: ([4, 2, 4, 4], .channelsFirst)
        default: ([3, 2, 5], .channelsFirst)
        }
    }

    /// (mean of x, spread of x, spread of dout).
    private var moments: (Double, Double, Double) {
        switch self {
        case .offset1000: (1000, 0.01, 1)
        case .tiny: (0.3e-30, 1e-30, 1e-30)
        case .huge: (0.3e20, 1e20, 1e20)
        case .freshInit: (0.05, 0.1, 1)
        default: (0.3, 1, 1)
        }
    }
}
