import BigInt
import RealModule

/// An exact sum of binary floating-point numbers (a "superaccumulator").
///
/// Most of a channel's sum lives in one `Int128`, `near * 2^nearExponent`: an addend
/// is shifted onto the finer of the two exponents and added, which is exact as long as
/// both stay below 2^124 in magnitude (then their sum is below 2^125, inside `Int128`).
/// For one channel of real data the addends span a few dozen binades at most (the
/// one-pass sums' parts, or a block's levels), so this is all there is: no allocation,
/// and an addition is a shift and an add. Whatever does not fit — an addend too far
/// above or below the others, or a sum grown past 2^124 — spills into the far digits:
/// fixed point as 32-bit digits stored in `Int64` words, so adding never rounds there
/// either; each word has 31 spare bits, so carries need resolving only after about 2^30
/// additions — in practice when the sum is read. The far digits cover only the span of
/// exponents actually seen (``DigitWindow``). The value is always `near` plus the far
/// digits, exactly.
///
/// Because the sum is exact, it does not depend on the order of the additions: partial
/// accumulators from different threads or tiles merge to the same bits every time.
struct ExactAccumulator: Sendable {
    /// Weight of the lowest bit of digit 0: below the smallest product of two subnormal
    /// doubles (2^-2148), so every product the engine forms fits.
    private static let lowestBit = -2240
    /// Digit `d` has weight `2^(lowestBit + 32 * d)`.
    private var words = DigitWindow()
    private var additions = 0
    /// The near part of the sum, `near * 2^nearExponent`, with `|near| < 2^124`.
    private var near: Int128 = 0
    private var nearExponent = 0

    /// Magnitudes below this bound are added in `near` (a literal: a stored static
    /// would cost a lazy-initialization check on every addition).
    private static var nearLimit: UInt128 { 1 << 124 }

    init() {}

    var isZero: Bool {
        var zero = near == 0
        words.forEach { if $0 != 0 { zero = false } }
        return zero
    }

    /// Adds `significand * 2^exponent` exactly; `|significand| < 2^124`.
    @inline(__always)
    mutating func add(significand: Int128, exponent: Int) {
        if significand == 0 { return }
        if near == 0 {
            (near, nearExponent) = (significand, exponent)
            return
        }
        if addNear(significand: significand, exponent: exponent) { return }
        addFar(significand: significand, exponent: exponent)
    }

    /// Adds into `near` when both operands, aligned on the finer exponent, stay below
    /// 2^124; returns false, having changed nothing, otherwise. A sum that reaches 2^124
    /// moves to the far digits, so `near` is below the limit again.
    @inline(__always)
    private mutating func addNear(significand: Int128, exponent: Int) -> Bool {
        let shift = nearExponent - exponent
        if shift >= 0 {
            guard shift < 124, near.magnitude.leadingZeroBitCount > shift + 4 else { return false }
            near = (near << shift) + significand
            nearExponent = exponent
        } else {
            guard shift > -124, significand.magnitude.leadingZeroBitCount > 4 - shift else { return false }
            near += significand << -shift
        }
        if near.magnitude >= Self.nearLimit {
            addFar(significand: near, exponent: nearExponent)
            near = 0
        }
        return true
    }

    /// Adds `significand * 2^exponent` exactly into the far digits; `|significand| < 2^124`.
    private mutating func addFar(significand: Int128, exponent: Int) {
        if significand == 0 { return }
        let offset = exponent - Self.lowestBit
        precondition(offset >= 0, "exponent below the accumulator's range")
        var digit = offset >> 5
        let shift = offset & 31
        // Room for the first partial digit, the full digits the significand reaches and
        // the sign: at most six for 124 bits, two or three for one value.
        let width = 128 - significand.magnitude.leadingZeroBitCount
        words.reserve(digit..<digit + 2 + (shift + width) / 32)
        var v = significand
        let lowWidth = 32 - shift
        let low = Int64(truncatingIfNeeded: v & ((Int128(1) << lowWidth) - 1))
        words.add(low << shift, at: digit)
        v >>= lowWidth
        digit += 1
        while v != 0 && v != -1 {
            words.add(Int64(truncatingIfNeeded: v & 0xFFFF_FFFF), at: digit)
            v >>= 32
            digit += 1
        }
        // An arithmetic shift leaves -1 for the infinite run of sign bits: -1 at this digit.
        if v == -1 { words.add(-1, at: digit) }
        additions += 1
        if additions >= 1 << 29 { normalize() }
    }

