/// Limits and checks for reading untrusted .npy and .npz files.
public struct NPYReadOptions: Sendable {
    /// Longest accepted header text in bytes. numpy refuses headers over 10,000
    /// characters by default (`max_header_size`) because parsing huge literals is slow
    /// and its parser can crash; a real header for a rank-64 array is far shorter.
    public var maxHeaderSize: Int = 10_000

    /// Largest member this reader will allocate memory for (the declared uncompressed
    /// size of a deflated npz member). A zip header can declare any size; without a cap
    /// a 100-byte file could make the reader allocate terabytes. (A declared size beyond
    /// deflate's 1032:1 ratio is refused whatever this says; see `NPZBounds`.)
    /// The default is 64 GiB or the machine's physical memory, whichever is less. An
    /// array read in pieces (`NPYArrayStream`) allocates nothing of its declared size and
    /// is not held to this bound.
    public var maxBytes: Int = NPYReadOptions.defaultMaxBytes

    /// 64 GiB, or the physical memory when that is less: a member that cannot fit in
    /// memory is refused before it is inflated rather than swapped or killed for.
    public static var defaultMaxBytes: Int {
        min(64 << 30, PhysicalMemory.bytes ?? Int.max)
    }

    /// Most members an .npz may have. numpy writes one member per array and real
    /// archives hold a handful to a few hundred; every member costs a local-header check
    /// when the archive is opened, so an archive of 100,000 empty members is a cheap way
    /// to make a reader slow. The count is checked before any member is parsed.
    public var maxMembers: Int = 4096

    /// Refuse bool arrays containing bytes other than 0 and 1. numpy itself only ever
    /// writes 0 and 1; anything else means corruption or a mislabelled dtype, and a Swift
    /// `Bool` holding another byte value is undefined behaviour.
    public var strictBooleans: Bool = true

    /// Check each npz member's CRC-32 when it is loaded.
    public var verifyCRC: Bool = true

    /// Arrays to read as bfloat16 where they are stored as 2-byte raw items (`<V2`, as
    /// ml_dtypes saves bfloat16); names of absent or already typed arrays are ignored.
    /// Added to what an archive's own `bfloat16` member declares (`NPZBFloat16Declaration`).
    public var bfloat16Arrays: Set<String> = []

    /// Honour an archive's `bfloat16` member, the declaration bnfile's writer adds.
    public var readsBFloat16Declaration: Bool = true

    public init(
        maxHeaderSize: Int = 10_000, maxBytes: Int = NPYReadOptions.defaultMaxBytes,
        strictBooleans: Bool = true, verifyCRC: Bool = true, maxMembers: Int = 4096
    ) {
        self.maxHeaderSize = maxHeaderSize
        self.maxBytes = maxBytes
        self.maxMembers = maxMembers
        self.strictBooleans = strictBooleans
        self.verifyCRC = verifyCRC
    }
}
