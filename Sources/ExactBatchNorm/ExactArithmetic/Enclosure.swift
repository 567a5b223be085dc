/// One real number known to lie within `radius` of the double-double `hi + lo`: how an
/// exact sum hands itself to the certified channel solve (``ExactAccumulator/enclosure``),
/// which gathers four channels' into the lanes of ``EnclosureLanes``.
///
/// Its arithmetic is the lanes' (whose documentation states the error analysis): the
/// addition below is lane 0 of theirs, so one implementation serves both, and an
/// enclosure computed here has the bits the same steps give in any lane.
struct Enclosure: Sendable {
    var hi: Double
    var lo: Double
    var radius: Double

    init(hi: Double, lo: Double = 0, radius: Double = 0) {
        self.hi = hi
        self.lo = lo
        self.radius = radius
    }

    /// An exact double.
    init(_ value: Double) { self.init(hi: value) }

    static var zero: Enclosure { Enclosure(hi: 0) }

    static func + (a: Enclosure, b: Enclosure) -> Enclosure {
        (EnclosureLanes(repeating: a) + EnclosureLanes(repeating: b))[lane: 0]
    }

    static prefix func - (a: Enclosure) -> Enclosure { Enclosure(hi: -a.hi, lo: -a.lo, radius: a.radius) }
}

extension Double {
    /// How many significant bits a finite nonzero double has.
    var significantBitCount: Int {
        let (m, _) = integerSignificandAndExponent
        let magnitude = m.magnitude
        return magnitude.bitWidth - magnitude.leadingZeroBitCount - magnitude.trailingZeroBitCount
    }
}
