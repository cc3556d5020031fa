import Foundation

/// Typed reads that return nil when the value is of another kind (or NULL), so call sites read
/// `row["attempts"].intValue ?? 0` instead of switching.
extension PGValue {
    /// `.int`, or a `.double` that holds an integer exactly.
    public var intValue: Int64? {
        switch self {
        case .int(let v): return v
        case .double(let d): return Int64(exactly: d)
        default: return nil
        }
    }

    /// `.double`, or an `.int` widened.
    public var doubleValue: Double? {
        switch self {
        case .double(let d): return d
        case .int(let v): return Double(v)
        default: return nil
        }
    }

    /// `.text` only (uuid, date, time and unknown types arrive as `.text`); use `jsonText` for json.
    public var stringValue: String? {
        if case .text(let s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var dateValue: Date? {
        if case .timestamp(let d) = self { return d }
        return nil
    }

    /// The raw text of a json/jsonb value.
    public var jsonText: String? {
        if case .json(let s) = self { return s }
        return nil
    }

    public var bytesValue: [UInt8]? {
        if case .bytea(let b) = self { return b }
        return nil
    }

    /// The elements of an `.array`, or a `.float4Array` as `.double` elements.
    public var arrayValue: [PGValue]? {
        switch self {
        case .array(let a): return a
        case .float4Array(let f): return f.map { .double(Double($0)) }
        default: return nil
        }
    }

    /// A `.float4Array`, or an `.array` whose elements are all numbers.
    public var floatArrayValue: [Float]? {
        switch self {
        case .float4Array(let f): return f
        case .array(let a):
            var out: [Float] = []
            out.reserveCapacity(a.count)
            for e in a {
                guard let d = e.doubleValue else { return nil }
                out.append(Float(d))
            }
            return out
        default: return nil
        }
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}
