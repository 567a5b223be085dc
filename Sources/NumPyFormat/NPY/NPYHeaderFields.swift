/// Turns the parsed header dict into a dtype, shape and order, enforcing numpy's rules:
/// exactly the keys `descr`, `fortran_order` and `shape`; a supported descr string; a
/// real bool; a tuple of non-negative ints.
enum NPYHeaderFields {
    static let expectedKeys = ["descr", "fortran_order", "shape"]

    static func decode(
        _ text: [UInt8], context: ErrorContext
    ) throws -> (NPYDType, [Int], Bool) {
        let literal: PythonLiteral
        do {
            literal = try PythonLiteralParser.parse(text)
        } catch {
            throw context.error(.malformed, at: error.position, "cannot parse header: \(error.message)")
        }
        guard case .dict(let entries) = literal.value else {
            throw context.error(
                .malformed,
                at: literal.position, "expected the header to be a dict, found \(literal.value.kindName)")
        }
        var fields: [String: PythonLiteral] = [:]
        for (key, value) in entries {
            guard case .string(let name) = key.value else {
                throw context.error(.malformed, at: key.position, "expected a string key, found \(key.value.kindName)")
            }
            guard expectedKeys.contains(name) else {
                throw context.error(
                    .malformed,
                    at: key.position,
                    "unexpected header key '\(name)' (expected exactly 'descr', 'fortran_order', 'shape')")
            }
            guard fields[name] == nil else {
                throw context.error(.malformed, at: key.position, "header key '\(name)' appears twice")
            }
            fields[name] = value
        }
        for key in expectedKeys where fields[key] == nil {
            throw context.error(.malformed, at: literal.position, "expected header key '\(key)', which is missing")
        }
        let dtype = try decodeDType(fields["descr"]!, context: context)
        guard case .bool(let fortran) = fields["fortran_order"]!.value else {
            let value = fields["fortran_order"]!
            throw context.error(
                .malformed,
                at: value.position, "expected fortran_order to be True or False, found \(value.value.kindName)")
        }
        let shape = try decodeShape(fields["shape"]!, context: context)
        return (dtype, shape, fortran)
    }

    private static func decodeDType(_ value: PythonLiteral, context: ErrorContext) throws -> NPYDType {
        switch value.value {
        case .string(let descr):
            do {
                return try NPYDType(descr: descr)
            } catch {
                throw context.placing(error, at: value.position)
            }
        case .list:
            throw context.error(
                .unsupported,
                at: value.position, "structured dtypes (a list of fields as descr) are not supported")
        default:
            throw context.error(
                .malformed, at: value.position, "expected descr to be a string, found \(value.value.kindName)")
        }
    }

    private static func decodeShape(_ value: PythonLiteral, context: ErrorContext) throws -> [Int] {
        guard case .tuple(let items) = value.value else {
            throw context.error(
                .malformed,
                at: value.position, "expected shape to be a tuple of integers, found \(value.value.kindName)")
        }
        guard items.count <= NPYArrayHeader.maxRank else {
            throw context.error(
                .malformed,
                at: value.position, "expected at most \(NPYArrayHeader.maxRank) dimensions, found \(items.count)")
        }
        return try items.map { item in
            guard case .int(let number, let text) = item.value else {
                throw context.error(
                    .malformed,
                    at: item.position, "expected shape to hold integers, found \(item.value.kindName)")
            }
            guard let number else {
                throw context.error(
                    .malformed,
                    at: item.position,
                    "dimension \(text) is larger than 2^63-1, the largest dimension numpy allows")
            }
            guard number >= 0 else {
                throw context.error(.malformed, at: item.position, "expected a non-negative dimension, found \(number)")
            }
            return number
        }
    }
}
