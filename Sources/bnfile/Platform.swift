// The C library, imported once for the whole tool: every other file of this target sees
// it through this re-export instead of repeating the `#if canImport` block.
// (AtomicOutput.swift, RunJob.swift and Locked.swift keep their own: `make fuzz` compiles
// them without this file.)
#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Darwin)
@_exported import Darwin
#endif

/// The C functions whose names the tool's own methods shadow (ArgumentParser's
/// `exit(withError:)`, `StandardError.write`), under one unambiguous name.
enum LibC {
    static func exit(_ status: Int32) -> Never {
        #if canImport(Glibc)
        Glibc.exit(status)
        #else
        Darwin.exit(status)
        #endif
    }

    /// write(2): the number of bytes written, or -1 with `errno` set.
    static func write(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.write(descriptor, bytes, count)
        #else
        Darwin.write(descriptor, bytes, count)
        #endif
    }
}

/// How the C allocator treats the large arrays a run or a check allocates and frees,
/// layer after layer.
enum AllocatorPolicy {
    /// glibc serves blocks over its threshold (128 KiB, raised as it goes) with fresh
    /// mappings and returns them on free, so every layer's arrays fault their pages in
    /// and zero them anew: a quarter of `bnfile check`'s time on ResNet-50's 53 layers.
    /// Arrays up to glibc's largest threshold (32 MiB) are kept in the heap instead, and
    /// freed memory stays with the process for the next layer. The peak is unchanged:
    /// layers reuse what the previous one freed.
    static func keepFreedArrays() {
        #if canImport(Glibc)
        _ = glibcMallopt(mmapThreshold, 32 << 20)
        _ = glibcMallopt(trimThreshold, 1 << 30)
        #endif
    }

    #if canImport(Glibc)
    // <malloc.h> is not part of Swift's Glibc module: mallopt(3) and its parameters'
    // values, as glibc defines them.
    private static let trimThreshold: Int32 = -1  // M_TRIM_THRESHOLD
    private static let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD
    #endif
}

#if canImport(Glibc)
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
