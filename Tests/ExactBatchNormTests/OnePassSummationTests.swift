import Testing

@testable import ExactBatchNorm

/// The one-pass integer sums against the plainest exact oracle: every value and every
/// product added one by one to a superaccumulator (itself checked against rationals in
/// ``ExactArithmeticTests``).
/// Also that the path declines what it cannot hold, and takes what it should, so that a
/// regression to "always fall back" would fail here rather than only in a benchmark.
@Suite struct OnePassSummationTests {
    enum Data: String, CaseIterable, CustomTestStringConvertible {
        case normal, offset, tiny, huge, zeroX, zeroDout, mixedSigns, spread26, bothAtTheEdge
        var testDescription: String { rawValue }
    }

    static func data(_ kind: Data, count: Int, seed: UInt64) -> (x: [Double], dout: [Double]) {
        var g = TestGenerator(state: seed)
        var x = [Double](), dout = [Double]()
        for i in 0..<count {
            let u = g.uniform() - 0.5, w = g.uniform() - 0.5
            switch kind {
            case .normal:
                x.append(u * 6)
                dout.append(w)
            case .offset:
                x.append(1000 + u / 64)
                dout.append(1)
            case .tiny:
                x.append(u * 0x1p-120)
                dout.append(w * 0x1p-126)
            case .huge:
                x.append(u * 0x1p120)
                dout.append(w * 0x1p100)
            case .zeroX:
                x.append(0)
                dout.append(w)
            case .zeroDout:
                x.append(u)
                dout.append(i % 2 == 0 ? 0 : -0.0)
            case .mixedSigns:
                x.append(i % 2 == 0 ? -0.0 : -u)
                dout.append(-w)
            // Exponents 26 below the largest still fit the first level (27 do not), and
            // their squares sit on the second level's last bit.
            case .spread26:
                x.append(i == 0 ? 1 : (1 + u.magnitude / 2) * 0x1p-26)
                dout.append(w)
            // Both factors span exactly 26 binades with their last bits set: the products
            // x*dout then reach the second level's last bit.
            case .bothAtTheEdge:
                let edge = 0x1.000002p-26 * (i % 3 == 0 ? -1.0 : 1.0)
                x.append(i == 0 ? 1 : (i % 2 == 1 ? edge : u))
                dout.append(i == 0 ? -1 : (i % 2 == 1 ? -edge : w))
            }
        }
        return (x, dout)
    }

