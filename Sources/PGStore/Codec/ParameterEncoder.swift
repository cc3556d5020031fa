import CLibPQ
import Foundation

/// Bound parameters for PQexecParams / PQsendQueryParams: one contiguous byte buffer plus a small record per value.
///
/// One buffer for all values means one allocation per statement instead of one C string per parameter.
/// Types: bool 16, int8 20, float8 701, timestamptz 1184, jsonb 3802, bytea 17, real[] 1021. Text, NULL and
/// generic arrays go out as OID 0 ("unknown") so the server types them from context, like a literal: that is what
/// lets one `.text` feed text, date, timestamptz, uuid and enum columns and one `.array` feed int8[] or text[].
///
/// Everything is sent in text format except bytea and real[], which go in binary (libpq takes a format per
/// parameter). Measured: a 384-float embedding took ≈28 µs to write as text (`Float.description` per element)
/// against ≈5 µs as binary, and bytea in hex doubles its size.
struct ParameterEncoder {
    private struct Parameter {
        /// Start in `bytes`, or -1 for NULL.
        var start: Int
        var length: Int32
        var type: Oid
        var binary: Bool
    }

    private var bytes: [UInt8] = []
    private var parameters: [Parameter] = []
    private var hasBinary = false

    /// Fails only for text containing a NUL byte, which PostgreSQL cannot store (libpq would cut the value).
    init(_ params: [PGValue]) throws(PGError) {
        parameters.reserveCapacity(params.count)
        bytes.reserveCapacity(params.count * 16)
        for (i, value) in params.enumerated() {
            try append(value, index: i)
        }
    }

    var count: Int { parameters.count }

    private mutating func append(_ value: PGValue, index: Int) throws(PGError) {
        let oid: UInt32
        var binary = false
        let start = bytes.count
        switch value {
        case .null:
            parameters.append(Parameter(start: -1, length: 0, type: Oid(TypeOID.unknown), binary: false))
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
            try Self.refuseNUL(in: bytes, from: start, index: index)
        case .bytea(let b):
            oid = TypeOID.bytea
            binary = true
            bytes.append(contentsOf: b)
        case .timestamp(let d):
            oid = TypeOID.timestamptz
            guard TimestampText.append(d, to: &bytes) else {
                throw PGError(code: .invalidArgument, message: "parameter $\(index + 1): the time \(d.timeIntervalSince1970) s since 1970 "
                    + "is outside PostgreSQL's range (4713 BC to 294276 AD)")
            }
        case .json(let s):
            oid = TypeOID.jsonb
            bytes.append(contentsOf: s.utf8)
            try Self.refuseNUL(in: bytes, from: start, index: index)
        case .array(let elements):
            oid = TypeOID.unknown
            ArrayLiteral.append(elements, to: &bytes)
            try Self.refuseNUL(in: bytes, from: start, index: index)
        case .float4Array(let floats):
            oid = TypeOID.float4Array
            binary = true
            Self.appendBinaryFloat4Array(floats, to: &bytes)
        }
        let length = Int32(bytes.count - start)
        // Text values are read by libpq as C strings; binary ones by length (the NUL is harmless there).
        bytes.append(0)
        hasBinary = hasBinary || binary
        parameters.append(Parameter(start: start, length: length, type: Oid(oid), binary: binary))
    }

    /// Calls `body` with the arrays PQexecParams / PQsendQueryParams take: count, types, values, lengths, formats.
    /// The pointers live only for the call; libpq copies the values into its output buffer before returning.
    func withCParameters<R>(
        _ body: (
            Int32, UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?,
            UnsafePointer<Int32>?
        ) -> R
    ) -> R {
        let n = parameters.count
        if n == 0 { return body(0, nil, nil, nil, nil) }
        return bytes.withUnsafeBytes { raw in
            // nil only when every value is NULL (nothing was written), in which case it is never used.
            let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self)
            return withUnsafeTemporaryAllocation(of: Oid.self, capacity: n) { types in
                withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: n) { values in
                    for i in 0..<n {
                        let p = parameters[i]
                        types[i] = p.type
                        values[i] = p.start < 0 ? nil : base.map { UnsafePointer($0 + p.start) }
                    }
                    guard hasBinary else {
                        return body(Int32(n), UnsafePointer(types.baseAddress), UnsafePointer(values.baseAddress), nil, nil)
                    }
                    return withUnsafeTemporaryAllocation(of: Int32.self, capacity: 2 * n) { lengthsAndFormats in
                        for i in 0..<n {
                            lengthsAndFormats[i] = parameters[i].length
                            lengthsAndFormats[n + i] = parameters[i].binary ? 1 : 0
                        }
                        let lengths = UnsafePointer(lengthsAndFormats.baseAddress!)
                        return body(
                            Int32(n), UnsafePointer(types.baseAddress), UnsafePointer(values.baseAddress), lengths,
                            lengths + n)
                    }
                }
            }
        }
    }

    private static func refuseNUL(in bytes: [UInt8], from start: Int, index: Int) throws(PGError) {
        let hasNUL = bytes.withUnsafeBufferPointer { p in
            // An empty parameter first in the list leaves nothing to search (and an empty array may have no address).
            guard p.count > start, let base = p.baseAddress else { return false }
            return memchr(base + start, 0, p.count - start) != nil
        }
        if hasNUL {
            throw PGError(
                code: .invalidArgument,
                message: "parameter $\(index + 1) contains a NUL byte, which PostgreSQL text and json cannot store")
        }
    }

    /// array_recv's format: ndim, has-nulls flag, element type, (size, lower bound) per dimension, then each
    /// element as length + big-endian IEEE bits.
    private static func appendBinaryFloat4Array(_ floats: [Float], to out: inout [UInt8]) {
        func int32(_ v: UInt32, _ out: inout [UInt8]) {
            out.append(UInt8(truncatingIfNeeded: v >> 24))
            out.append(UInt8(truncatingIfNeeded: v >> 16))
            out.append(UInt8(truncatingIfNeeded: v >> 8))
            out.append(UInt8(truncatingIfNeeded: v))
        }
        out.reserveCapacity(out.count + 20 + floats.count * 8)
        int32(floats.isEmpty ? 0 : 1, &out)
        int32(0, &out)
        int32(TypeOID.float4, &out)
        guard !floats.isEmpty else { return }
        int32(UInt32(floats.count), &out)
        int32(1, &out)
        for f in floats {
            int32(4, &out)
            int32(f.bitPattern, &out)
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// bytea hex input format: `\x` then two lowercase hex digits per byte (used inside array literals).
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
