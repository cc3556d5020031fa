import BlacklightCore
import Foundation
import PGStore
import TestSupport

/// The Flask app of InngestApp/app.py (Flask and the `inngest` SDK from PyPI) as a child process on a free loopback
/// port, pointed at a Blacklight server. Each step body of the app appends to a counter file, so a test can tell how
/// many times a step really ran; a `<name>.hold` file makes that step wait until it is removed.
final class FlaskApp: @unchecked Sendable {
    let process: SpawnedProcess
    let port: Int
    let counters: URL
    let logFile: URL

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("InngestApp/app.py")

    /// `signingKey` nil: the SDK's dev mode (INNGEST_DEV=1), as against `blacklight dev`.
    init(base: String, signingKey: String?, eventKey: String?, root: URL, counters: URL? = nil,
         port: Int? = nil) throws {
        self.port = try port ?? PortPicker.forChildProcess()
        self.counters = counters ?? root.appendingPathComponent("counters-\(self.port)")
        try FileManager.default.createDirectory(at: self.counters, withIntermediateDirectories: true)
        logFile = root.appendingPathComponent("flask-\(self.port).log")
        var env = ProcessInfo.processInfo.environment
        for k in ["INNGEST_DEV", "INNGEST_SIGNING_KEY", "INNGEST_EVENT_KEY", "INNGEST_API_BASE_URL", "INNGEST_EVENT_API_BASE_URL"] {
            env.removeValue(forKey: k)
        }
        env["INNGEST_BASE_URL"] = base
        env["COUNTER_DIR"] = self.counters.path
        env["PYTHONUNBUFFERED"] = "1"
        if let signingKey { env["INNGEST_SIGNING_KEY"] = signingKey } else { env["INNGEST_DEV"] = "1" }
        if let eventKey { env["INNGEST_EVENT_KEY"] = eventKey }
        process = try SpawnedProcess(executable: "/usr/bin/env", arguments: ["python3", Self.script.path, "\(self.port)"],
                                     environment: env, outputPath: logFile.path)
    }

    var url: String { "http://127.0.0.1:\(port)/api/inngest" }
    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// Until the app answers on its serve route (in cloud mode an unsigned GET is refused with 401: an answer all the same).
    func waitUntilListening() throws {
        try Poll.until("the Flask app to listen on \(port)", timeout: 60) {
            guard process.isRunning else { throw BlockingHTTP.Failure(description: "the Flask app exited:\n\(log)") }
            return (try? BlockingHTTP.request("GET", port: port, "/api/inngest", timeout: 2).headers["x-inngest-sdk-handled"]) == "true"
        }
    }

    /// How many times the step that counts as `name` ran.
    func count(_ name: String) -> Int {
        guard let text = try? String(contentsOf: counters.appendingPathComponent(name), encoding: .utf8) else { return 0 }
        return text.split(separator: "\n").count
    }

    func hold(_ name: String) { _ = FileManager.default.createFile(atPath: counters.appendingPathComponent(name + ".hold").path, contents: nil) }
    func release(_ name: String) { try? FileManager.default.removeItem(at: counters.appendingPathComponent(name + ".hold")) }

    func stop() { process.kill9() }
}
