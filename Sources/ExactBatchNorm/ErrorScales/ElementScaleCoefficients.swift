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
struct ElementScaleCoefficients {
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

/// The scales of every element's out and dx, and the largest scale of out per channel.
struct ElementScalePass {
    var out: [Double]
    var dx: [Double]?
    var largestOut: [Double]

    init<X: BatchNormFloat>(
        x: UnsafeBufferPointer<X>, dout: UnsafeBufferPointer<X>?, shape: BatchNormShape,
        coefficients: [ElementScaleCoefficients]
    ) {
        var largestOut = [Double](repeating: 0, count: coefficients.count)
        out = [Double](unsafeUninitializedCapacity: x.count) { outScales, initialized in
            shape.forEachChannelRun { c, start, stride, count in
                let k = coefficients[c]
                var largest = largestOut[c]
                for j in 0 ..< count {
                    let index = start + j * stride
                    let value = x[index].exactDouble
                    let scale = k.outX * value.magnitude + k.outDeviation * (value - k.mean).magnitude + k.outConstant
                    outScales[index] = scale
                    largest = max(largest, scale)
                }
                largestOut[c] = largest
            }
            initialized = x.count
        }
        self.largestOut = largestOut
        dx = dout.map { dout in
            [Double](unsafeUninitializedCapacity: dout.count) { dxScales, initialized in
                shape.forEachChannelRun { c, start, stride, count in
                    let k = coefficients[c]
                    for j in 0 ..< count {
                        let index = start + j * stride
                        let value = x[index].exactDouble
                        dxScales[index] = k.dxDout * dout[index].exactDouble.magnitude
                            + k.dxDeviation * (value - k.mean).magnitude + k.dxX * value.magnitude + k.dxConstant
                    }
                }
                initialized = dout.count
            }
        }
    }
}
