import Foundation
import PGStore
import TestSupport

/// A real `blacklight serve` (or `worker`) process on a loopback port; its log goes to a file next to the project
/// so a failing test can show it. Killed on deinit if the test forgot.
final class ServeProcess {
    let process: SpawnedProcess
    let port: Int
    let logFile: URL

    /// `command: "worker"` runs workers only (no HTTP server; `port` is then unused).
    init(databaseURL: String, root: URL, port: Int? = nil, command: String = "serve", extra: [String] = [],
         environment: [String: String] = [:]) throws {
        self.port = try port ?? PortPicker.forChildProcess()
        logFile = root.appendingPathComponent("serve-\(self.port)-\(UUID().uuidString.prefix(4)).log")
        let arguments = (command == "serve"
            ? ["serve", "--dir", root.path, "--database-url", databaseURL, "--port", "\(self.port)", "--host", "127.0.0.1", "--workers", "1"]
            : [command, "--dir", root.path, "--database-url", databaseURL, "--workers", "1"]) + extra
        var env = ProcessInfo.processInfo.environment
        env["BLACKLIGHT_RETRY_BASE_DELAY"] = "0.05"
        // These tests are about faults, not keys: the dev server's rules unless a test passes keys of its own.
        if environment["INNGEST_EVENT_KEY"] == nil { env["INNGEST_DEV"] = "1" }
        for (k, v) in environment { env[k] = v }
        process = try SpawnedProcess(executable: ServeProcessTests.executable.path, arguments: arguments, environment: env,
                                     outputPath: logFile.path)
    }

    /// Waits until `/health` answers (the process listens; the database may still be away).
    func waitUntilListening(timeout: Double = 60) throws {
        try Poll.until("blacklight serve to listen on port \(port)", timeout: timeout) {
            guard process.isRunning else { throw BlockingHTTP.Failure(description: "serve exited:\n\(log)") }
            return (try? BlockingHTTP.request("GET", port: port, "/health", timeout: 2).status) == 200
        }
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    func kill9() { process.kill9() }

    func terminate() { process.terminate() }
}

/// Clients posting single events in a loop from their own threads, each event numbered (`data.k`), recording every
/// answer: the status (-1 when the connection failed or timed out), how long it took and the ids acknowledged.
final class EventSenders: @unchecked Sendable {
    struct Answer {
        let k: Int
        let status: Int
        let seconds: Double
        let eventID: String?
        let retryAfter: String?
        let error: String?
    }

    private let lock = NSLock()
    private var answers: [Answer] = []
    private var next = 0
    private var stopped = false
    private let done = DispatchGroup()

    init(port: Int, name: String, clients: Int) {
        for _ in 0..<clients {
            done.enter()
            Thread.detachNewThread { [self] in
                defer { done.leave() }
                while let k = take() {
                    let started = Date()
                    let body = #"{"name":"\#(name)","data":{"k":\#(k)}}"#
                    let reply = try? BlockingHTTP.request("POST", port: port, "/e/test-key", body: body, timeout: 10)
                    let answer = Answer(k: k, status: reply?.status ?? -1, seconds: Date().timeIntervalSince(started),
                                        eventID: reply?.json["ids"]?[0]?.stringValue, retryAfter: reply?.headers["retry-after"],
                                        error: reply?.json["error"]?.stringValue)
                    record(answer)
                    // A refused or failed request is not retried at once: a real client backs off too.
                    if answer.status != 200 { Thread.sleep(forTimeInterval: 0.02) }
                }
            }
        }
    }

    private func take() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        if stopped { return nil }
        next += 1
        return next
    }

    private func record(_ answer: Answer) {
        lock.lock()
        answers.append(answer)
        lock.unlock()
    }

    var all: [Answer] {
        lock.lock()
        defer { lock.unlock() }
        return answers
    }

    func count(status: Int) -> Int { all.filter { $0.status == status }.count }

    /// Stops the clients and waits for their last requests.
    func stop() -> [Answer] {
        lock.lock()
        stopped = true
        lock.unlock()
        done.wait()
        return all
    }
}