    /// Adds a finite double exactly.
    @inline(__always)
    mutating func add(_ value: Double) {
        if value == 0 { return }
        let (m, e) = value.integerSignificandAndExponent
        add(significand: Int128(m), exponent: e)
    }

    /// Adds the exact product of two finite doubles: the 106-bit product of their integer
    /// significands fits an `Int128`, so no error-free transformation is needed and no
    /// underflow or overflow can occur.
    @inline(__always)
    mutating func addProduct(_ a: Double, _ b: Double) {
        if a == 0 || b == 0 { return }
        let (ma, ea) = a.integerSignificandAndExponent
        let (mb, eb) = b.integerSignificandAndExponent
        add(significand: Int128(ma) * Int128(mb), exponent: ea + eb)
    }

    mutating func add(_ other: ExactAccumulator) {
        add(significand: other.near, exponent: other.nearExponent)
        if other.words.count == 0 { return }
        let start = other.words.base
        words.reserve(start..<start + other.words.count + 1)
        var digit = start
        other.words.forEach { w in
            words.add(w, at: digit)
            digit += 1
        }
        additions += other.additions + 1
        if additions >= 1 << 29 { normalize() }
    }

    /// The exact sum.
    ///
    /// Built from machine words in one carry pass: the digits in base 2^32 become the
    /// two's-complement bits of the sum, which are negated if the final carry says the
    /// sum is negative and handed to `BigUInt` whole (shifting a growing big integer
    /// digit by digit cost more than the rest of a channel's algebra).
    var value: ExactRational {
        var whole = self
        whole.spillNear()
        return whole.farValue
    }

    /// Moves `near` into the far digits.
    private mutating func spillNear() {
        addFar(significand: near, exponent: nearExponent)
        near = 0
    }

    /// The far digits' exact sum (see ``value``).
    private var farValue: ExactRational {
        var digits: [UInt32] = []
        digits.reserveCapacity(words.count + 3)
        var carry: Int64 = 0
        words.forEach { w in
            // |w| < 2^62 and |carry| < 2^31 between normalizations: no overflow.
            let v = w + carry
            digits.append(UInt32(truncatingIfNeeded: v))
            carry = v >> 32
        }
        while carry != 0 && carry != -1 {
            digits.append(UInt32(truncatingIfNeeded: carry))
            carry >>= 32
        }
        let negative = carry == -1
        if negative {
            // Two's complement: invert and add one.
            var add: UInt64 = 1
            for i in digits.indices {
                let v = UInt64(~digits[i]) + add
                digits[i] = UInt32(truncatingIfNeeded: v)
                add = v >> 32
            }
            if add != 0 { digits.append(UInt32(add)) }
        }
        var packed = [UInt](repeating: 0, count: (digits.count + 1) / 2)
        for (i, d) in digits.enumerated() { packed[i / 2] |= UInt(d) << (32 * (i % 2)) }
        let magnitude = BigUInt(words: packed)
        if magnitude.isZero { return .zero }
        let tz = magnitude.trailingZeroBitCount
        let n = BigInt(sign: negative ? .minus : .plus, magnitude: magnitude >> tz)
        return ExactRational(dyadic: n, exponent: Self.lowestBit + 32 * words.base + tz)
    }

    /// The exact sum as an ``Enclosure``, without big integers. One carry pass finds
    /// the sign; a second, on the words negated if the sum is negative, turns them into
    /// digits in [0, 2^32) under a non-negative top carry, each an exact double once
    /// scaled. Their partial sums (lowest first) are the low bits of the sum's magnitude,
    /// so the enclosure's additions are exact whenever the sum spans at most 106 bits,
    /// and otherwise charge what they drop. Nil when a digit lies outside the range of
    /// doubles the enclosure is built in; whether the sum is inside the range the
    /// certified solve works in is the solve's to check (``EnclosureLanes/isTame``), four
    /// channels at once.
    var enclosure: Enclosure? {
        if words.count == 0 { return nearEnclosure }
        var whole = self
        whole.spillNear()
        return whole.farEnclosure
    }

