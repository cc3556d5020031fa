import Foundation

/// A value sent to or read from PostgreSQL.
///
/// Parameters are sent in text format with an explicit type where one is safe (see `ParameterEncoder`); results are
/// decoded from text format by the column's type OID (see `ValueDecoder`). Types the decoder does not know arrive
/// as `.text` with PostgreSQL's own text form, so nothing is lost.
public enum PGValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// int2, int4, int8, oid, and numeric values without a fractional part that fit in 64 bits.
    case int(Int64)
    /// float4, float8, and numeric values that are not integers.
    case double(Double)
    /// Sent untyped, so the server reads it like a literal: works for text, varchar, date, timestamptz, uuid and
    /// enum columns alike. uuid, date and time results come back as `.text`.
    case text(String)
    case bytea([UInt8])
    /// timestamptz or timestamp, always in UTC, to the microsecond. PostgreSQL's `infinity` / `-infinity`
    /// decode to `Date.distantFuture` / `Date.distantPast`.
    case timestamp(Date)
    /// json or jsonb as raw text; the engine parses it. Sent as jsonb.
    case json(String)
    /// A one-dimensional array of the scalar cases above (nested `.array`s make a multi-dimensional literal).
    /// Sent untyped, so the server casts it to the target column's array type.
    case array([PGValue])
    /// real[]: embeddings. real[] results decode to this too, unless they contain a NULL element, in which case
    /// they arrive as `.array` of `.double` and `.null`.
    case float4Array([Float])
}

extension PGValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral
{
    /// `"abc"` in a parameter list means `.text("abc")`.
    public init(stringLiteral value: String) { self = .text(value) }
    /// `42` in a parameter list means `.int(42)`.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// `1.5` in a parameter list means `.double(1.5)`.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// `true` in a parameter list means `.bool(true)`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
