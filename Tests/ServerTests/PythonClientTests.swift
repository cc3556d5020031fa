import BlacklightCore
import Foundation
import Testing
import TestSupport

/// The real `inngest` package from PyPI (bin/test installs it) sending to Blacklight.
@Suite("Inngest Python SDK")
struct PythonClientTests {
    static let script = #"""
        import asyncio, json, sys
        import inngest

        client = inngest.Inngest(app_id="blacklight-test", is_production=False)
        sync_ids = client.send_sync(inngest.Event(name="test/greet", data={"name": "py"}))
        async def main():
            return await client.send([
                inngest.Event(name="test/greet", data={"name": "a"}),
                inngest.Event(name="test/greet", data={"name": "b"}, id="py-dedupe-1"),
            ])
        async_ids = asyncio.run(main())
        again = client.send_sync(inngest.Event(name="test/greet", data={"name": "c"}, id="py-dedupe-1"))
        print(json.dumps({"sync": sync_ids, "async": async_ids, "again": again}))
        """#

    /// Outside dev, as `serve` runs (it refuses to start without keys): the SDK in production mode sends with its
    /// INNGEST_EVENT_KEY, and a client with another key is refused.
    static let keyedScript = #"""
        import json, os
        import inngest

        client = inngest.Inngest(app_id="blacklight-test", is_production=True)
        ids = client.send_sync(inngest.Event(name="test/greet", data={"name": "key"}))
        refused = False
        try:
            inngest.Inngest(app_id="blacklight-test", is_production=True, event_key="wrong-key").send_sync(
                inngest.Event(name="test/greet", data={"name": "nope"}))
        except Exception:
            refused = True
        print(json.dumps({"ids": ids, "wrong_key_refused": refused}))
        """#

    @Test func theSDKSendsWithTheKeysSet() async throws {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet], engine: true) { o in
            o.dev = false
            o.eventKeys = ["ek-python"]
            o.signingKey = "sk-python"
        }
        defer { Task { await h.stop() } }
        let file = h.root.appendingPathComponent("send-keyed.py")
        try Self.keyedScript.write(to: file, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "INNGEST_DEV")
        env["INNGEST_EVENT_KEY"] = "ek-python"
        env["INNGEST_SIGNING_KEY"] = "sk-python"
        env["INNGEST_EVENT_API_BASE_URL"] = h.base
        env["INNGEST_API_BASE_URL"] = h.base
        let child = try await ChildProcess.run(["python3", file.path], environment: env)
        #expect(child.status == 0, "python failed: \(child.stderr)")
        let result = try JSONValue.parse(child.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let id = try #require(result["ids"]?[0]?.stringValue)
        #expect(result["wrong_key_refused"]?.boolValue == true)
        #expect(try h.count("SELECT count(*) FROM blacklight.events") == 1)
        #expect(try await Poll.suspendingHolds {
            try h.count("SELECT count(*) FROM blacklight.runs WHERE event_id = $1 AND status = 'completed'", [.text(id)]) == 1
        })
    }

    @Test func sendSyncAndSendGetIdsAndStartRuns() async throws {
        let h = try await ServerHarness.start(scripts: ["greet.lua": Scripts.greet], engine: true)
        defer { Task { await h.stop() } }
        let file = h.root.appendingPathComponent("send.py")
        try Self.script.write(to: file, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["INNGEST_DEV"] = "1"
        env["INNGEST_BASE_URL"] = h.base
        env.removeValue(forKey: "INNGEST_EVENT_KEY")
        let child = try await ChildProcess.run(["python3", file.path], environment: env)
        #expect(child.status == 0, "python failed: \(child.stderr)")
        let outData = Data(child.stdout.utf8)
        let result = try JSONValue.parse(String(decoding: outData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        let sync = result["sync"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let async = result["async"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(sync.count == 1)
        #expect(async.count == 2)
        #expect(result["again"]?[0]?.stringValue == async[1], "an event id seen before returns the original event")
        let all = sync + async
        #expect(try h.count("SELECT count(*) FROM blacklight.events WHERE id = ANY($1::text[])", [.array(all.map { .text($0) })]) == 3)
        #expect(try await Poll.suspendingHolds {
            try h.count("SELECT count(*) FROM blacklight.runs WHERE event_id = ANY($1::text[]) AND status = 'completed'",
                        [.array(all.map { .text($0) })]) == 3
        })
        let output = try h.conn.query("SELECT output::text FROM blacklight.runs WHERE event_id = $1", [.text(sync[0])]).scalar.stringValue
        #expect(output == #"{"result": "pypy"}"#)
    }
}
