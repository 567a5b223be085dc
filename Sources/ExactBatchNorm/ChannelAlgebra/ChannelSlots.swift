/// One value of a trivial type per channel, in memory the solve's workers initialize in
/// place: each slot once, by one worker, before anything reads it, and after that only
/// read. That discipline, not the type, is what makes sharing it safe; hence unchecked.
///
/// Arrays would do, but one made in place must be filled within the closure that makes
/// it, which ties several per-channel arrays into nested closures; and copying a
/// finished buffer into an array would fault and zero its pages a second time.
final class ChannelSlots<Element>: @unchecked Sendable {
    private let buffer: UnsafeMutableBufferPointer<Element>

    init(count: Int) {
        precondition(_isPOD(Element.self), "channel slots hold trivial values only")
        // No advice for 2 MiB pages, unlike the outputs: where memory is fragmented
        // the kernel compacts it on the fault, and two million channels' slots then
        // took 2.1-3.1 s to run rather than 1.1-1.5 s.
        buffer = .allocate(capacity: count)
    }

    deinit { buffer.deallocate() }

    var count: Int { buffer.count }

    @inline(__always)
    subscript(c: Int) -> Element { buffer.baseAddress.unsafelyUnwrapped[c] }

    /// Initializes slot `c`, which must not have been.
    @inline(__always)
    func initialize(_ c: Int, to value: Element) { (buffer.baseAddress! + c).initialize(to: value) }
}
