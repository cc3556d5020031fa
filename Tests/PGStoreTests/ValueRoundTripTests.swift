import Foundation
import PGStore
import Testing

@Suite("PGValue round trips through real columns")
struct ValueRoundTripTests {
    let conn: PGConnection

    init() throws {
        conn = try freshConnection()
        try conn.execScript(
            """
            CREATE TYPE mood AS ENUM ('calm', 'busy');
            CREATE TABLE v (
                id serial PRIMARY KEY,
                b bool, i bigint, i4 int, i2 smallint, d float8, r real, n numeric, t text, vc varchar(40),
                by bytea, ts timestamptz, tsn timestamp, j jsonb, js json, u uuid, dt date, tm time, m mood,
                ta text[], ia bigint[], i4a int[], fa real[], da float8[], ba bool[], ja jsonb[], ua uuid[],
                tsa timestamptz[], na numeric[]
            );
            """)
    }

    /// Inserts `value` into `column` and reads it back.
    func roundTrip(_ column: String, _ value: PGValue) throws -> PGValue {
        let id = try conn.query("INSERT INTO v (\(column)) VALUES ($1) RETURNING id", [value]).scalar
        return try conn.query("SELECT \(column) FROM v WHERE id = $1", [id]).scalar
    }

    @Test func nullRoundTripsInEveryColumn() throws {
        for column in ["b", "i", "d", "r", "n", "t", "by", "ts", "tsn", "j", "js", "u", "dt", "m", "ta", "ia", "fa"] {
            #expect(try roundTrip(column, .null) == .null, "column \(column)")
        }
    }

    @Test func boolsAndIntegers() throws {
        #expect(try roundTrip("b", .bool(true)) == .bool(true))
        #expect(try roundTrip("b", .bool(false)) == .bool(false))
        for v: Int64 in [0, 1, -1, 42, -9_876_543_210, .max, .min] {
            #expect(try roundTrip("i", .int(v)) == .int(v))
        }
        #expect(try roundTrip("i4", .int(-2_147_483_648)) == .int(-2_147_483_648))
        #expect(try roundTrip("i2", .int(-32768)) == .int(-32768))
    }

    @Test func doublesIncludingSpecialValues() throws {
        for v in [0.0, -0.5, .pi, 1e-300, -1.7976931348623157e308, 0.1 + 0.2, .infinity, -.infinity] {
            #expect(try roundTrip("d", .double(v)) == .double(v))
        }
        #expect(try roundTrip("d", .double(.nan)).doubleValue?.isNaN == true)
        #expect(try roundTrip("r", .double(1.5)) == .double(1.5))
    }

    @Test func numericIsIntWhenWholeElseDouble() throws {
        #expect(try roundTrip("n", .int(123)) == .int(123))
        #expect(try roundTrip("n", .int(-7)) == .int(-7))
        #expect(try roundTrip("n", .double(1.25)) == .double(1.25))
        #expect(try conn.query("SELECT 5.000::numeric").scalar == .int(5))
        #expect(try conn.query("SELECT 12345678901234567890123::numeric").scalar == .double(Double("12345678901234567890123")!))
        #expect(try conn.query("SELECT sum(x) FROM generate_series(1, 100) x").scalar == .int(5050))
    }

    @Test func textWithUnicodeQuotesAndBackslashes() throws {
        let samples = [
            "", "plain", "it's", "say \"hi\"", #"back\slash \\ \n"#, "tab\tnew\nline", "Zürich — 東京 🚀",
            "NULL", "{braces},commas", "  padded  ", "'; DROP TABLE v; --",
        ]
        for s in samples {
            #expect(try roundTrip("t", .text(s)) == .text(s))
        }
        #expect(try roundTrip("vc", .text("varchar ✓")) == .text("varchar ✓"))
    }

    @Test func byteaAllByteValues() throws {
        let all = (0...255).map { UInt8($0) }
        #expect(try roundTrip("by", .bytea(all)) == .bytea(all))
        #expect(try roundTrip("by", .bytea([])) == .bytea([]))
        let large = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(try roundTrip("by", .bytea(large)) == .bytea(large))
        #expect(try conn.query("SELECT length($1::bytea)", [.bytea(large)]).scalar == .int(1_000_000))
    }

