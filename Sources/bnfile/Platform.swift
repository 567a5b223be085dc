// The C library, imported once for the whole tool: every other file of this target sees
// it through this re-export instead of repeating the `#if canImport` block.
// (AtomicOutput.swift and RunJob.swift keep their own: `make fuzz` compiles
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
