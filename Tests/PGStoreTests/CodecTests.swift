import Foundation
import Testing

@testable import PGStore

/// The text codecs on their own, without a server: edge cases PostgreSQL rarely produces on demand.
@Suite("Text codecs")
struct CodecTests {
    func parseArray(_ text: String) -> [PGValue]? {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { p in
            ArrayLiteral.parse(UnsafeBufferPointer(p)) { cell in
                cell.map { .text(String(decoding: $0, as: UTF8.self)) } ?? .null
            }
        }
    }

    func writeArray(_ elements: [PGValue]) -> String {
        var out: [UInt8] = []
        ArrayLiteral.append(elements, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func parseTimestamp(_ text: String) -> Int64? {
        var bytes = Array(text.utf8)
        let d = bytes.withUnsafeMutableBufferPointer { TimestampText.parse(UnsafeBufferPointer($0)) }
        return d.map(micros)
    }

    func writeTimestamp(_ micros: Int64) -> String {
        var out: [UInt8] = []
        TimestampText.append(date(micros: micros), to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func arrayLiteralParsing() {
        #expect(parseArray("{}") == [])
        #expect(parseArray("{a,b}") == [.text("a"), .text("b")])
        #expect(parseArray(#"{"a b","c\"d",NULL,null,"NULL"}"#)
            == [.text("a b"), .text(#"c"d"#), .null, .null, .text("NULL")])
        #expect(parseArray(#"{ a , "b" }"#) == [.text("a"), .text("b")])
        #expect(parseArray(#"{x\,y,\\z}"#) == [.text("x,y"), .text(#"\z"#)])
        #expect(parseArray("{{1,2},{3,4}}") == [.array([.text("1"), .text("2")]), .array([.text("3"), .text("4")])])
        #expect(parseArray("[1:2]={7,8}") == [.text("7"), .text("8")])
        #expect(parseArray(#"{"",""}"#) == [.text(""), .text("")])
        #expect(parseArray("{a,b") == nil)
        #expect(parseArray("{a,}") == nil)
        #expect(parseArray("nope") == nil)
        #expect(parseArray(#"{"unterminated}"#) == nil)
    }

    @Test func arrayLiteralWriting() {
        #expect(writeArray([]) == "{}")
        #expect(writeArray([.text("a b"), .text(#"c"d"#), .null, .text(#"e\f"#)]) == #"{"a b","c\"d",NULL,"e\\f"}"#)
        #expect(writeArray([.int(-1), .double(0.5), .bool(true)]) == "{-1,0.5,t}")
        #expect(writeArray([.array([.int(1)]), .float4Array([1.5, 2])]) == "{{1},{1.5,2.0}}")
        #expect(writeArray([.bytea([0xAB, 0x01])]) == #"{"\\xab01"}"#)
    }

    @Test func writtenArraysParseBack() {
        let elements: [PGValue] = [.text(#"q"uo\te"#), .text("{,}"), .text(" "), .null, .text("NULL")]
        #expect(parseArray(writeArray(elements)) == elements)
    }

    @Test func timestampParsingVariants() {
        #expect(parseTimestamp("1970-01-01 00:00:00+00") == 0)
        #expect(parseTimestamp("1970-01-01 00:00:00") == 0)
        #expect(parseTimestamp("1970-01-01T00:00:00Z") == nil)  // not PostgreSQL's form
        #expect(parseTimestamp("1970-01-01 00:00:00.5+00") == 500_000)
        #expect(parseTimestamp("1970-01-01 00:00:00.000001+00") == 1)
        #expect(parseTimestamp("1970-01-01 05:30:00+05:30") == 0)
        #expect(parseTimestamp("1969-12-31 20:00:00-04") == 0)
        #expect(parseTimestamp("1970-01-01 00:53:28+00:53:28") == 0)
        #expect(parseTimestamp("10000-01-01 00:00:00+00") == 253_402_300_800_000_000)
        #expect(parseTimestamp("0001-12-31 00:00:00+00 BC") == -62_135_683_200_000_000)
        #expect(parseTimestamp("infinity") == micros(.distantFuture))
        #expect(parseTimestamp("2024-13-01 00:00:00+00") == nil)
        #expect(parseTimestamp("2024-01-01") == nil)
    }

    @Test func timestampWriting() {
        #expect(writeTimestamp(0) == "1970-01-01 00:00:00.000000+00")
        #expect(writeTimestamp(1_700_000_000_123_456) == "2023-11-14 22:13:20.123456+00")
        #expect(writeTimestamp(-1) == "1969-12-31 23:59:59.999999+00")
        #expect(writeTimestamp(-62_135_683_200_000_000) == "0001-12-31 00:00:00.000000+00 BC")
    }

    /// Regression (issue 10): 9223978307200 s since 1970 is inside PostgreSQL's range, but its microseconds since
    /// 1970 are past Int64: the encoder wrapped around and trapped in its digit arithmetic, stopping the server.
    @Test func timestampsNearPostgresMaximumEncodeWithoutTrapping() {
        var out: [UInt8] = []
        #expect(TimestampText.append(Date(timeIntervalSince1970: 9_223_978_307_200), to: &out))
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.hasPrefix("2942") && text.hasSuffix("+00"), "\(text)")
        var last: [UInt8] = []
        #expect(TimestampText.append(Date(timeIntervalSince1970: 9_224_318_015_999), to: &last))
        // A Double holds microseconds this far out only to about a millisecond.
        #expect(String(decoding: last, as: UTF8.self).hasPrefix("294276-12-31 23:59:5"))
        var past: [UInt8] = []
        #expect(!TimestampText.append(Date(timeIntervalSince1970: 9_224_318_016_000), to: &past) && past.isEmpty)
        // A nine-digit year overflows microseconds: nil, not a trap.
        #expect(parseTimestamp("999999999-01-01 00:00:00+00") == nil)
    }

    @Test func writtenTimestampsParseBack() {
        for m: Int64 in [0, 1, -1, 1_234_567_890_123_456, -62_135_596_800_000_000, 253_402_300_799_000_000] {
            #expect(parseTimestamp(writeTimestamp(m)) == m)
        }
    }

    /// Regression (found by fuzzing, issue 10): an event `ts` of 9223978307200000 ms lies inside PostgreSQL's
    /// range, but its microseconds since 1970 wrapped around Int64 in `append` (written as a year-292277 BC
    /// text), and reading a time that far out, or a 9-digit year, trapped on the same overflow.
    @Test func timestampsNearPostgresLimitRoundTrip() {
        for seconds in [9_223_978_307_200.0, 9_224_318_015_999, 9_223_372_036_855, -210_866_803_200] {
            var out: [UInt8] = []
            #expect(TimestampText.append(Date(timeIntervalSince1970: seconds), to: &out))
            let back = out.withUnsafeBufferPointer(TimestampText.parse)?.timeIntervalSince1970
            #expect(back.map { abs($0 - seconds) < 0.01 } == true, "\(seconds) → \(String(decoding: out, as: UTF8.self))")
        }
        // A 9-digit year (PostgreSQL never writes one) is refused, not a trap.
        #expect(Array("999999999-12-31 23:59:59.999999+00".utf8).withUnsafeBufferPointer(TimestampText.parse) == nil)
    }

    @Test func numbers() {
        func int(_ s: String) -> Int64? {
            var b = Array(s.utf8)
            return b.withUnsafeMutableBufferPointer { NumberText.parseInt(UnsafeBufferPointer($0)) }
        }
        func numeric(_ s: String) -> PGValue {
            var b = Array(s.utf8)
            return b.withUnsafeMutableBufferPointer { NumberText.parseNumeric(UnsafeBufferPointer($0)) }
        }
        #expect(int("-9223372036854775808") == .min)
        #expect(int("9223372036854775807") == .max)
        #expect(int("9223372036854775808") == nil)
        #expect(int("12a") == nil)
        #expect(int("-") == nil)
        #expect(numeric("10.000") == .int(10))
        #expect(numeric("-0.25") == .double(-0.25))
        #expect(numeric("NaN").doubleValue?.isNaN == true)
        #expect(numeric("99999999999999999999") == .double(1e20))
        var out: [UInt8] = []
        NumberText.appendDecimal(.min, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "-9223372036854775808")
    }

    @Test func floatFastPathMatchesStrtofExactly() {
        var generator = SystemRandomNumberGenerator()
        func parse(_ s: String) -> Float? {
            var b = Array(s.utf8)
            return b.withUnsafeMutableBufferPointer { NumberText.parseFloat(UnsafeBufferPointer($0)) }
        }
        for _ in 0..<50_000 {
            let f = Float(bitPattern: generator.next())
            guard f.isFinite else { continue }
            #expect(parse(f.description)?.bitPattern == f.bitPattern, "\(f)")
        }
        // Decimals with more digits than the shortest form, as other clients may write them, round like strtof.
        for text in ["0.100000001490116119384765625", "16777217", "3.4028235e38", "1e-45", "7.0064923e-45", "0.3"] {
            #expect(parse(text)?.bitPattern == strtof(text, nil).bitPattern, "\(text)")
        }
    }

    @Test func doubleFastPathMatchesStrtodExactly() {
        var generator = SystemRandomNumberGenerator()
        func parse(_ s: String) -> Double? {
            var b = Array(s.utf8)
            return b.withUnsafeMutableBufferPointer { NumberText.parseDouble(UnsafeBufferPointer($0)) }
        }
        for _ in 0..<30_000 {
            let d = Double(bitPattern: generator.next())
            guard d.isFinite else { continue }
            #expect(parse(d.description)?.bitPattern == d.bitPattern, "\(d)")
        }
        for d in [0.85, 0.1, 123.456, -2.5e-10, 1e22, 1e23, 9007199254740992] {
            #expect(parse(d.description) == d)
        }
        for text in ["9007199254740993", "0.30000000000000004", "1e-320", "123456789012345678"] {
            #expect(parse(text)?.bitPattern == strtod(text, nil).bitPattern, "\(text)")
        }
        #expect(parse("Infinity") == .infinity)
        #expect(parse("-Infinity") == -.infinity)
        #expect(parse("NaN")?.isNaN == true)
        #expect(parse("1.5x") == nil)
        #expect(parse("") == nil)
    }

    @Test func byteaEscapeFormat() {
        var b = Array(#"a\\b\001\377"#.utf8)
        let parsed = b.withUnsafeMutableBufferPointer { ByteaText.parse(UnsafeBufferPointer($0)) }
        #expect(parsed == [97, 92, 98, 1, 255])
    }

    @Test func errorDescriptionForms() {
        let server = PGError(
            code: .server, message: #"relation "nope" does not exist"#, sqlState: "42P01",
            statement: "SELECT * FROM nope", severity: "ERROR")
        #expect(server.description == #"ERROR 42P01: relation "nope" does not exist (in: SELECT * FROM nope)"#)
        let long = PGError(code: .server, message: "m", statement: String(repeating: "x", count: 500))
        #expect(long.statement?.count == 201)
        #expect(PGError(code: .clusterSetup, message: "boom").description == "clusterSetup: boom")
    }

    @Test func urlRedaction() {
        #expect(PGConnection.redacted("postgresql://u:secret@h:5/db") == "postgresql://u:***@h:5/db")
        #expect(PGConnection.redacted("postgresql://u@h/db") == "postgresql://u@h/db")
    }
}
