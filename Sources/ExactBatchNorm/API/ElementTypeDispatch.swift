/// Work over concrete element and output types, for ``dispatch(_:output:_:)``.
///
/// Swift has no generic closures, so each entry point of the engine states its work as
/// a type with one generic method, and the dispatch below calls it with concrete types.
/// Every loop beneath then compiles for those types within this module, which is what
/// keeps callers in other modules off unspecialized generic code (tens of times slower)
/// without any `@_specialize` list to keep in step with the types.
protocol ElementTypeBody {
    associatedtype Result
    associatedtype Failure: Error
    func run<X: BatchNormFloat, Output: BatchNormFloat>(data: X.Type, output: Output.Type) throws(Failure) -> Result
}

/// The engine's one turn from element formats to Swift types: `body` run with `data`'s
/// type and `output`'s.
func dispatch<Body: ElementTypeBody>(
    _ data: BatchNormElementType, output: BatchNormElementType,
    _ body: Body
) throws(Body.Failure) -> Body.Result {
    switch data {
    case .float16: try dispatch(Float16.self, output: output, body)
    case .bfloat16: try dispatch(BFloat16.self, output: output, body)
    case .float32: try dispatch(Float.self, output: output, body)
    case .float64: try dispatch(Double.self, output: output, body)
    }
}

private func dispatch<X: BatchNormFloat, Body: ElementTypeBody>(
    _: X.Type, output: BatchNormElementType, _ body: Body
) throws(Body.Failure) -> Body.Result {
    switch output {
    case .float16: try body.run(data: X.self, output: Float16.self)
    case .bfloat16: try body.run(data: X.self, output: BFloat16.self)
    case .float32: try body.run(data: X.self, output: Float.self)
    case .float64: try body.run(data: X.self, output: Double.self)
    }
}
