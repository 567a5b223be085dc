import CSystemCalls
#if canImport(Glibc)
import Glibc
#else
#error("NumPyFormat is written against Linux's C library (Glibc): mapping faults, O_TMPFILE and linkat")
#endif

/// What NumPyFormat asks of the system, in one place.
///
/// The library works on Linux's C library: mapped inputs whose faults it reports
/// (`MappingFaults` reads the Linux `siginfo` layout), unnamed temporary files
/// (`O_TMPFILE`, `linkat`). Its files import Glibc plainly; this is the one file that
/// checks the platform, so a build elsewhere stops here with one message, and the one
/// that reads the machine's figures.
enum Platform {
    /// Processors online, at least 1.
    static let processorCount = Int(bn_processors_online())

    /// The size of a memory page, the unit of mappings.
    static let pageSize = max(1, Int(sysconf(Int32(_SC_PAGESIZE))))

    /// Total physical memory in bytes, or nil where the system does not say.
    static var physicalMemory: Int? {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        guard pages > 0 else { return nil }
        let (total, overflow) = pages.multipliedReportingOverflow(by: pageSize)
        return overflow ? nil : total
    }
}
