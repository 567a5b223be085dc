/// The one piece of the `bnfile` target that the run fuzz target cannot take as it is:
/// its `ToolError` lives beside ArgumentParser glue. This is the same error, a message
/// with no other behaviour, so `BatchNormInputFile`, `RunJob` and `AtomicOutput` compile
/// unchanged into the fuzz binary.
struct ToolError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
