/// Python's spelling of a tuple of integers, as numpy prints a shape and as .npy headers
/// hold it: `()`, `(5,)`, `(3, 4)`. The one shape printer of the library and of the
/// tools built on it, so that a shape reads the same in a header, an error and a report.
public func pythonTuple(_ values: [Int]) -> String {
    values.count == 1 ? "(\(values[0]),)" : "(" + values.map(String.init).joined(separator: ", ") + ")"
}
