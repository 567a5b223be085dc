/// Four enclosed values rounded once to double, with the side of that double each exact
/// value lies on: a ``ChannelValue/certified(_:sticky:)`` per lane, trusted only in
/// the lanes of `decided`.
struct CertifiedLanes {
    var value: LaneValues
    /// -1, 0 or 1 per lane.
    var sticky: LaneValues
    var decided: LaneMask
}

extension EnclosureLanes {
    /// Each lane's value rounded once to double, decided where its enclosure decides it.
    ///
    /// `hi` is the nearest double to `hi + lo` (the invariant), so an exact enclosure is
    /// decided at once, ties included, with the sign of `lo` as its sticky. Otherwise
    /// every value within `radius` rounds to `hi` when `lo +- radius` stays strictly
    /// inside half the gaps to `hi`'s neighbours (compared with a margin of 2^-50 that
    /// the rounding of `lo + radius` cannot cross). The sign of `value - hi` is kept as
    /// well (see ``ChannelValue/certified(_:sticky:)``); it is needed only when `hi` could
    /// be a midpoint or the overflow threshold of a narrower format, which takes at most
    /// 25 significant bits, so only then must the enclosure decide it too. That last
    /// case (both signs possible) is rare and is checked lane by lane.
    ///
    /// Lane contract: a lane is decided exactly when its enclosure, alone, decides its
    /// rounding by these rules, and then carries the same value and sticky; a lane that
    /// is not tame, or beyond 2^1000, is never decided.
    @inline(__always)
    var certified: CertifiedLanes {
        let inRange = isTame .& (hi.magnitude .< 0x1p1000)
        let exact = radius .== 0
        let (up, down) = halfGaps
        let margin = 1 - 0x1p-50
        let inside = (hi .!= 0) .& (lo + radius .< up * margin) .& (lo - radius .> down.negated * margin)
        let above = lo - radius .> 0, below = lo + radius .< 0
        let sideKnown = above .| below
        var decided = inRange .& (exact .| (inside .& sideKnown))
        let tieAtStake = inRange .& .!exact .& inside .& .!sideKnown
        if any(tieAtStake) {
            for k in 0..<LaneValues.scalarCount where tieAtStake[k] && hi[k].significantBitCount > 25 {
                decided[k] = true
            }
        }
        let signOfLo = LaneValues.zero.replacing(with: -1, where: lo .< 0).replacing(with: 1, where: lo .> 0)
        let side = LaneValues.zero.replacing(with: -1, where: below).replacing(with: 1, where: above)
        return CertifiedLanes(value: hi + 0, sticky: side.replacing(with: signOfLo, where: exact), decided: decided)
    }

    /// Half the gaps from `hi` to its neighbours above and below, from the bit
    /// patterns: for a normal nonzero `hi` short of the largest binade, the magnitudes
    /// next to `|hi|` are its pattern plus and minus one, and the differences are exact,
    /// so these are `(hi.nextUp - hi)/2` and `(hi - hi.nextDown)/2`. (Other lanes get
    /// values that ``certified`` does not use.)
    @inline(__always)
    var halfGaps: (up: LaneValues, down: LaneValues) {
        let m = hi.magnitude
        let larger = LaneValues(bitPattern: m.bitPattern &+ 1) - m
        let smaller = m - LaneValues(bitPattern: m.bitPattern &- 1)
        let positive = hi .> 0
        return (
            larger.replacing(with: smaller, where: .!positive) * 0.5,
            smaller.replacing(with: larger, where: .!positive) * 0.5
        )
    }
}
