import Testing

@testable import ArrayComparison

@Suite struct ChannelTests {
    /// A (2, 3, 2) array whose elements in channel `bad` of `axis` are off by 1.
    func planted(axis: Int, bad: Int, shape: [Int] = [2, 3, 2]) -> ([Double], [Double]) {
        let n = shape.reduce(1, *)
        let b = (0..<n).map { Double($0) }
        var a = b
        for flat in 0..<n where multiIndex(ofFlat: flat, shape: shape)[axis] == bad { a[flat] += 1 }
        return (a, b)
    }

    @Test func worstChannelOnAxisOne() {
        let (a, b) = planted(axis: 1, bad: 2)
        let result = compare32(a, b, shape: [2, 3, 2])
        #expect(result.channelAxis == 1)
        #expect(result.channels.map(\.mismatched) == [0, 0, 4])
        #expect(result.channels.map(\.count) == [4, 4, 4])
        #expect(result.channels[2].maxAbsoluteDifference == 1)
        #expect(result.channels[0].maxULPDistance == 0)
        #expect(result.worstChannel == 2)
        #expect(result.worst?.index[1] == 2)
    }

    @Test func customAndNegativeAxis() {
        let (a, b) = planted(axis: 2, bad: 1, shape: [2, 2, 4])
        let last = compare32(a, b, shape: [2, 2, 4], channelAxis: 2)
        #expect(last.channels.map(\.mismatched) == [0, 4, 0, 0])
        #expect(last.worstChannel == 1)
        let negative = compare32(a, b, shape: [2, 2, 4], channelAxis: -1)
        #expect(negative.channelAxis == 2)
        #expect(negative.channels == last.channels)
        let first = compare32(a, b, shape: [2, 2, 4], channelAxis: 0)
        #expect(first.channels.map(\.mismatched) == [2, 2])
    }

    @Test func noBreakdownWithoutAValidAxis() {
        let (a, b) = planted(axis: 1, bad: 0)
        for axis in [nil, 3, -4] as [Int?] {
            let result = compare32(a, b, shape: [2, 3, 2], channelAxis: axis)
            #expect(result.channelAxis == nil)
            #expect(result.channels.isEmpty)
            #expect(result.worstChannel == nil)
            #expect(result.mismatched == 4)
        }
        // The default axis 1 does not exist for a 1-d array.
        #expect(compare32([1, 2], [1, 3]).channels.isEmpty)
    }

    @Test func tiesGoToTheLargerExcessThenTheLowerChannel() {
        // One mismatch in each of channels 0 and 1; channel 1's is further off.
        let b = [1.0, 1, 1, 1]
        let result = compare32([2, 1, 5, 1], b, shape: [1, 2, 2])
        #expect(result.channels.map(\.mismatched) == [1, 1])
        #expect(result.worstChannel == 1)
        let even = compare32([2, 1, 2, 1], b, shape: [1, 2, 2])
        #expect(even.worstChannel == 0)
    }

    @Test func noWorstChannelWhenIdentical() {
        let values = [1.0, 2, 3, 4]
        #expect(compare32(values, values, shape: [1, 2, 2]).worstChannel == nil)
    }
}
