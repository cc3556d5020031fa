import BlacklightCore
import Engine
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PGStore
import Testing
import TestSupport

/// The real `blacklight serve` process: listens on --port, needs the keys, and stops cleanly on SIGTERM.
@Suite("blacklight serve over HTTP")
struct ServeProcessTests {
    static var executable: URL {
        var dir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("blacklight")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("blacklight")
    }

    /// A port that was free a moment ago (bind to 0, read it, close).
    func call(_ method: String, _ url: String, body: String? = nil, headers: [String: String] = [:]) async throws -> (Int, JSONValue) {
        var req = URLRequest(url: URL(string: url)!)
        req.httpMethod = method
        req.httpBody = body.map { Data($0.utf8) }
        for (k, v) in headers { req.setValue(v, forHTTPHeaderField: k) }
        let (data, response) = try await URLSession.shared.data(for: req)
        return ((response as! HTTPURLResponse).statusCode, (try? JSONValue.parse(String(decoding: data, as: UTF8.self))) ?? .null)
    }

    /// Issue 10, defect 3: without INNGEST_EVENT_KEY, serve accepted any key on 0.0.0.0 with only a warning.
    @Test func serveWithoutKeysExitsSayingWhatToSet() async throws {
        var env = ProcessInfo.processInfo.environment
        for k in ["INNGEST_EVENT_KEY", "INNGEST_SIGNING_KEY", "INNGEST_DEV"] { env.removeValue(forKey: k) }
        // No database is needed to refuse: the keys are checked before anything else.
        let args = [Self.executable.path, "serve", "--database-url", "postgresql://nobody@127.0.0.1:1/none", "--port", "0"]
        let none = try await ChildProcess.run(args, environment: env)
        #expect(none.status != 0)
        let text = none.stderr + none.stdout
        #expect(text.contains("blacklight serve does not start without its keys"), "\(text)")
        #expect(text.contains("INNGEST_EVENT_KEY (") && text.contains("INNGEST_SIGNING_KEY (") && text.contains("INNGEST_DEV=1"), "\(text)")

        env["INNGEST_EVENT_KEY"] = "ek"
        let one = try await ChildProcess.run(args, environment: env)
        #expect(one.status != 0)
        #expect(!(one.stderr + one.stdout).contains("INNGEST_EVENT_KEY (") && (one.stderr + one.stdout).contains("INNGEST_SIGNING_KEY ("))

        // An empty key is no key.
        env["INNGEST_SIGNING_KEY"] = ""
        #expect(try await ChildProcess.run(args, environment: env).status != 0)
    }

    @Test func serveAnswersWithKeysAndStopsOnSIGTERM() async throws {
        let url = try TestDatabase.fresh(prepare: { conn in _ = try EngineMigrations.migrator().migrate(conn) }, templateKey: "engine")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bl-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("scripts"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try Scripts.greet.write(to: root.appendingPathComponent("scripts/greet.lua"), atomically: true, encoding: .utf8)
        let port = try PortPicker.forChildProcess()
        let arguments = ["serve", "--dir", root.path, "--database-url", url, "--port", "\(port)", "--host", "127.0.0.1", "--workers", "1"]
        var env = ProcessInfo.processInfo.environment
        env["INNGEST_EVENT_KEY"] = "ek-1,ek-2"
        env["INNGEST_SIGNING_KEY"] = "sk-1"
        let process = try SpawnedProcess(executable: Self.executable.path, arguments: arguments, environment: env, outputPath: nil)
        let base = "http://127.0.0.1:\(port)"
        try await Poll.suspendingUntil("serve to answer /health") { (try? await call("GET", base + "/health"))?.0 == 200 }
        #expect(try await call("POST", base + "/e/wrong", body: #"{"name":"test/greet"}"#).0 == 401)
        let (status, sent) = try await call("POST", base + "/e/ek-2", body: #"{"name":"test/greet","data":{"name":"s"}}"#)
        #expect(status == 200)
        let eventID = try #require(sent["ids"]?[0]?.stringValue)
        #expect(try await call("GET", base + "/api/events/\(eventID)").0 == 401)
        #expect(try await Poll.suspendingHolds {
            let (_, event) = try await call("GET", base + "/api/events/\(eventID)", headers: ["authorization": "Bearer sk-1"])
            return event["runs"]?[0]?["status"]?.stringValue == "completed"
        })
        process.signal(SIGTERM)
        #expect(await Poll.suspendingHolds { !process.isRunning })
        #expect(process.terminationStatus == 0)
    }
}
