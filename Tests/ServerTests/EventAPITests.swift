import BlacklightCore
import Foundation
import Testing
import TestSupport

@Suite("Event API (POST /e/{key})")
struct EventAPITests {
    @Test func singleEventIsStoredAndStartsARun() async throws {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet])
        defer { Task { await h.stop() } }
        let r = try await h.post("/e/anykey", #"{"name":"test/greet","data":{"name":"ada"}}"#)
        #expect(r.status == 200)
        let ids = r.json["ids"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(ids.count == 1 && ids[0].count == 26)
        #expect(r.json["status"]?.intValue == 200)
        #expect(try h.count("SELECT count(*) FROM blacklight.events WHERE id = $1", [.text(ids[0])]) == 1)
        #expect(try h.count("SELECT count(*) FROM blacklight.runs WHERE event_id = $1 AND function_id = 'greet'", [.text(ids[0])]) == 1)
    }

    @Test func arrayReturnsOneIdPerEventInOrder() async throws {
        let h = try await ServerHarness.start()
        defer { Task { await h.stop() } }
        let r = try await h.post("/e/k", #"[{"name":"a/one","data":{"n":1}},{"name":"a/two","data":{"n":2},"ts":1700000000000,"v":"1"},{"name":"a/three"}]"#)
        #expect(r.status == 200)
        let ids = r.json["ids"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(ids.count == 3)
        let names = try h.conn.query("SELECT name FROM blacklight.events WHERE id = ANY($1::text[]) ORDER BY array_position($1::text[], id)",
                                     [.array(ids.map { .text($0) })]).rows.compactMap { $0["name"].stringValue }
        #expect(names == ["a/one", "a/two", "a/three"])
        let ts = try h.conn.query("SELECT (extract(epoch FROM ts) * 1000)::bigint AS ms FROM blacklight.events WHERE id = $1", [.text(ids[1])]).scalar
        #expect(ts.intValue == 1_700_000_000_000)
    }

    @Test func badEventIsRejectedWithItsIndexAndFieldAndNothingIsStored() async throws {
        let h = try await ServerHarness.start()
        defer { Task { await h.stop() } }
        let r = try await h.post("/e/k", #"[{"name":"a"},{"name":"b"},{"data":{}}]"#)
        #expect(r.status == 400)
        #expect(r.json["error"]?.stringValue == "event 2: field 'name': required")
        #expect(r.json["ids"] == .array([]))
        #expect(r.json["status"]?.intValue == 400)
        let d = try await h.post("/e/k", #"[{"name":"a","data":[1]}]"#)
        #expect(d.json["error"]?.stringValue == "event 0: field 'data': must be a JSON object")
        let j = try await h.post("/e/k", #"{"name": "#)
        #expect(j.status == 400)
        #expect(j.json["error"]?.stringValue?.hasPrefix("request body is not valid JSON") == true)
        #expect(try h.count("SELECT count(*) FROM blacklight.events") == 0)
    }

    @Test func limitsPerEventAndPerRequestAreEnforced() async throws {
        let h = try await ServerHarness.start()
        defer { Task { await h.stop() } }
        let big = String(repeating: "x", count: 520 * 1024)
        let r = try await h.post("/e/k", #"[{"name":"ok"},{"name":"big","data":{"s":"\#(big)"}}]"#)
        #expect(r.status == 400)
        #expect(r.json["error"]?.stringValue?.hasPrefix("event 1: ") == true)
        #expect(r.json["error"]?.stringValue?.contains("512 KB") == true)
        let many = "[" + Array(repeating: #"{"name":"n"}"#, count: 5001).joined(separator: ",") + "]"
        let m = try await h.post("/e/k", many)
        #expect(m.status == 400)
        #expect(m.json["error"]?.stringValue?.contains("5001 events") == true)
        let atLimit = "[" + Array(repeating: #"{"name":"n"}"#, count: 5000).joined(separator: ",") + "]"
        let ok = try await h.post("/e/k", atLimit)
        #expect(ok.status == 200)
        #expect(ok.json["ids"]?.arrayValue?.count == 5000)
        #expect(try h.count("SELECT count(*) FROM blacklight.events") == 5000)
    }

    @Test func seedHeaderMakesIdsDeterministicAndARetryCreatesNothing() async throws {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet])
        defer { Task { await h.stop() } }
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let seed = ["x-inngest-event-id-seed": "\(now),AAECAwQFBgcICQ=="]
        let body = #"[{"name":"test/greet","data":{}},{"name":"test/greet","data":{}}]"#
        let first = try await h.post("/e/k", body, headers: seed)
        let second = try await h.post("/e/k", body, headers: seed)
        #expect(first.status == 200 && second.status == 200)
        #expect(first.json["ids"] == second.json["ids"])
        let ids = first.json["ids"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(ids.count == 2 && ids[0] != ids[1])
        #expect(ULID.millis(of: ids[0]) == now)
        #expect(try h.count("SELECT count(*) FROM blacklight.events") == 2)
        #expect(try h.count("SELECT count(*) FROM blacklight.runs") == 2)
        let other = try await h.post("/e/k", body, headers: ["x-inngest-event-id-seed": "\(now),AQECAwQFBgcICQ=="])
        #expect(other.json["ids"] != first.json["ids"])
    }

    @Test func concurrentRetriesWithOneSeedStoreEachEventOnce() async throws {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet])
        defer { Task { await h.stop() } }
        let seed = ["x-inngest-event-id-seed": "\(UInt64(Date().timeIntervalSince1970 * 1000)),AQIDBAUGBwgJCg=="]
        let body = #"[{"name":"test/greet","data":{"a":1}},{"name":"test/greet","data":{"a":2}}]"#
        let replies = try await withThrowingTaskGroup(of: ServerHarness.Reply.self) { group in
            for _ in 0..<12 { group.addTask { try await h.post("/e/k", body, headers: seed) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(replies.allSatisfy { $0.status == 200 })
        #expect(Set(replies.map { $0.json["ids"]?.serialized() ?? "" }).count == 1)
        #expect(try h.count("SELECT count(*) FROM blacklight.events") == 2)
        #expect(try h.count("SELECT count(*) FROM blacklight.runs") == 2)
    }

    @Test func eventIdDeduplicates() async throws {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet])
        defer { Task { await h.stop() } }
        let a = try await h.post("/e/k", #"{"name":"test/greet","id":"order-1"}"#)
        let b = try await h.post("/e/k", #"[{"name":"test/greet","id":"order-1"},{"name":"test/greet","id":"order-2"},{"name":"test/greet","id":"order-2"}]"#)
        let aid = a.json["ids"]?[0]?.stringValue
        #expect(b.json["ids"]?[0]?.stringValue == aid)
        #expect(b.json["ids"]?[1]?.stringValue == b.json["ids"]?[2]?.stringValue)
        #expect(try h.count("SELECT count(*) FROM blacklight.events") == 2)
        #expect(try h.count("SELECT count(*) FROM blacklight.runs") == 2)
    }

    @Test func configuredEventKeysRefuseOtherKeys() async throws {
        let h = try await ServerHarness.start { o in
            o.dev = false
            o.eventKeys = ["key-one", "key-two"]
        }
        defer { Task { await h.stop() } }
        let bad = try await h.post("/e/nope", #"{"name":"a"}"#)
        #expect(bad.status == 401)
        #expect(bad.json["ids"] == .array([]))
        let good = try await h.post("/e/key-two", #"{"name":"a"}"#)
        #expect(good.status == 200)
        #expect(try h.count("SELECT count(*) FROM blacklight.events") == 1)
    }

    @Test func devAcceptsAnyKeyEvenWithKeysConfigured() async throws {
        let h = try await ServerHarness.start { o in o.eventKeys = ["only"] }
        defer { Task { await h.stop() } }
        #expect(try await h.post("/e/NO_EVENT_KEY_SET", #"{"name":"a"}"#).status == 200)
    }
}

@Suite("Event id seeds")
struct EventIDSeedTests {
    static let when = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func inngestSeedGivesULIDsWithItsMillisAndIncreasingEntropy() throws {
        let seed = try #require(EventIDSeed("1700000000000,AAECAwQFBgcICQ==", now: Self.when))
        #expect(seed.millis == 1_700_000_000_000)
        let ids = (0..<3).map(seed.id(at:))
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == 3)
        #expect(ids[0] == EventIDSeed("1700000000000,AAECAwQFBgcICQ==", now: Self.when)?.id(at: 0))
        #expect(ULID.millis(of: ids[0]) == 1_700_000_000_000)
    }

    @Test func aSeedOfAnotherShapeOrFarFromNowIsIgnored() {
        #expect(EventIDSeed("retry-42", now: Self.when) == nil)
        #expect(EventIDSeed("   ", now: Self.when) == nil)
        #expect(EventIDSeed("1700000000000,AAEC", now: Self.when) == nil)  // 3 bytes of entropy, not 10
        // A day old at most, an hour ahead at most.
        #expect(EventIDSeed("\(1_700_000_000_000 - 86_400_000),AAECAwQFBgcICQ==", now: Self.when) != nil)
        #expect(EventIDSeed("\(1_700_000_000_000 - 86_400_001),AAECAwQFBgcICQ==", now: Self.when) == nil)
        #expect(EventIDSeed("\(1_700_000_000_000 + 3_600_000),AAECAwQFBgcICQ==", now: Self.when) != nil)
        #expect(EventIDSeed("\(1_700_000_000_000 + 3_600_001),AAECAwQFBgcICQ==", now: Self.when) == nil)
        #expect(EventIDSeed("281474976710655,AAECAwQFBgcICQ==", now: Self.when) == nil)
    }
}