    @Test func timestampsKeepMicroseconds() throws {
        let samples: [Int64] = [
            0, 1_700_000_000_123_456, -1, -86_400_000_001, 4_102_444_799_999_999,  // 2099-12-31 23:59:59.999999
            // Far from 2001 a Double holds whole seconds only (its step at year 9999 is ~30 µs).
            253_402_300_799_000_000,  // 9999-12-31 23:59:59
            -62_135_596_800_000_000,  // 0001-01-01 00:00:00
            1_709_164_800_000_001,  // 2024-02-29 00:00:00.000001
        ]
        for m in samples {
            let value = try roundTrip("ts", .timestamp(date(micros: m)))
            #expect(value.dateValue.map(micros) == m, "micros \(m)")
            #expect(value == .timestamp(date(micros: m)))
            let naive = try roundTrip("tsn", .timestamp(date(micros: m)))
            #expect(naive.dateValue.map(micros) == m, "timestamp without time zone, micros \(m)")
        }
        #expect(try roundTrip("ts", .timestamp(.distantFuture)) == .timestamp(.distantFuture))
        #expect(try roundTrip("ts", .timestamp(.distantPast)) == .timestamp(.distantPast))
    }

    @Test func timestampsInOtherSessionTimeZonesDecodeToTheSameInstant() throws {
        let instant = date(micros: 1_700_000_000_654_321)
        try conn.exec("INSERT INTO v (id, ts) VALUES (-1, $1)", [.timestamp(instant)])
        for zone in ["Asia/Kolkata", "America/St_Johns", "Pacific/Chatham", "Europe/Amsterdam", "UTC"] {
            try conn.execScript("SET TimeZone = '\(zone)'")
            let text = try conn.query("SELECT ts::text FROM v WHERE id = -1").scalar.stringValue ?? ""
            #expect(try conn.query("SELECT ts FROM v WHERE id = -1").scalar == .timestamp(instant), "\(zone): \(text)")
        }
        // In 1900 Kolkata kept Madras time, which PostgreSQL prints with a seconds offset ("+05:21:10").
        try conn.execScript("SET TimeZone = 'Asia/Kolkata'")
        let lmt = try conn.query("SELECT '1900-01-01 00:00:00+00'::timestamptz, '1900-01-01 00:00:00+00'::timestamptz::text")
        #expect(lmt.rows[0][1].stringValue?.split(separator: "+").last?.split(separator: ":").count == 3)
        #expect(lmt.rows[0][0].dateValue.map(micros) == -2_208_988_800_000_000)
    }

    @Test func jsonKeepsItsText() throws {
        let doc = #"{"name": "Zoë \"Z\" \\o/", "tags": ["a", null], "n": -1.5e3}"#
        let back = try roundTrip("j", .json(doc))
        #expect(back.jsonText != nil)
        // jsonb normalises; compare through JSONSerialization.
        let a = try JSONSerialization.jsonObject(with: Data(doc.utf8)) as? NSDictionary
        let b = try JSONSerialization.jsonObject(with: Data((back.jsonText ?? "").utf8)) as? NSDictionary
        #expect(a == b)
        // A json (not jsonb) column keeps the exact text of a .text parameter; a .json parameter is sent as jsonb,
        // so it arrives normalised.
        #expect(try roundTrip("js", .text(doc)) == .json(doc))
        #expect(try roundTrip("js", .json(doc)).jsonText == back.jsonText)
    }

    @Test func textParametersFeedUuidDateTimeAndEnumColumns() throws {
        let uuid = "0b7e5b0c-7b1a-4d54-9b37-3f0c8c0a7e11"
        #expect(try roundTrip("u", .text(uuid)) == .text(uuid))
        #expect(try roundTrip("dt", .text("2024-02-29")) == .text("2024-02-29"))
        #expect(try roundTrip("tm", .text("23:59:58.5")) == .text("23:59:58.5"))
        #expect(try roundTrip("m", .text("busy")) == .text("busy"))
        #expect(try roundTrip("ts", .text("2024-01-01 00:00:00+00")) == .timestamp(date(micros: 1_704_067_200_000_000)))
        #expect(try roundTrip("dt", .timestamp(date(micros: 1_704_067_200_000_000))) == .text("2024-01-01"))
    }

