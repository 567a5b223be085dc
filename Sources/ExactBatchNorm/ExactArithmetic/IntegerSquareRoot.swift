import BigInt

extension BigInt {
    /// `floor(sqrt(self))` for `self >= 0`.
    ///
    /// Newton's iteration doubles the number of correct bits per step, so the start
    /// matters: a double square root of the leading 52 bits gives about 50 correct bits
    /// at once, where starting from a power of two would spend five or six big
    /// divisions getting there. The channel algebra takes many square roots of numbers
    /// of a few hundred bits, and this is most of its cost.
    func integerSquareRoot() -> BigInt {
        precondition(sign == .plus || isZero, "square root of a negative integer")
        let n = self.magnitude
        let width = n.bitWidth
        if width <= 52 {
            var r = BigUInt(UInt64(Double(UInt64(n)).squareRoot()))
            while r * r > n { r -= 1 }
            while (r + 1) * (r + 1) <= n { r += 1 }
            return BigInt(r)
        }
        // n = t * 2^s with t of 52 or 53 bits and s even; sqrt(n) ~ sqrt(t) * 2^(s/2).
        var s = width - 52
        if s & 1 == 1 { s += 1 }
        let t = Double(UInt64(n >> s))
        // sqrt(t) * 2^26 has about 52 significant bits and is within one unit of the
        // truth (t lost less than one unit, the double square root half a unit); adding
        // 2 puts the start strictly above sqrt(n), where Newton's iteration descends.
        let start = UInt64(t.squareRoot() * 0x1p26) + 2
        let shift = s / 2 - 26
        var x = shift >= 0 ? BigUInt(start) << shift : (BigUInt(start) >> -shift) + 1
        // Newton from above: x_{k+1} = (x_k + n / x_k) / 2 decreases to floor(sqrt n).
        while true {
            let y = (x + n / x) >> 1
            if y >= x { break }
            x = y
        }
        while x * x > n { x -= 1 }
        while (x + 1) * (x + 1) <= n { x += 1 }
        return BigInt(x)
    }
}
