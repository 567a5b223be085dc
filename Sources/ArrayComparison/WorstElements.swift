/// The values of one element as the scan saw them, kept with a candidate for the list of
/// worst elements: the report names them after the pass, when a truth computed a block
/// at a time is gone. In a plain comparison the truth fields are NaN; for one side
/// judged against the truth, `a` is the side's value and `truthA` its truth.
struct ElementValues: Sendable {
    var a: Double
    var b: Double
    var truthA: Double
    var truthB: Double
    var scale: Double

    init(a: Double, b: Double, truthA: Double = .nan, truthB: Double = .nan, scale: Double = .nan) {
        (self.a, self.b, self.truthA, self.truthB, self.scale) = (a, b, truthA, truthB, scale)
    }
}

/// A candidate for the list of worst elements: what ranks it, and its values. Full
/// figures are recomputed for the few survivors at the end, so the scan keeps no
/// per-element record and allocates nothing after start-up.
struct RankedElement: Sendable {
    var primary: Double
    var secondary: UInt64
    var flatIndex: Int
    var values: ElementValues

    /// Strict "worse than": larger primary key, then larger secondary key, then the
    /// earlier position (so ties resolve to the first occurrence, deterministically).
    /// A total order on distinct positions: which elements survive does not depend on
    /// the order they were offered in, nor on how the array was split among threads.
    @inline(__always)
    func isWorse(than other: RankedElement) -> Bool {
        if primary != other.primary { return primary > other.primary }
        if secondary != other.secondary { return secondary > other.secondary }
        return flatIndex < other.flatIndex
    }
}

/// The K worst elements seen so far, kept in a bounded binary min-heap whose root is the
/// least bad survivor. Each new element costs one comparison against the root unless it
/// displaces it (O(log K)), so selecting the top K of N is O(N + k log K) with a fixed
/// buffer of K entries — no sort of the whole array, no per-element allocation.
///
/// The K worst of a union are the K worst of the parts' K worst, so scans of disjoint
/// parts merge (`merge`) into exactly the list one scan of everything would keep.
struct WorstElements: Sendable {
    let capacity: Int
    private var heap: [RankedElement] = []

    init(capacity: Int) {
        self.capacity = max(0, capacity)
        heap.reserveCapacity(self.capacity)
    }

    /// False only when an element of this primary key cannot enter the list: the list
    /// is full and its least bad survivor ranks strictly higher. A cheap test before
    /// building the candidate.
    @inline(__always)
    func mightAccept(primary: Double) -> Bool {
        capacity > 0 && (heap.count < capacity || !(primary < heap[0].primary))
    }

    @inline(__always)
    mutating func offer(_ candidate: RankedElement) {
        guard capacity > 0 else { return }
        if heap.count < capacity {
            heap.append(candidate)
            siftUp(from: heap.count - 1)
        } else if candidate.isWorse(than: heap[0]) {
            heap[0] = candidate
            siftDown(from: 0)
        }
    }

    /// Offers every survivor of `other`.
    mutating func merge(_ other: WorstElements) {
        for candidate in other.heap { offer(candidate) }
    }

    /// Worst first.
    func sorted() -> [RankedElement] {
        heap.sorted { $0.isWorse(than: $1) }
    }

    private mutating func siftUp(from start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[parent].isWorse(than: heap[child]) else { return }
            heap.swapAt(parent, child)
            child = parent
        }
    }

    private mutating func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var leastBad = left
            let right = left + 1
            if right < heap.count && heap[leastBad].isWorse(than: heap[right]) { leastBad = right }
            guard heap[parent].isWorse(than: heap[leastBad]) else { return }
            heap.swapAt(parent, leastBad)
            parent = leastBad
        }
    }
}
