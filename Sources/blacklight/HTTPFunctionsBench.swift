import ArgumentParser
import Engine
import Foundation
import PGStore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `blacklight bench http-functions`: an Inngest SDK app's function (bench/inngest_app.py, Flask on loopback) beside
/// the same workflow in Lua: runs/s and Blacklight's time per step round trip without the app's own time.
struct HTTPFunctionsBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "http-functions",
                                                    abstract: "Runs/s and per-step overhead of Inngest SDK (http) functions beside Lua.")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Runs per throughput phase.") var runs = 300
    @Option(help: "Steps per run.") var steps = 5
    @Option(help: "Worker threads in the throughput phase.") var workers = 2

    func run() throws {
        let script = project.root.appendingPathComponent("bench/inngest_app.py")
        guard FileManager.default.fileExists(atPath: script.path) else {
            throw ValidationError("\(script.path) is missing: run from the repository (or pass --dir)")
        }
        var settings = HTTPFunctionsBenchmark.Settings()
        settings.runs = runs
        settings.steps = steps
        settings.workers = workers
        settings.appPort = try PortPicker.forChildProcess()
        let app = Process()
        app.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        app.arguments = ["python3", script.path, "\(settings.appPort)"]
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "INNGEST_DEV")
        env["INNGEST_SIGNING_KEY"] = settings.signingKey
        app.environment = env
        try app.run()
        defer { app.terminate(); app.waitUntilExit() }
        let deadline = Date().addingTimeInterval(30)
        while !Self.answers(port: settings.appPort) {
            guard app.isRunning, Date() < deadline else { throw ValidationError("the bench app did not start (needs python3 with flask and inngest)") }
            Thread.sleep(forTimeInterval: 0.1)
        }
        try project.withScratchDatabase { url in
            let services = project.quietServices
            print("steps per run: \(steps); workers in the throughput phase: \(workers)")
            try HTTPFunctionsBenchmark.run(url: url, settings: settings, services: services) { print($0) }
        }
    }

    static func answers(port: Int) -> Bool {
        guard let url = URL(string: "http://127.0.0.1:\(port)/api/inngest") else { return false }
        let done = DispatchSemaphore(value: 0)
        let ok = Flag()
        URLSession.shared.dataTask(with: url) { _, response, _ in
            // The SDK refuses an unsigned GET in cloud mode (401): an answer all the same.
            if (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "x-inngest-sdk-handled") == "true" { ok.set() }
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 2)
        return ok.value
    }
}

private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var on = false
    func set() { lock.lock(); on = true; lock.unlock() }
    var value: Bool { lock.lock(); defer { lock.unlock() }; return on }
}
