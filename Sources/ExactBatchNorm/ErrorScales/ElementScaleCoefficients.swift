/// One channel's element scales as affine functions of an element's `|x|`, its deviation
/// `d = |x - mean|` and `|dout|`, so that the element pass does a few multiply-adds per
/// value instead of re-deriving every term (see `ErrorScales` for the terms).
///
/// With `s` = invstd, `g` = |gamma|, `xhat` = d*s, `S_xhat` = s*|x| + s*S_mean + s*d*(kappa + 2):
///
///     S_out = g*S_xhat + g*xhat + |beta|
///           = g*s*|x| + g*s*(kappa + 3)*d + g*s*S_mean + |beta|
///
/// and in training, with k = g*s/M and B = M*|dout| + |dbeta| + xhat*|dgamma|,
///
///     S_dx = k*((kappa + 2)*B + sum|dout| + |dgamma|*S_xhat + xhat*S_dgamma)
///          = k*(kappa + 2)*M*|dout| + k*s*(2*(kappa + 2)*|dgamma| + S_dgamma)*d
///            + k*s*|dgamma|*|x| + k*((kappa + 2)*|dbeta| + sum|dout| + |dgamma|*s*S_mean)
///
/// while in evaluation S_dx = g*s*(kappa + 2)*|dout|. Regrouping changes a scale by a
/// few double roundings, far below the digits a yardstick needs.
struct ElementScaleCoefficients: Sendable {
    var mean: Double
    var outX: Double
    var outDeviation: Double
    var outConstant: Double
    var dxDout: Double
    var dxDeviation: Double
    var dxX: Double
    var dxConstant: Double

    init(_ sums: ScaleSums, mode: BatchNormMode) {
        let statistics = sums.statistics
        let s = statistics.invstd.magnitude, g = statistics.gamma.magnitude, kappa = statistics.kappa
        mean = statistics.mean
        outX = g * s
        outDeviation = g * s * (kappa + 3)
        outConstant = g * s * statistics.meanScale + statistics.beta.magnitude
        guard mode == .training else {
            (dxDout, dxDeviation, dxX, dxConstant) = (g * s * (kappa + 2), 0, 0, 0)
            return
        }
        let m = statistics.count, k = g * s / m, dgamma = statistics.dgamma
        dxDout = k * (kappa + 2) * m
        dxDeviation = k * s * (2 * (kappa + 2) * dgamma + sums.dgammaScale)
        dxX = k * s * dgamma
        dxConstant = k * ((kappa + 2) * statistics.dbeta + sums.absDout + dgamma * s * statistics.meanScale)
    }
}

/// Which output's scales.
public enum ScaledOutput: Sendable {
    case out, dx
}

/// The element types whose values the scales read, as a value (`ElementScales` is not
/// generic, so its callers in other modules run the loops compiled for each type).
enum ScaledElementType: Sendable {
    case float16, bfloat16, float32, float64

    init<X: BatchNormFloat>(_: X.Type) {
        switch X.binaryFormat.precision {
        case Float16.binaryFormat.precision: self = .float16
        case BFloat16.binaryFormat.precision: self = .bfloat16
        case Float.binaryFormat.precision: self = .float32
        default: self = .float64
        }
    }
}

/// The scales of one output (`out` or `dx`), any block of them, computed from x and dout
/// in place and the channels' coefficients: `S_out = outX*|x| + outDeviation*|x - mean| +
/// outConstant` and `S_dx = dxDout*|dout| + dxDeviation*|x - mean| + dxX*|x| + dxConstant`,
/// the same operations in the same order for every value, whatever the block.
///
/// It reads x and dout through the pointers it was given; they must stay valid while
/// it is used, from any number of threads at once.
public struct ElementScales: @unchecked Sendable {
    let output: ScaledOutput
    let x: UnsafeRawPointer
    let dout: UnsafeRawPointer?
    let type: ScaledElementType
    let shape: BatchNormShape
    let coefficients: [ElementScaleCoefficients]

    /// The scales of the flat positions `range`, into `destination[0 ..< range.count]`.
    public func fill(_ range: Range<Int>, into destination: UnsafeMutablePointer<Double>) {
        switch type {
        case .float16: fill(range, into: destination, as: Float16.self)
        case .bfloat16: fill(range, into: destination, as: BFloat16.self)
        case .float32: fill(range, into: destination, as: Float.self)
        case .float64: fill(range, into: destination, as: Double.self)
        }
    }

    /// Every scale, as one array.
    public func all() -> [Double] {
        let count = shape.elementCount
        return [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
            for start in stride(from: 0, to: count, by: 1 << 16) {
                fill(start..<min(count, start + 1 << 16), into: buffer.baseAddress! + start)
            }
            initialized = count
        }
    }

    /// One channel's piece at a time, each a loop without checks or branches over
    /// consecutive values, so that it vectorizes (the same operations for every value,
    /// so the same bits whatever the block).
    @inline(__always)
    private func fill<X: BatchNormFloat>(
        _ range: Range<Int>, into destination: UnsafeMutablePointer<Double>,
        as _: X.Type
    ) {
        let first = range.lowerBound
        coefficients.withUnsafeBufferPointer { coefficients in
            shape.forEachPiece(in: range) { c, lower, upper in
                let k = coefficients[c], target = destination + (lower - first), count = upper - lower
                let values = x + lower * MemoryLayout<X>.stride
                guard output == .dx else {
                    for j in 0..<count { target[j] = Self.outScale(Self.load(values, j, X.self), k) }
                    return
                }
                let gradients = dout! + lower * MemoryLayout<X>.stride
                for j in 0..<count {
                    let value = Self.load(values, j, X.self)
                    target[j] =
                        k.dxDout * Self.load(gradients, j, X.self).magnitude
                        + k.dxDeviation * (value - k.mean).magnitude + k.dxX * value.magnitude + k.dxConstant
                }
            }
        }
    }

    /// Value `j` of those of type `X` from `base`, at any alignment, widened exactly.
    @inline(__always)
    private static func load<X: BatchNormFloat>(_ base: UnsafeRawPointer, _ j: Int, _: X.Type) -> Double {
        base.loadUnaligned(fromByteOffset: j &* MemoryLayout<X>.stride, as: X.self).exactDouble
    }

    @inline(__always)
    static func outScale(_ value: Double, _ k: ElementScaleCoefficients) -> Double {
        k.outX * value.magnitude + k.outDeviation * (value - k.mean).magnitude + k.outConstant
    }

    /// The largest scale of out in channel `c` (0 for an empty channel), in four
    /// independent maxima: a maximum does not depend on the order (a NaN scale is never
    /// kept, as `max(largest, scale)` keeps the first argument when the second is NaN).
    static func largestOut<X: BatchNormFloat>(
        x: Elements<X>, shape: BatchNormShape, channel c: Int,
        _ k: ElementScaleCoefficients
    ) -> Double {
        var m = (0.0, 0.0, 0.0, 0.0)
        shape.forEachRun(ofChannel: c) { start, stride, count in
            var j = 0
            while j + 4 <= count {
                m.0 = max(m.0, outScale(x[start + j * stride].exactDouble, k))
                m.1 = max(m.1, outScale(x[start + (j + 1) * stride].exactDouble, k))
                m.2 = max(m.2, outScale(x[start + (j + 2) * stride].exactDouble, k))
                m.3 = max(m.3, outScale(x[start + (j + 3) * stride].exactDouble, k))
                j += 4
            }
            while j < count {
                m.0 = max(m.0, outScale(x[start + j * stride].exactDouble, k))
                j += 1
            }
        }
        return max(max(m.0, m.1), max(m.2, m.3))
    }
}
