/// What the element loops need of every channel, in as few bytes per channel as the
/// path allows, since a problem with a million channels holds one per channel at once.
///
/// Where the types allow the per-channel bound (``ChannelBoundFormulas``: data and
/// outputs of at most 24 bits), a channel costs its 80-byte ``ChannelBound`` and a byte
/// of ``ChannelPath``; the fast constants it was made from, which only the rare
/// element in doubt needs, are solved again for it on demand
/// (``SolvedChannels/fastConstants(_:)``). The few channels there without a bound (a
/// non-finite `x` in evaluation) keep their constants aside. Otherwise (float64 data or
/// outputs) every channel keeps its ``FastConstants``. Nothing here is reference
/// counted per channel, so reading a channel's plan for every run costs no atomic retain.
struct ChannelPlans: Sendable {
    /// The scale of `x` and of `dout` in the centred values, the same for every channel:
    /// `M` in training, 1 in evaluation.
    let scale: Double
    let storage: Storage
    /// The constants of the general channels when the types allow the bound.
    let aside: [Int: FastConstants]

    @inline(__always)
    func path(_ c: Int) -> ChannelPath { storage.paths[c] }

    /// The bound formulas of a channel whose path is ``ChannelPath/Kind/bound``.
    @inline(__always)
    func boundFormulas(_ c: Int) -> ChannelBoundFormulas {
        ChannelBoundFormulas(scale: scale, bound: storage.bounds![c])
    }

    /// The constants of a channel whose path is ``ChannelPath/Kind/general``.
    func constants(_ c: Int) -> FastConstants { storage.general?[c] ?? aside[c]! }
}

/// How the element pass treats one channel, in a byte.
struct ChannelPath: Sendable {
    enum Kind: UInt8 {
        /// No fast constants: every element is NaN or exact.
        case exact
        /// The per-channel bound (``ChannelBoundFormulas``).
        case bound
        /// The general fast path (``FastFormulas``) with the channel's constants.
        case general
    }
    private let bits: UInt8

    init(_ kind: Kind, hasOut: Bool, hasDx: Bool) {
        bits = kind.rawValue | (hasOut ? 4 : 0) | (hasDx ? 8 : 0)
    }

    var kind: Kind { Kind(rawValue: bits & 3)! }
    /// Whether `out` has terms; false when every `out` is NaN by the non-finite rules.
    var hasOut: Bool { bits & 4 != 0 }
    /// Whether `dx` is wanted and has terms.
    var hasDx: Bool { bits & 8 != 0 }
}

extension ChannelPlans {
    /// Every channel's path; where the types allow the bound, every channel's bound (zero
    /// where the path is another), else every channel's constants (zero where the path
    /// is exact), each written once by the solve's workers (``Writer``).
    struct Storage: Sendable {
        let paths: ChannelSlots<ChannelPath>
        let bounds: ChannelSlots<ChannelBound>?
        let general: ChannelSlots<FastConstants>?

        init(count: Int, perChannelBound: Bool) {
            paths = ChannelSlots(count: count)
            bounds = perChannelBound ? ChannelSlots(count: count) : nil
            general = perChannelBound ? nil : ChannelSlots(count: count)
        }
    }

    /// What the solve's workers write each channel's plan with.
    struct Writer: Sendable {
        let storage: Storage
        let scale: Double
        let wantsDx: Bool

        /// Initializes channel `c`'s slots from its solution and fast constants; returns
        /// the constants when they are to be kept aside. Inlined into the solve's loop:
        /// called out of line, the 137-byte `FastConstants?` went in and out through
        /// memory and the loads of its pieces stalled, 8% of a (4,512,7,7) run.
        @inline(__always)
        func write(_ c: Int, solution: SolvedChannel, fast: FastConstants?) -> FastConstants? {
            let hasOut = solution.hasOutTerms, hasDx = wantsDx && solution.hasDxTerms
            let constants = hasOut || hasDx ? fast : nil
            let bound =
                storage.bounds != nil && solution.xFinite
                ? constants.flatMap { ChannelBound($0, scale: scale) } : nil
            let kind: ChannelPath.Kind = constants == nil ? .exact : bound == nil ? .general : .bound
            storage.paths.initialize(c, to: ChannelPath(kind, hasOut: hasOut, hasDx: hasDx))
            storage.bounds?.initialize(c, to: bound ?? .zero)
            storage.general?.initialize(c, to: constants ?? .zero)
            return kind == .general && storage.general == nil ? constants : nil
        }
    }
}
