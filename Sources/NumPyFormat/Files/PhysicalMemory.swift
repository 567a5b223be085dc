/// The machine's physical memory, the ceiling for any one allocation a file can ask for.
///
/// A member or buffer larger than this cannot be held without swapping the whole system
/// or meeting the out-of-memory killer, so the default read limit (`NPYReadOptions`'s
/// `maxBytes`) is never above it. A caller who knows better (memory that overcommit or
/// swap will serve) raises the limit explicitly.
public enum PhysicalMemory {
    /// Total physical memory in bytes, or nil where the system does not say.
    public static var bytes: Int? { Platform.physicalMemory }
}
