#if canImport(Glibc)
import Glibc
#endif

/// Asks Linux to back a fresh output buffer with 2 MiB pages where it can.
///
/// The outputs are written once, so every 4 KiB page costs a fault and a zeroing on
/// first touch: for the (32,64,56,56) benchmark that was a third of the engine's time.
/// With transparent huge pages in `madvise` mode (the usual default) this hint cuts the
/// faults 512-fold. Only whole 2 MiB blocks inside the buffer are affected; elsewhere,
/// and on other systems, nothing changes.
func adviseHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
    #if os(Linux)
    let huge = 2 << 20
    guard let base = buffer.baseAddress, buffer.count >= 2 * huge else { return }
    let start = (Int(bitPattern: base) + huge - 1) / huge * huge
    let end = (Int(bitPattern: base) + buffer.count) / huge * huge
    guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
    _ = madvise(aligned, end - start, MADV_HUGEPAGE)
    #endif
}