    /// The enclosure of `near` alone: its magnitude's 32-bit digits, lowest first, each
    /// an exact double once scaled, summed as the far digits are.
    private var nearEnclosure: Enclosure? {
        let magnitude = near.magnitude
        let width = UInt128.bitWidth - magnitude.leadingZeroBitCount
        if width <= 106 {
            // Two exact doubles, the top 53 bits and the rest: their two-sum is the value
            // as a double-double, exactly.
            let cut = max(0, width - 53)
            let top = magnitude >> cut, rest = magnitude - (top << cut)
            let exponent = nearExponent + cut
            guard exponent > -1000, exponent + 53 < 1000, nearExponent > -1000 else { return nil }
            // Both parts are below 2^53, so their signed conversions are exact: one
            // instruction each, where an unsigned one takes a dozen without AVX-512.
            let (h, l) = Augmented.sum(
                Double(Int64(truncatingIfNeeded: top)) * Self.powerOfTwo(exponent),
                Double(Int64(truncatingIfNeeded: rest)) * Self.powerOfTwo(nearExponent))
            return Enclosure(hi: near < 0 ? -h : h, lo: near < 0 ? -l : l)
        }
        var rest = magnitude
        var total = Enclosure.zero
        var weight = nearExponent
        while rest != 0 {
            let digit = UInt64(truncatingIfNeeded: rest) & 0xFFFF_FFFF
            if digit != 0 {
                guard weight > -1000, weight < 1000 - 32 else { return nil }
                total = total + Enclosure(Double(digit) * Self.powerOfTwo(weight))
            }
            rest >>= 32
            weight += 32
        }
        return near < 0 ? -total : total
    }

    private var farEnclosure: Enclosure? {
        var carry: Int64 = 0
        words.forEach { carry = ($0 + carry) >> 32 }  // no overflow, as in `value`
        let flip: Int64 = carry < 0 ? -1 : 1
        var total = Enclosure.zero
        var weight = Self.lowestBit + 32 * words.base
        var inRange = true
        carry = 0
        words.forEach { w in
            let v = flip * w + carry
            let digit = v & 0xFFFF_FFFF
            carry = v >> 32
            if digit != 0 {
                if weight <= -1000 || weight >= 1000 {
                    inRange = false
                } else {
                    total = total + Enclosure(Double(digit) * Self.powerOfTwo(weight))
                }
            }
            weight += 32
        }
        guard inRange else { return nil }
        if carry != 0 {
            guard weight < 1000 else { return nil }
            total = total + Enclosure(Double(carry) * Self.powerOfTwo(weight))
        }
        return flip < 0 ? -total : total
    }

    /// `2^k` for `-1022 <= k <= 1023`, from its bit pattern (the generic initializer
    /// from sign, exponent and significand costs more than the sum it scales).
    @inline(__always)
    static func powerOfTwo(_ k: Int) -> Double { Double(bitPattern: UInt64(k + 1023) << 52) }

    /// Resolves carries so that every digit but the top one lies in [0, 2^32).
    private mutating func normalize() {
        guard words.count > 0 else { return }
        let start = words.base, end = start + words.count
        words.reserve(start..<end + 2)
        for d in start..<end - 1 {
            let carry = words[d] >> 32
            words.add(-(carry << 32), at: d)
            words.add(carry, at: d + 1)
        }
        additions = 0
    }
}

/// The digits of an ``ExactAccumulator``: a window `base ..< base + count` of `Int64`
/// words.
///
/// The words live in one heap array. A version that held windows of up to eight words
/// in an `InlineArray` gave wrong sums in release builds once accumulators were merged
/// across threads (the notebook's second channel came out with a negative variance with
/// two threads, right with one, and right with the heap array); until that is
/// understood and covered by a test that runs optimized code, the array stays.
struct DigitWindow: Sendable {
    private(set) var base = 0
    private var words: [Int64] = []

    var count: Int { words.count }

    subscript(digit: Int) -> Int64 { words[digit - base] }

    /// Adds `value` (wrapping) to a digit inside the window.
    @inline(__always)
    mutating func add(_ value: Int64, at digit: Int) {
        words[digit - base] &+= value
    }

    /// Calls `body` with every word, lowest first.
    @inline(__always)
    func forEach(_ body: (Int64) -> Void) {
        for w in words { body(w) }
    }

    /// Grows the window to cover `digits` (new digits are zero).
    @inline(__always)
    mutating func reserve(_ digits: Range<Int>) {
        if words.isEmpty {
            base = digits.lowerBound
            words = Array(repeating: 0, count: digits.count)
            return
        }
        let lower = min(base, digits.lowerBound), upper = max(base + count, digits.upperBound)
        if lower == base && upper == base + count { return }
        var wide = [Int64](repeating: 0, count: upper - lower)
        for i in 0..<count { wide[base - lower + i] = words[i] }
        (words, base) = (wide, lower)
    }
}
