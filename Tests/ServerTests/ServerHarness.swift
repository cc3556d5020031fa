import BlacklightCore
import Engine
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import Logging
import PGStore
import Server
import ServiceLifecycle
import Synchronization
import TestSupport

/// A fresh migrated database, a temporary project with scripts, and the real HTTP server on a free
/// loopback port (optionally with the engine's workers), as `blacklight dev` runs them.
final class ServerHarness: @unchecked Sendable {
    let url: String
    let conn: PGConnection
    let root: URL
    let port: Int
    private let server: RunningServer

    var base: String { "http://127.0.0.1:\(port)" }

    static func start(scripts: [String: String] = [:], engine: Bool = false,
                      configure: (inout ServerOptions) -> Void = { _ in },
                      configureEngine: (inout EngineProcess.Options) -> Void = { _ in }) async throws -> ServerHarness {
        let url = try TestDatabase.fresh(prepare: { conn in _ = try EngineMigrations.migrator().migrate(conn) }, templateKey: "engine")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bl-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("scripts"), withIntermediateDirectories: true)
        for (name, source) in scripts {
            try source.write(to: root.appendingPathComponent("scripts/\(name)"), atomically: true, encoding: .utf8)
        }
        var services = HostServices()
        services.log.logLevel = .critical
        services.retryBaseDelay = 0.01
        let conn = try PGConnection(url: url)
        let loaded = ScriptDirectory(root: root).load(services: services)
        try Registry().activate(loaded.workflows, errors: loaded.errors, retireMissing: true, conn: conn)

        var options = ServerOptions()
        options.dev = true
        options.port = 0
        options.logger.logLevel = .critical
        configure(&options)
        var extra: [any Service] = []
        if engine {
            var eo = EngineProcess.Options()
            eo.workers = 1
            eo.services = services
            eo.worker.pollInterval = 0.05
            // Workers sign their calls to SDK apps with the server's key, as `serve` does (both read INNGEST_SIGNING_KEY).
            eo.worker.http.signingKey = options.signingKey
            configureEngine(&eo)
            extra.append(EngineService(process: EngineProcess(url: url, options: eo), log: services.log))
        }
        let (stream, cont) = AsyncStream<Int>.makeStream()
        let app = BlacklightServer.buildApplication(databaseURL: url, options: options, services: extra,
                                                    onServerRunning: { port in cont.yield(port) })
        let server = RunningServer(app, logger: options.logger)
        // A server that fails to start must not leave the test waiting for its port.
        Task { _ = try? await server.wait(); cont.finish() }
        var port = 0
        for await p in stream { port = p; break }
        if port == 0 { try await server.wait(); throw CancellationError() }
        return ServerHarness(url: url, conn: conn, root: root, port: port, server: server)
    }

    private init(url: String, conn: PGConnection, root: URL, port: Int, server: RunningServer) {
        self.url = url
        self.conn = conn
        self.root = root
        self.port = port
        self.server = server
    }

    func stop() async {
        await server.stop()
        conn.close()
        try? FileManager.default.removeItem(at: root)
    }

    struct Reply {
        let status: Int
        let body: Data
        let headers: [String: String]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: JSONValue { (try? JSONValue.parse(text)) ?? .null }
    }

    func request(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) async throws -> Reply {
        var req = URLRequest(url: URL(string: base + path)!)
        req.httpMethod = method
        if let body {
            req.httpBody = Data(body.utf8)
            req.setValue("application/json", forHTTPHeaderField: "content-type")
        }
        for (k, v) in headers { req.setValue(v, forHTTPHeaderField: k) }
        let session = URLSession(configuration: .ephemeral, delegate: NoRedirects(), delegateQueue: nil)
        let (data, response) = try await session.data(for: req)
        let http = response as! HTTPURLResponse
        var h: [String: String] = [:]
        for (k, v) in http.allHeaderFields { h[String(describing: k).lowercased()] = String(describing: v) }
        return Reply(status: http.statusCode, body: data, headers: h)
    }

    func get(_ path: String, headers: [String: String] = [:]) async throws -> Reply { try await request("GET", path, headers: headers) }
    func post(_ path: String, _ body: String? = nil, headers: [String: String] = [:]) async throws -> Reply {
        try await request("POST", path, body: body ?? "", headers: headers)
    }

    func count(_ sql: String, _ params: [PGValue] = []) throws -> Int64 {
        try conn.query(sql, params).scalar.intValue ?? -1
    }

}

final class NoRedirects: NSObject, URLSessionTaskDelegate, Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}

enum Scripts {
    static let greet = """
        return workflow {
          id = "greet",
          name = "Greet",
          triggers = { { event = "test/greet" } },
          retries = 0,
          run = function(ctx, step)
            local a = step.run("first", function() return { hello = ctx.event.data.name or "world" } end)
            local b = step.run("second", function() return { twice = a.hello .. a.hello } end)
            return { result = b.twice }
          end,
        }
        """
    static let nightly = """
        return workflow {
          id = "nightly",
          triggers = { { cron = "0 3 * * *" } },
          run = function(ctx, step) return step.run("tick", function() return 1 end) end,
        }
        """
    static let slow = """
        return workflow {
          id = "slow",
          triggers = { { event = "test/slow" } },
          run = function(ctx, step)
            step.sleep("nap", "1h")
            return 1
          end,
        }
        """
}
