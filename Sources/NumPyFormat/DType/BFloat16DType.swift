/// Void and bfloat16 dtypes.
///
/// numpy has no bfloat16. ml_dtypes adds one, and `np.save` writes its arrays with
/// descr `<V2`: two raw bytes per item, the type's name lost (ml_dtypes#41). Reading
/// such a file back gives void items that only `.view(ml_dtypes.bfloat16)` turns into
/// numbers again. So this library reads `V` descrs as void, which no typed reader
/// accepts, and turns a void array of 2-byte items into bfloat16 only when something
/// declares it: `NPYArray.viewed(as:)`, or an archive's declaration (see
/// `NPZBFloat16Declaration.swift`). bfloat16 arrays are written as `<V2` again, bytes
/// as ml_dtypes writes them, so numpy and ml_dtypes read them unchanged.
extension NPYDType {
    /// bfloat16 in the given byte order (`.native` by default; written `<V2` on a
    /// little-endian machine, as ml_dtypes writes it).
    public static func bfloat16(byteOrder: ByteOrder = .native) -> NPYDType {
        NPYDType(uncheckedKind: .bfloat16, itemSize: 2, byteOrder: byteOrder == .notApplicable ? .native : byteOrder)
    }

    /// Whether this is void with 2-byte items, the form bfloat16 takes in a file.
    public var isTwoByteVoid: Bool { kind == .void && itemSize == 2 }

    /// The bfloat16 dtype a two-byte void dtype stands for: `<V2` and `|V2` (numpy's
    /// own spelling when it re-saves a loaded array) are little-endian, as every
    /// machine ml_dtypes ships for writes them; `>V2` is big-endian.
    public var asBFloat16: NPYDType? {
        guard isTwoByteVoid || kind == .bfloat16 else { return nil }
        return .bfloat16(byteOrder: byteOrder == .big ? .big : .little)
    }

    /// Parses the size after `V`; any byte-order character or none is accepted, and kept.
    static func voidDType(descr: String, sizeText: Substring, order: ByteOrder?) throws(NumPyFormatError) -> NPYDType {
        guard !sizeText.isEmpty, sizeText.count <= 10, sizeText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let size = Int(sizeText), size <= maxStringItemSize
        else {
            throw NumPyFormatError(.malformed, "unknown dtype descr '\(descr)' (expected a size after 'V', e.g. '<V2')")
        }
        return NPYDType(uncheckedKind: .void, itemSize: size, byteOrder: order ?? .notApplicable)
    }
}

extension NPYArray {
    /// The same bytes as another dtype of the same item size, as numpy's `.view` does;
    /// only void arrays (raw bytes) can be viewed so, and viewing as bfloat16 is what a
    /// declaration does. Nothing is copied.
    public func viewed(as newType: NPYDType) throws -> NPYArray {
        retyped(try header.viewed(as: newType, context: context))
    }

    /// This array declared bfloat16: void with 2-byte items becomes bfloat16 (byte order
    /// as `NPYDType.asBFloat16` says); a bfloat16 array is returned as it is.
    public func declaredBFloat16() throws -> NPYArray {
        retyped(try header.declaredBFloat16(context: context))
    }
}

/// The header-level rules behind `NPYArray.viewed(as:)` and `declaredBFloat16()`, which
/// an array read in pieces (`NPYArrayStream`) applies before it reads any data.
extension NPYArrayHeader {
    func viewed(as newType: NPYDType, context: ErrorContext) throws -> NPYArrayHeader {
        guard dtype.kind == .void || dtype == newType else {
            throw context.error(
                .lossyConversion(from: dtype),
                "cannot view \(dtype.descr) (\(dtype.typeName)) as \(newType.typeName): only raw bytes (void) can be")
        }
        guard newType.itemSize == dtype.itemSize, newType.kind != .bool else {
            throw context.error(
                .lossyConversion(from: dtype),
                "cannot view \(dtype.descr) items (\(dtype.itemSize) bytes) as \(newType.typeName) "
                    + "(\(newType.itemSize) bytes)")
        }
        var header = self
        header.dtype = newType
        return header
    }

    func declaredBFloat16(context: ErrorContext) throws -> NPYArrayHeader {
        guard let type = dtype.asBFloat16 else {
            throw context.error(
                .inconsistent,
                "declared bfloat16, but its dtype is \(dtype.descr) (\(dtype.typeName)); "
                    + "expected 2-byte raw items, '<V2', as ml_dtypes saves bfloat16")
        }
        return try viewed(as: type, context: context)
    }
}
