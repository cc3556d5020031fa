import BlacklightCore
import Foundation
import Logging
import Server
import Synchronization
import Testing
import TestSupport

/// Issue 10, defect 4: `dev` asks for no keys, so a page the developer visits could post events or run schedules
/// on 127.0.0.1:8288 (CSRF), or point its own name at 127.0.0.1 (DNS rebinding). Now only loopback Hosts are
/// answered and state-changing requests from another site are refused.
@Suite("dev answers this machine only")
struct DevSiteGuardTests {
    @Test func aForeignHostIsRefusedAndLoopbackNamesAreAnswered() async throws {
        let h = try await ServerHarness.start()
        defer { Task { await h.stop() } }
        for host in ["evil.com", "evil.com:\(h.port)", "127.0.0.1.evil.com", "localhost.evil.com:\(h.port)", "10.0.0.1:\(h.port)", ""] {
            let r = try await BlockingHTTP.send("GET", port: h.port, "/api/runs", headers: ["host": host])
            #expect(r.status == 403, "Host '\(host)' got \(r.status)")
            #expect(r.json["error"]?.stringValue?.contains("127.0.0.1, localhost or [::1]") == true)
        }
        for host in ["127.0.0.1", "127.0.0.1:\(h.port)", "localhost:\(h.port)", "LOCALHOST", "[::1]:\(h.port)", "[::1]"] {
            #expect(try await BlockingHTTP.send("GET", port: h.port, "/api/runs", headers: ["host": host]).status == 200, "Host '\(host)'")
        }
        // The event API too: a rebinding page cannot post events.
        let post = try await BlockingHTTP.send("POST", port: h.port, "/e/k", body: #"{"name":"x/y"}"#, headers: ["host": "evil.com"])
        #expect(post.status == 403)
        #expect(try h.count("SELECT count(*) FROM blacklight.events") == 0)
    }

    @Test func aCrossSitePostIsRefusedAndSameSiteAndToolsPass() async throws {
        let h = try await ServerHarness.start(scripts: ["nightly.lua": Scripts.nightly])
        defer { Task { await h.stop() } }
        let event = #"{"name":"x/y","data":{}}"#
        for headers in [["origin": "https://evil.com"], ["origin": "null"], ["sec-fetch-site": "cross-site"],
                        ["origin": "http://127.0.0.1.evil.com:\(h.port)", "sec-fetch-site": "cross-site"]] {
            for path in ["/api/events", "/e/k"] {
                let r = try await BlockingHTTP.send("POST", port: h.port, path, body: event, headers: headers)
                #expect(r.status == 403, "\(path) with \(headers) got \(r.status)")
            }
            #expect(try await BlockingHTTP.send("POST", port: h.port, "/api/schedules/nightly/run", headers: headers).status == 403)
        }
        #expect(try h.count("SELECT count(*) FROM blacklight.events") == 0)
        #expect(try h.count("SELECT count(*) FROM blacklight.runs") == 0)

        // The dashboard's own pages, the developer's app on another loopback port, and SDKs or curl (no Origin).
        for headers in [["origin": "http://127.0.0.1:\(h.port)", "sec-fetch-site": "same-origin"],
                        ["origin": "http://localhost:3000", "sec-fetch-site": "same-site"], ["origin": "http://[::1]:5173"], [:]] {
            let r = try await BlockingHTTP.send("POST", port: h.port, "/api/events", body: event, headers: headers)
            #expect(r.status == 200, "\(headers) got \(r.status): \(r.body)")
        }
        // Reading is not state-changing: a cross-site GET (a link) is answered.
        #expect(try await BlockingHTTP.send("GET", port: h.port, "/runs", headers: ["sec-fetch-site": "cross-site"]).status == 200)
    }

    @Test func devBoundOffLoopbackWarnsLoudly() async throws {
        let lines = LogLines()
        let h = try await ServerHarness.start { o in
            o.host = "0.0.0.0"
            o.logger = Logger(label: "test") { _ in CapturingLogHandler(lines: lines) }
        }
        defer { Task { await h.stop() } }
        let warning = lines.all.first { $0.contains("DEV MODE ON A NON-LOOPBACK ADDRESS") }
        #expect(warning?.contains("0.0.0.0") == true && warning?.contains("blacklight serve") == true, "\(lines.all)")
        // Still answered through loopback (a port forward), still refused under another name.
        #expect(try await BlockingHTTP.send("GET", port: h.port, "/health").status == 200)
        #expect(try await BlockingHTTP.send("GET", port: h.port, "/health", headers: ["host": "203.0.113.7:\(h.port)"]).status == 403)
    }
}

final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

struct CapturingLogHandler: LogHandler {
    let lines: LogLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        lines.append("\(event.level): \(event.message)")
    }
}