    /// Runs the one-pass sums on `x`, `dout` stored as `X` and compares all four with
    /// one-by-one exact accumulation; returns whether the path took the run.
    func check<X: BatchNormFloat>(_: X.Type, _ x: [Double], _ dout: [Double]?) -> Bool {
        let xs = x.map { X($0) }, ds = dout.map { $0.map { X($0) } }
        var sums = ChannelSums()
        let taken = xs.withUnsafeBytes { xb in
            let run = { (d: Elements<X>?) in
                OnePassSummation.accumulate(x: Elements<X>(xb.baseAddress!), dout: d, count: xs.count, into: &sums)
            }
            if let ds { return ds.withUnsafeBytes { db in run(Elements<X>(db.baseAddress!)) } }
            return run(nil)
        }
        guard taken else {
            #expect(
                sums.x.isZero && sums.xx.isZero && sums.dout.isZero && sums.xDout.isZero,
                "a declined run must add nothing")
            return false
        }
        Self.expectOneByOne(sums, x: xs.map(\.exactDouble), dout: ds?.map(\.exactDouble))
        return true
    }

    /// Expects `sums` to be the sums of `x` (and `dout`) added one by one, exactly.
    static func expectOneByOne(_ sums: ChannelSums, x: [Double], dout: [Double]?) {
        var s = ExactAccumulator(), q = s, t = s, p = s
        for (i, v) in x.enumerated() {
            s.add(v)
            q.addProduct(v, v)
            if let dout {
                t.add(dout[i])
                p.addProduct(v, dout[i])
            }
        }
        #expect(ExactRational.compare(sums.x.value, s.value) == 0)
        #expect(ExactRational.compare(sums.xx.value, q.value) == 0)
        #expect(ExactRational.compare(sums.dout.value, t.value) == 0)
        #expect(ExactRational.compare(sums.xDout.value, p.value) == 0)
    }

    @Test(arguments: Data.allCases)
    func float32SumsAreExact(_ kind: Data) {
        for (count, seed) in [(8, UInt64(1)), (512, 2), (1000, 3), (4096, 4)] {
            let (x, dout) = Self.data(kind, count: count, seed: seed)
            #expect(check(Float.self, x, dout), "\(kind) with \(count) values should take the one-pass path")
            #expect(check(Float.self, x, nil))
        }
    }

    /// Runs that are not whole lanes (a 7x7 plane is 49 values, BatchNorm1d rows may be
    /// anything) take the path too: the tail goes one value at a time on the same levels.
    @Test(arguments: Data.allCases)
    func runsOfAnyLengthAreExact(_ kind: Data) {
        for (count, seed) in [(1, UInt64(21)), (2, 22), (7, 23), (12, 24), (49, 25), (196, 26), (4095, 27)] {
            let (x, dout) = Self.data(kind, count: count, seed: seed)
            #expect(check(Float.self, x, dout), "\(kind) with \(count) values should take the one-pass path")
            #expect(check(Float.self, x, nil))
            #expect(check(Float16.self, x.map { $0.magnitude < 60000 ? $0 : 1 }, nil) || kind == .tiny || kind == .huge)
            #expect(check(BFloat16.self, x, dout) || kind == .tiny || kind == .huge)
        }
    }

    @Test(arguments: [Data.normal, .offset, .zeroX, .mixedSigns])
    func float16SumsAreExact(_ kind: Data) {
        let (x, dout) = Self.data(kind, count: 512, seed: 9)
        #expect(check(Float16.self, x, dout))
    }

    /// What the path must decline, leaving the run to the general summation.
    @Test func declinesWhatItCannotHold() {
        var (x, dout) = Self.data(.normal, count: 512, seed: 5)
        // A float32 value 40 binades below the largest, with its last bit set, does not
        // fit the first level; neither does one 27 below.
        x[7] = 0x1.000002p-40
        #expect(!check(Float.self, x, dout))
        (x, dout) = Self.data(.normal, count: 512, seed: 6)
        dout[3] = 0x1.000002p-60
        #expect(!check(Float.self, x, dout))
        #expect(!check(Float.self, [1, 0x1.000002p-27, 0, 0, 0, 0, 0, 0], nil))
        // Non-finite values are the general path's to tally.
        for bad in [Double.nan, .infinity, -.infinity] {
            (x, dout) = Self.data(.normal, count: 64, seed: 7)
            x[5] = bad
            #expect(!check(Float.self, x, dout))
            (x, dout) = Self.data(.normal, count: 64, seed: 7)
            dout[5] = bad
            #expect(!check(Float.self, x, dout))
        }
        // Runs too long for the integer sums, or float64 data.
        #expect(!check(Float.self, Array(repeating: 1, count: 4104), nil))
        #expect(!OnePassSummation.applies(Double.self, stride: 1))
        #expect(!OnePassSummation.applies(Float.self, stride: 3))
    }

    /// The general path and the one-pass path agree through the whole summation,
    /// including the fallback runs mixed in with taken ones.
    @Test func channelSumsAgreeAcrossLayouts() throws {
        // Planes of 2000 values are one run each; the first plane's tiny dout values make
        // it fall back to the general path (in 512-value blocks), the others are taken.
        let n = 3, c = 2, l = 2000
        var g = TestGenerator(state: 11)
        var x = [Float](), dout = [Float]()
        for i in 0..<n * c * l {
            x.append(Float((g.uniform() - 0.5) * 8))
            dout.append(i < l && i % 97 == 0 ? 0x1.000002p-50 : Float(g.uniform() - 0.5))
        }
        // The same values in channels-last order take the general path.
        var xLast = x, doutLast = dout
        for b in 0..<n {
            for ch in 0..<c {
                for s in 0..<l {
                    xLast[(b * l + s) * c + ch] = x[(b * c + ch) * l + s]
                    doutLast[(b * l + s) * c + ch] = dout[(b * c + ch) * l + s]
                }
            }
        }
        func sums(_ x: [Float], _ d: [Float], _ layout: ChannelLayout) throws -> [ChannelSums] {
            let dims = layout == .channelsFirst ? [n, c, l] : [n, l, c]
            let shape = try BatchNormShape(dimensions: dims, layout: layout)
            return x.withUnsafeBytes { xb in
                d.withUnsafeBytes { db in
                    ChannelSummation.sums(
                        x: Elements<Float>(xb.baseAddress!), dout: Elements<Float>(db.baseAddress!),
                        shape: shape, training: true, threads: 2)
                }
            }
        }
        let first = try sums(x, dout, .channelsFirst), last = try sums(xLast, doutLast, .channelsLast)
        for ch in 0..<c {
            #expect(ExactRational.compare(first[ch].x.value, last[ch].x.value) == 0)
            #expect(ExactRational.compare(first[ch].xx.value, last[ch].xx.value) == 0)
            #expect(ExactRational.compare(first[ch].dout.value, last[ch].dout.value) == 0)
            #expect(ExactRational.compare(first[ch].xDout.value, last[ch].xDout.value) == 0)
        }
    }

    /// `planes` runs of `count` values laid out `stride` apart, with NaN in the gaps, so
    /// that a read outside the planes would show.
    static func planeLayout(_ values: [Double], count: Int, planes: Int, stride: Int) -> [Double] {
        var laid = [Double](repeating: .nan, count: (planes - 1) * stride + count)
        for p in 0..<planes {
            for k in 0..<count { laid[p * stride + k] = values[p * count + k] }
        }
        return laid
    }

    /// The one-pass sums of values in several planes (``OnePassSummation/Planes``), against
    /// one-by-one exact accumulation of the same values; returns whether the path took them.
    func checkPlanes<X: BatchNormFloat>(
        _: X.Type, _ x: [Double], _ dout: [Double], count: Int, planes: Int, stride: Int
    ) -> Bool {
        let xs = Self.planeLayout(x, count: count, planes: planes, stride: stride).map { X($0) }
        let ds = Self.planeLayout(dout, count: count, planes: planes, stride: stride).map { X($0) }
        var sums = ChannelSums()
        let taken = xs.withUnsafeBytes { xb in
            ds.withUnsafeBytes { db in
                OnePassSummation.accumulate(
                    x: Elements<X>(xb.baseAddress!), dout: Elements<X>(db.baseAddress!),
                    planes: OnePassSummation.Planes(count: count, planes: planes, stride: stride), into: &sums)
            }
        }
        guard taken else {
            #expect(sums.x.isZero && sums.xx.isZero && sums.dout.isZero && sums.xDout.isZero)
            return false
        }
        Self.expectOneByOne(sums, x: x.map { X($0).exactDouble }, dout: dout.map { X($0).exactDouble })
        return true
    }

    /// A channel's small planes across a batch, summed as one run: 7x7 and 14x14
    /// planes, a batch of 4 and of 20, planes of 1 and 3 values.
    @Test(arguments: Data.allCases)
    func planesAreSummedAsOneRun(_ kind: Data) {
        for (count, planes, seed) in [(49, 4, UInt64(31)), (196, 20, 32), (1, 7, 33), (3, 5, 34)] {
            let (x, dout) = Self.data(kind, count: count * planes, seed: seed)
            #expect(
                checkPlanes(Float.self, x, dout, count: count, planes: planes, stride: count * 3 + 5),
                "\(kind): \(planes) planes of \(count) should take the one-pass path")
            #expect(
                checkPlanes(BFloat16.self, x, dout, count: count, planes: planes, stride: count + 1) || kind == .tiny
                    || kind == .huge)
        }
    }

    /// Planes that fit the levels one by one but not together, or hold a non-finite value
    /// in any plane, are declined; through `ChannelSummation.sums` the channel then goes
    /// plane by plane and its sums are still exact, its non-finite value tallied.
    @Test func planesThatDoNotFitTogetherAreDeclined() throws {
        var (x, dout) = Self.data(.normal, count: 2 * 49, seed: 35)
        for k in 49..<98 { x[k] *= 0x1p-30 }
        #expect(!checkPlanes(Float.self, x, dout, count: 49, planes: 2, stride: 60))
        let shape = try BatchNormShape(dimensions: [2, 1, 7, 7], layout: .channelsFirst)
        func channelSums(_ x: [Double]) -> ChannelSums {
            let xs = x.map { Float($0) }, ds = dout.map { Float($0) }
            return xs.withUnsafeBytes { xb in
                ds.withUnsafeBytes { db in
                    ChannelSummation.sums(
                        x: Elements<Float>(xb.baseAddress!), dout: Elements<Float>(db.baseAddress!),
                        shape: shape, training: true, threads: 1)[0]
                }
            }
        }
        var s = ExactAccumulator(), q = s
        for v in x.map({ Double(Float($0)) }) {
            s.add(v)
            q.addProduct(v, v)
        }
        let sums = channelSums(x)
        #expect(ExactRational.compare(sums.x.value, s.value) == 0)
        #expect(ExactRational.compare(sums.xx.value, q.value) == 0)
        (x, dout) = Self.data(.normal, count: 2 * 49, seed: 36)
        x[60] = .nan
        #expect(!checkPlanes(Float.self, x, dout, count: 49, planes: 2, stride: 49))
        #expect(!channelSums(x).xTally.isFinite)
        // The survey folds its lanes once for all planes and takes each plane's last
        // values one by one: what only a plane's one-by-one tail holds counts as well,
        // in float32 (bit patterns) and in the widened survey of the narrower types.
        (x, dout) = Self.data(.normal, count: 2 * 49, seed: 37)
        #expect(checkPlanes(Float.self, x, dout, count: 49, planes: 2, stride: 53))
        #expect(checkPlanes(BFloat16.self, x, dout, count: 49, planes: 2, stride: 53))
        var tailInfinity = x
        tailInfinity[97] = .infinity
        #expect(!checkPlanes(Float.self, tailInfinity, dout, count: 49, planes: 2, stride: 53))
        #expect(!checkPlanes(BFloat16.self, tailInfinity, dout, count: 49, planes: 2, stride: 53))
        var tailTiny = x
        tailTiny[48] = 0x1p-40
        #expect(!checkPlanes(Float.self, tailTiny, dout, count: 49, planes: 2, stride: 53))
        #expect(!checkPlanes(BFloat16.self, tailTiny, dout, count: 49, planes: 2, stride: 53))
    }
}