    @Test func textArraysWithHardElements() throws {
        let elements: [PGValue] = [
            .text("a b"), .text(#"c"d"#), .text(#"back\slash"#), .text("NULL"), .null, .text(""), .text("{x,y}"),
            .text(" lead"), .text("trail "), .text("Ünïcödé 🚀"), .text("new\nline"), .text("comma,"),
        ]
        #expect(try roundTrip("ta", .array(elements)) == .array(elements))
        #expect(try roundTrip("ta", .array([])) == .array([]))
    }

    @Test func numberBoolJsonUuidAndTimestampArrays() throws {
        let ints: [PGValue] = [.int(1), .int(-2), .null, .int(.max), .int(.min)]
        #expect(try roundTrip("ia", .array(ints)) == .array(ints))
        #expect(try roundTrip("i4a", .array([.int(7), .null])) == .array([.int(7), .null]))
        let doubles: [PGValue] = [.double(0.1), .double(-2.5e-10), .double(.infinity), .null]
        #expect(try roundTrip("da", .array(doubles)) == .array(doubles))
        #expect(try roundTrip("ba", .array([.bool(true), .bool(false), .null])) == .array([.bool(true), .bool(false), .null]))
        let json = try roundTrip("ja", .array([.json(#"{"a": "q\"uote"}"#), .null]))
        #expect(json == .array([.json(#"{"a": "q\"uote"}"#), .null]))
        let uuids: [PGValue] = [.text("0b7e5b0c-7b1a-4d54-9b37-3f0c8c0a7e11"), .null]
        #expect(try roundTrip("ua", .array(uuids)) == .array(uuids))
        let stamps: [PGValue] = [.timestamp(date(micros: 1_700_000_000_000_001)), .null]
        #expect(try roundTrip("tsa", .array(stamps)) == .array(stamps))
        #expect(try roundTrip("na", .array([.int(3), .double(0.5)])) == .array([.int(3), .double(0.5)]))
    }

    @Test func realArraysAreExactFloats() throws {
        let floats: [Float] = [
            0.1, 1.0 / 3.0, -.greatestFiniteMagnitude, .leastNormalMagnitude, .leastNonzeroMagnitude, 0, -0.0, 16_777_215, .pi,
            .infinity,
        ]
        let back = try roundTrip("fa", .float4Array(floats))
        #expect(back == .float4Array(floats))
        #expect(back.floatArrayValue?.map(\.bitPattern) == floats.map(\.bitPattern))
        let embedding = (0..<384).map { Float(sin(Double($0))) }
        #expect(try roundTrip("fa", .float4Array(embedding)) == .float4Array(embedding))
        #expect(try roundTrip("fa", .float4Array([])) == .float4Array([]))
        // A NULL element cannot be a Float: the array comes back as .array.
        #expect(try roundTrip("fa", .array([.double(1.5), .null])) == .array([.double(1.5), .null]))
    }

    @Test func arraysBindToAny() throws {
        try conn.exec("INSERT INTO v (id, t) VALUES (101, 'a'), (102, 'b'), (103, 'c')")
        let rows = try conn.query("SELECT id FROM v WHERE id = ANY($1) ORDER BY id", [.array([.int(101), .int(103)])])
        #expect(rows.rows.map { $0["id"] } == [.int(101), .int(103)])
        let byText = try conn.query("SELECT id FROM v WHERE t = ANY($1)", [.array([.text("b")])])
        #expect(byText.rows.map { $0[0] } == [.int(102)])
    }

    @Test func multiDimensionalAndDecoratedArrays() throws {
        #expect(try conn.query("SELECT ARRAY[[1,2],[3,4]]").scalar == .array([.array([.int(1), .int(2)]), .array([.int(3), .int(4)])]))
        #expect(try conn.query("SELECT '[0:1]={7,8}'::int[]").scalar == .array([.int(7), .int(8)]))
        #expect(try conn.query("SELECT $1::int[]", [.array([.array([.int(1)]), .array([.int(2)])])]).scalar
            == .array([.array([.int(1)]), .array([.int(2)])]))
    }

    @Test func rowsExposeColumnsAndCounts() throws {
        let r = try conn.query("SELECT 1 AS one, 'x' AS ex, NULL::int AS nothing")
        #expect(r.columns == ["one", "ex", "nothing"])
        #expect(r.rows.count == 1)
        #expect(r.rows[0]["one"] == .int(1))
        #expect(r.rows[0]["missing"] == .null)
        #expect(r.rows[0][1] == .text("x"))
        #expect(r.rows[0][9] == .null)
        #expect(r.command == "SELECT 1")
        let inserted = try conn.query("INSERT INTO v (t) VALUES ('a'), ('b')")
        #expect(inserted.command == "INSERT 0 2")
        #expect(inserted.affectedRows == 2)
        #expect(try conn.exec("UPDATE v SET t = $1 WHERE t IN ('a', 'b')", ["z"]) == 2)
        #expect(try conn.exec("CREATE TEMP TABLE tmp (x int)") == 0)
    }

    @Test func unknownTypesArriveAsText() throws {
        #expect(try conn.query("SELECT '1 day'::interval").scalar == .text("1 day"))
        #expect(try conn.query("SELECT '192.168.0.1'::inet").scalar == .text("192.168.0.1"))
        #expect(try conn.query("SELECT 'x'::char").scalar == .text("x"))
        #expect(try conn.query("SELECT 'pg_class'::regclass::oid > 0").scalar == .bool(true))
    }

    @Test func literalConformancesAndAccessors() {
        let params: [PGValue] = ["s", 1, 2.5, true]
        #expect(params == [.text("s"), .int(1), .double(2.5), .bool(true)])
        #expect(PGValue.int(3).doubleValue == 3)
        #expect(PGValue.double(3).intValue == 3)
        #expect(PGValue.double(3.5).intValue == nil)
        #expect(PGValue.text("a").jsonText == nil)
        #expect(PGValue.null.isNull)
    }
}
