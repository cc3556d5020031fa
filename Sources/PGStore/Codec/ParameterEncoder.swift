import CLibPQ

/// Bound parameters in libpq's text format: one contiguous NUL-separated byte buffer plus a type OID per value.
///
/// One buffer for all values means one allocation per statement instead of one C string per parameter.
/// Types: bool 16, int8 20, float8 701, timestamptz 1184, jsonb 3802, bytea 17, real[] 1021. Text, NULL and
/// generic arrays go out as OID 0 ("unknown") so the server types them from context, like a literal: that is what
/// lets one `.text` feed text, date, timestamptz, uuid and enum columns and one `.array` feed int8[] or text[].
struct ParameterEncoder {
    private(set) var bytes: [UInt8] = []
    /// Start of each value in `bytes`, or -1 for NULL.
    private(set) var offsets: [Int] = []
    private(set) var types: [Oid] = []

    init(_ params: [PGValue]) {
        offsets.reserveCapacity(params.count)
        types.reserveCapacity(params.count)
        bytes.reserveCapacity(params.count * 16)
        for value in params { append(value) }
    }

    var count: Int { offsets.count }

    private mutating func append(_ value: PGValue) {
        let oid: UInt32
        let start = bytes.count
        switch value {
        case .null:
            offsets.append(-1)
            types.append(TypeOID.unknown)
            return
        case .bool(let b):
            oid = TypeOID.bool
            bytes.append(b ? UInt8(ascii: "t") : UInt8(ascii: "f"))
        case .int(let v):
            oid = TypeOID.int8
            NumberText.appendDecimal(v, to: &bytes)
        case .double(let d):
            oid = TypeOID.float8
            NumberText.appendDouble(d, to: &bytes)
        case .text(let s):
            oid = TypeOID.unknown
            bytes.append(contentsOf: s.utf8)
        case .bytea(let b):
            oid = TypeOID.bytea
            Self.appendHex(b, to: &bytes)
        case .timestamp(let d):
            oid = TypeOID.timestamptz
            TimestampText.append(d, to: &bytes)
        case .json(let s):
            oid = TypeOID.jsonb
            bytes.append(contentsOf: s.utf8)
        case .array(let elements):
            oid = TypeOID.unknown
            ArrayLiteral.append(elements, to: &bytes)
        case .float4Array(let floats):
            oid = TypeOID.float4Array
            ArrayLiteral.append(floats, to: &bytes)
        }
        bytes.append(0)
        offsets.append(start)
        types.append(Oid(oid))
    }

    /// Calls `body` with the arrays PQexecParams / PQsendQueryParams take. The pointers live only for the call;
    /// libpq copies the values into its output buffer before returning.
    func withCParameters<R>(
        _ body: (Int32, UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?) -> R
    ) -> R {
        let n = offsets.count
        if n == 0 { return body(0, nil, nil) }
        return bytes.withUnsafeBytes { raw in
            // nil only when every value is NULL (nothing was written), in which case it is never used.
            let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self)
            return types.withUnsafeBufferPointer { typePtr in
                withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: n) { values in
                    for i in 0..<n { values[i] = offsets[i] < 0 ? nil : base.map { $0 + offsets[i] } }
                    return body(Int32(n), typePtr.baseAddress, UnsafePointer(values.baseAddress))
                }
            }
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// bytea hex input format: `\x` then two lowercase hex digits per byte.
    static func appendHex(_ data: [UInt8], to out: inout [UInt8]) {
        out.reserveCapacity(out.count + 2 + data.count * 2)
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: "x"))
        for b in data {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0x0F)])
        }
    }
}
