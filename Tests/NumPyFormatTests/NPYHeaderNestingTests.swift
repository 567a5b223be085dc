import NumPyFormat
import Testing

/// Regression for the first fuzz crasher (fuzz/crashers/npy/deep-list-nesting.npy):
/// lists did not count toward the header parser's nesting bound, so a header of 9,000
/// `[` (inside the 10,000-byte limit) recursed until the stack overflowed.
@Suite struct NPYHeaderNestingTests {
    @Test(arguments: ["[", "(", "{'a': "])
    func deepNestingIsRefusedNotRecursed(_ opener: String) {
        let header = "{'descr': " + String(repeating: opener, count: 9_000 / opener.count)
        let error = formatError { _ = try NPYFile.read(bytes: npyBytes(header: header), name: "deep.npy") }
        #expect(error?.message.contains("nests deeper than 64 levels") == true, "\(String(describing: error))")
    }

    /// Nesting within the bound still parses (and is then refused for what it is).
    @Test func shallowListsStillParse() {
        let header = "{'descr': [[[1]]], 'fortran_order': False, 'shape': (2,)}"
        let error = formatError { _ = try NPYFile.read(bytes: npyBytes(header: header), name: "list.npy") }
        #expect(error?.message.contains("structured dtypes") == true, "\(String(describing: error))")
    }
}
