/// Which of NaN, +Inf and -Inf occurred among a channel's values.
///
/// Exact arithmetic is defined on finite numbers only; a channel that holds a
/// non-finite value falls back to the rules in ``ChannelSolution``. Its plain sums
/// still follow IEEE 754 (a NaN, or infinities of both signs, give NaN; otherwise the
/// infinity), so `mean` and `dbeta` say which kind of value broke the channel.
struct NonFiniteTally: Sendable, Equatable {
    var nan = false
    var positiveInfinity = false
    var negativeInfinity = false

    var isFinite: Bool { !(nan || positiveInfinity || negativeInfinity) }

    mutating func note(_ value: Double) {
        if value.isNaN {
            nan = true
        } else if value == .infinity {
            positiveInfinity = true
        } else if value == -.infinity {
            negativeInfinity = true
        }
    }

    mutating func merge(_ other: NonFiniteTally) {
        nan = nan || other.nan
        positiveInfinity = positiveInfinity || other.positiveInfinity
        negativeInfinity = negativeInfinity || other.negativeInfinity
    }

    /// What IEEE summation of the channel gives, when it is not finite.
    var ieeeSum: Double {
        if nan || (positiveInfinity && negativeInfinity) { return .nan }
        return positiveInfinity ? .infinity : -.infinity
    }
}
