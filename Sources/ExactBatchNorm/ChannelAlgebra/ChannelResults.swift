/// Every channel's ``ChannelSolution``, in 56 bytes a channel wherever the solution
/// holds no big rational, as every one the certified solve makes does: the six
/// per-channel results as doubles with their stickies, and the flags. A solution that
/// does hold exact expressions or element terms (a channel the exact path solved) is
/// kept whole beside them. A problem with a million channels holds these at once, so
/// they are what its per-channel memory is made of.
///
/// A compact result is the same value as the solution it was made from: a
/// ``ChannelValue/special(_:)`` double rounds into every type exactly as a
/// ``ChannelValue/certified(_:sticky:)`` one with sticky 0 does, so both are kept as
/// the latter.
struct ChannelResults: Sendable, RandomAccessCollection {
    let compact: ChannelSlots<CompactSolution>
    /// The solutions that are not compact, by channel.
    let whole: [Int: ChannelSolution]

    var startIndex: Int { 0 }
    var endIndex: Int { compact.count }

    subscript(c: Int) -> ChannelSolution {
        let entry = compact[c]
        return entry.isWhole ? whole[c]! : entry.solution
    }

    /// Channel `c`'s `quantity`; nil for a gradient without `dout`.
    @inline(__always)
    func value(_ quantity: ChannelQuantity, of c: Int) -> ChannelValue? {
        let entry = compact[c]
        return entry.isWhole ? whole[c]!.value(quantity) : entry.value(quantity)
    }

    /// What the solve's workers write each channel's solution with: the compact ones
    /// into their slots, the whole ones returned, to be gathered into ``whole``.
    struct Writer: Sendable {
        let compact: ChannelSlots<CompactSolution>

        /// Stores channel `c`'s solution; returns it when it must be kept whole.
        func write(_ c: Int, solution: SolvedChannel) -> ChannelSolution? {
            switch solution {
            case .compact(let entry):
                compact.initialize(c, to: entry)
                return nil
            case .whole(let whole):
                let entry = CompactSolution(whole)
                compact.initialize(c, to: entry ?? .whole)
                return entry == nil ? whole : nil
            }
        }
    }
}

/// A channel's solution as the solve hands it over: compact from the certified solve,
/// whole from the exact one.
enum SolvedChannel {
    case compact(CompactSolution)
    case whole(ChannelSolution)

    var hasOutTerms: Bool {
        switch self {
        case .compact(let c): c.flags.contains(.hasOutTerms)
        case .whole(let w): w.hasOutTerms
        }
    }

    var hasDxTerms: Bool {
        switch self {
        case .compact(let c): c.flags.contains(.hasDxTerms)
        case .whole(let w): w.hasDxTerms
        }
    }

    var xFinite: Bool {
        switch self {
        case .compact(let c): c.flags.contains(.xFinite)
        case .whole(let w): w.xFinite
        }
    }
}

extension ChannelSolution {
    /// The per-channel result `quantity`; nil for a gradient without `dout`.
    func value(_ quantity: ChannelQuantity) -> ChannelValue? {
        switch quantity {
        case .mean: return mean
        case .invstd: return invstd
        case .runningMean: return runningMean
        case .runningVar: return runningVar
        case .dgamma: return dgamma
        case .dbeta: return dbeta
        }
    }
}

/// A ``ChannelSolution`` without big rationals: six doubles, their stickies (two bits
/// each) and the solution's flags.
struct CompactSolution: Sendable {
    private let values: InlineArray<6, Double>
    private let stickies: UInt16
    let flags: Flags

    struct Flags: OptionSet, Sendable {
        let rawValue: UInt8
        static let hasOutTerms = Flags(rawValue: 1)
        static let hasDxTerms = Flags(rawValue: 2)
        static let xFinite = Flags(rawValue: 4)
        static let isCertified = Flags(rawValue: 8)
        static let hasGradients = Flags(rawValue: 16)
        /// The solution is kept whole elsewhere (``ChannelResults/whole``).
        static let isWhole = Flags(rawValue: 32)
    }

    static let whole = CompactSolution(
        values: .init(repeating: 0), stickies: .init(repeating: 0), flags: .isWhole)

    /// The results in ``ChannelQuantity`` order (the gradients' ignored without
    /// ``Flags/hasGradients``), each a double and the sticky (-1, 0 or 1) of a
    /// ``ChannelValue/certified(_:sticky:)``.
    init(values: InlineArray<6, Double>, stickies: InlineArray<6, Int8>, flags: Flags) {
        var packed: UInt16 = 0
        for k in 0..<6 { packed |= UInt16(UInt8(bitPattern: stickies[k]) & 3) << (2 * k) }
        (self.values, self.stickies, self.flags) = (values, packed, flags)
    }

    /// `solution` made compact, or nil when it holds an exact expression, element terms
    /// or fast constants.
    init?(_ solution: ChannelSolution) {
        guard solution.terms == nil, solution.fastBox == nil, (solution.dgamma == nil) == (solution.dbeta == nil)
        else { return nil }
        var values = InlineArray<6, Double>(repeating: 0)
        var stickies = InlineArray<6, Int8>(repeating: 0)
        for (k, quantity) in ChannelQuantity.allCases.enumerated() {
            switch solution.value(quantity) {
            case .exact: return nil
            case .certified(let d, let sticky): (values[k], stickies[k]) = (d, sticky)
            case .special(let d): values[k] = d
            case nil: break
            }
        }
        var flags: Flags = []
        if solution.hasOutTerms { flags.insert(.hasOutTerms) }
        if solution.hasDxTerms { flags.insert(.hasDxTerms) }
        if solution.xFinite { flags.insert(.xFinite) }
        if solution.isCertified { flags.insert(.isCertified) }
        if solution.dgamma != nil { flags.insert(.hasGradients) }
        self.init(values: values, stickies: stickies, flags: flags)
    }

    var isWhole: Bool { flags.contains(.isWhole) }

    /// The result `quantity` (the `k`th of ``ChannelQuantity``); nil for a gradient
    /// without `dout`.
    @inline(__always)
    func value(_ quantity: ChannelQuantity) -> ChannelValue? {
        let k = quantity.index
        if k >= 4 && !flags.contains(.hasGradients) { return nil }
        // Two bits back to -1, 0 or 1: 3 (the low bits of -1) sign-extends to -1.
        let sticky = Int8(bitPattern: UInt8(truncatingIfNeeded: stickies >> (2 * k)) << 6) >> 6
        return .certified(values[k], sticky: sticky)
    }

    /// The solution it was made from, up to ``ChannelValue/special(_:)`` values coming
    /// back as the certified ones they round like.
    var solution: ChannelSolution {
        ChannelSolution(
            mean: value(.mean)!, invstd: value(.invstd)!, runningMean: value(.runningMean)!,
            runningVar: value(.runningVar)!, dgamma: value(.dgamma), dbeta: value(.dbeta), terms: nil,
            fastBox: nil, hasOutTerms: flags.contains(.hasOutTerms), hasDxTerms: flags.contains(.hasDxTerms),
            xFinite: flags.contains(.xFinite), isCertified: flags.contains(.isCertified))
    }
}

extension ChannelQuantity {
    /// The position in ``allCases``.
    var index: Int {
        switch self {
        case .mean: 0
        case .invstd: 1
        case .runningMean: 2
        case .runningVar: 3
        case .dgamma: 4
        case .dbeta: 5
        }
    }
}
