import BlacklightCore
import Foundation
import Testing
import TestSupport

/// Issue 10: requests that stopped the server, answered 500, or changed what was sent. Each gets a 4xx naming the
/// event and the field, nothing of it is stored, and the server goes on answering.
@Suite("Hostile input at the HTTP doors")
struct HostileInputTests {
    static let pastInt64Micros = "9223978307200000"  // ms: microseconds since 1970 overflow Int64

    @Test("regression: a ts past Int64 microseconds answers 400 naming the field, and the server stays up")
    func tsOverflowIsRefused() async throws {
        let h = try await ServerHarness.start()
        defer { Task { await h.stop() } }
        let r = try await h.post("/e/k", #"{"name": "x", "ts": \#(Self.pastInt64Micros)}"#)
        #expect(r.status == 400)
        #expect(r.json["error"]?.stringValue
            == "event 0: field 'ts': 9223978307200000 ms since 1970 is after the year 9999: times must be in years 1 to 9999")
        let api = try await h.post("/api/events", #"[{"name": "a"}, {"name": "x", "ts": -1e300}]"#)
        #expect(api.status == 400)
        #expect(api.json["error"]?.stringValue?.hasPrefix("event 1: field 'ts': ") == true)
        #expect(api.json["error"]?.stringValue?.contains("before the year 1") == true)
        let ok = try await h.post("/e/k", #"{"name": "x", "ts": 253402300799999}"#)  // the last accepted millisecond
        #expect(ok.status == 200)
        #expect(try h.count("SELECT count(*) FROM blacklight.events") == 1)
    }

    @Test("regression: since/until out of range or NaN answer 400 from the API; the dashboard ignores them and stays up")
    func queryTimesAreRangeChecked() async throws {
        let h = try await ServerHarness.start()
        defer { Task { await h.stop() } }
        let far = try await h.get("/api/runs?since=\(Self.pastInt64Micros)")
        #expect(far.status == 400)
        #expect(far.json["error"]?.stringValue == "'since': 9223978307200000 ms since 1970 is after the year 9999: "
            + "times must be in years 1 to 9999")
        let nan = try await h.get("/api/runs?since=nan")
        #expect(nan.status == 400)
        #expect(nan.json["error"]?.stringValue == "'since': NaN is not a time")
        let inf = try await h.get("/api/runs?until=-inf")
        #expect(inf.status == 400)
        #expect(inf.json["error"]?.stringValue?.hasPrefix("'until': ") == true)
        let page = try await h.get("/runs?since=\(Self.pastInt64Micros)&until=nan")
        #expect(page.status == 200)
        #expect(try await h.get("/api/runs?since=1700000000000").status == 200)
    }

    @Test("regression: NUL characters and a 3 KB id answer 400 naming the event and the field; nothing is stored")
    func unstorableTextIsRefused() async throws {
        let h = try await ServerHarness.start()
        defer { Task { await h.stop() } }
        let deep = String(repeating: "{\"a\":", count: 65) + "1" + String(repeating: "}", count: 65)  // 65 levels
        let cases: [(String, String)] = [
            (#"[{"name": "ok"}, {"name": "b", "data": {"s": "a\u0000b"}}]"#,
             "event 1: field 'data.s': contains the character U+0000, which cannot be stored"),
            (#"{"name": "a\u0000"}"#, "event 0: field 'name': contains the control character U+0000"),
            (#"{"name": "a", "id": "x\u0000"}"#, "event 0: field 'id': contains the character U+0000, which cannot be stored"),
            (#"{"name": "a", "id": "\#(String(repeating: "i", count: 3000))"}"#, "event 0: field 'id': 3000 bytes is over the limit of 256"),
            (#"{"name": "a", "data": {"list": [1, {"deep": "\u0000"}]}}"#,
             "event 0: field 'data.list[1].deep': contains the character U+0000, which cannot be stored"),
            (#"{"name": "a", "data": {"k\u0000": 1}}"#,
             "event 0: field 'data.k\\u0000': the key contains the character U+0000, which cannot be stored"),
            (#"{"name": "\#(String(repeating: "n", count: 300))"}"#, "event 0: field 'name': 300 bytes is over the limit of 256"),
            (#"{"name": "a", "data": \#(deep)}"#, "event 0: field 'data\(String(repeating: ".a", count: 64))': nested deeper than 64 levels"),
        ]
        for (body, message) in cases {
            let r = try await h.post("/e/k", body)
            #expect(r.status == 400, "\(message)")
            #expect(r.json["error"]?.stringValue == message)
            #expect(r.json["ids"] == .array([]))
        }
        let api = try await h.post("/api/events", #"{"name": "a", "data": {"s": "\u0000"}}"#)
        #expect(api.status == 400)
        #expect(api.json["error"]?.stringValue == "event 0: field 'data.s': contains the character U+0000, which cannot be stored")
        #expect(try h.count("SELECT count(*) FROM blacklight.events") == 0)
    }

    @Test("a NUL in a query string or a path answers 400, not 500")
    func nulInQueryOrPath() async throws {
        let h = try await ServerHarness.start()
        defer { Task { await h.stop() } }
        for path in ["/api/runs?function=%00", "/api/events?name=a%00b", "/runs?event=%00"] {
            let r = try await h.get(path)
            #expect(r.status == 400, "\(path): \(r.status) \(r.text)")
            #expect(r.text.contains("contains a NUL byte"), "\(path)")
        }
        // Path segments are not percent-decoded: "%00" is three characters, and no such run or event exists.
        #expect(try await h.get("/api/events/%00").status == 404)
        #expect(try await h.post("/api/runs/x%00/cancel").status == 404)
    }

    @Test("regression: integers beyond Int64 and numbers beyond Double answer 400 instead of changing value")
    func lossyNumbersAreRefused() async throws {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet])
        defer { Task { await h.stop() } }
        let big = try await h.post("/e/k", #"{"name": "a", "data": {"n": 12345678901234567890}}"#)
        #expect(big.status == 400)
        #expect(big.json["error"]?.stringValue == "request body is not valid JSON: the integer 12345678901234567890 at offset 28 "
            + "does not fit in 64 bits (from -9223372036854775808 to 9223372036854775807): send it as a string")
        let huge = try await h.post("/e/k", #"{"name": "a", "data": {"x": 1e999}}"#)
        #expect(huge.status == 400)
        #expect(huge.json["error"]?.stringValue?.contains("the number 1e999 at offset 28 is beyond the range of a 64-bit float") == true)
        let invoke = try await h.post("/api/functions/greet/invoke", #"{"data": {"x": -1e999}}"#)
        #expect(invoke.status == 400)
        let nul = try await h.post("/api/functions/greet/invoke", #"{"data": {"x": "\u0000"}}"#)
        #expect(nul.status == 400)
        #expect(nul.json["error"]?.stringValue == "event 0: field 'data.x': contains the character U+0000, which cannot be stored")
        let edge = try await h.post("/e/k", #"{"name": "a", "data": {"min": -9223372036854775808, "max": 9223372036854775807}}"#)
        #expect(edge.status == 200)
        let stored = try h.conn.query("SELECT data::text AS d FROM blacklight.events").rows.first?["d"].stringValue
        #expect(stored == #"{"max": 9223372036854775807, "min": -9223372036854775808}"#)
        #expect(try h.count("SELECT count(*) FROM blacklight.events") == 1)
    }

    @Test("bad requests sent among good ones fail alone with 400; the good ones are stored")
    func badRequestsAmongGoodOnesFailAlone() async throws {
        let h = try await ServerHarness.start()
        defer { Task { await h.stop() } }
        let replies = try await withThrowingTaskGroup(of: (Bool, Int).self) { group in
            for i in 0..<40 {
                let bad = i % 2 == 1
                let body = bad ? #"{"name": "mix", "data": {"s": "\u0000"}}"# : #"{"name": "mix", "data": {"i": \#(i)}}"#
                group.addTask { (bad, try await h.post("/e/k", body).status) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(replies.filter { $0.0 }.allSatisfy { $0.1 == 400 })
        #expect(replies.filter { !$0.0 }.allSatisfy { $0.1 == 200 })
        #expect(try h.count("SELECT count(*) FROM blacklight.events") == 20)
    }

    @Test("regression: a seed header far from now is ignored, so it cannot pin an event's time")
    func farSeedIsIgnored() async throws {
        let h = try await ServerHarness.start()
        defer { Task { await h.stop() } }
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        for far in [UInt64(253_402_300_799_000), now + 2 * 3_600_000, now - 25 * 3_600_000] {
            let seed = ["x-inngest-event-id-seed": "\(far),AAECAwQFBgcICQ=="]
            let first = try await h.post("/e/k", #"{"name": "a"}"#, headers: seed)
            let second = try await h.post("/e/k", #"{"name": "a"}"#, headers: seed)
            #expect(first.status == 200 && second.status == 200)
            let id = try #require(first.json["ids"]?[0]?.stringValue)
            #expect(first.json["ids"] != second.json["ids"])  // fresh ids each time: the seed was not used
            #expect(abs(Double(ULID.millis(of: id) ?? 0) - Double(now)) < 600_000)
        }
        #expect(try h.count("SELECT count(*) FROM blacklight.events") == 6)
    }
}
