import Engine
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Builds the HTTP application: event API, REST API, dashboard, health and metrics. The CLI and the
/// tests call this; the CLI only adds the engine as a service and waits for a signal.
public enum BlacklightServer {
    /// - Parameters:
    ///   - databaseURL: the migrated database.
    ///   - services: run next to the server in its service group (e.g. `EngineService`). On shutdown the
    ///     server stops accepting first, then the database pool closes, then these stop, last first.
    ///   - onServerRunning: called with the bound port once the server listens (port 0 picks a free one).
    public static func buildApplication(
        databaseURL: String, options: ServerOptions, services: [any Service] = [],
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let pool = DatabasePool(url: databaseURL, size: options.poolSize, connectTimeout: options.connectTimeout)
        let router = Router()
        router.middlewares.add(ErrorMiddleware())
        router.middlewares.add(AuthMiddleware(options: options))
        let batcher = IngestBatcher(pool: pool, maxInFlight: options.ingestConcurrency, maxQueuedEvents: options.maxQueuedEvents)
        EventRoutes(pool: pool, options: options, batcher: batcher).register(on: router)
        APIRoutes(pool: pool, options: options, batcher: batcher).register(on: router)
        OpsRoutes(pool: pool).register(on: router)
        LoginRoutes(options: options).register(on: router)
        DashboardRoutes(pool: pool).register(on: router)
        let logger = options.logger
        return Application(
            router: router,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "blacklight"),
            services: services + [PoolCloser(pool: pool)],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? options.port) },
            logger: logger)
    }
}

/// Closes the database pool when the service group shuts down (after the server stopped accepting).
struct PoolCloser: Service {
    let pool: DatabasePool
    func run() async throws {
        try? await gracefulShutdown()
        pool.close()
    }
}

/// The engine's worker threads and scheduler as a service: started with the server, stopped (leased runs
/// finished, connections closed) on graceful shutdown.
public struct EngineService: Service {
    let process: EngineProcess
    let log: Logger

    public init(process: EngineProcess, log: Logger) {
        self.process = process
        self.log = log
    }

    public func run() async throws {
        process.start()
        try? await gracefulShutdown()
        log.info("stopping: finishing leased runs")
        let process = self.process
        // stop() blocks while workers finish their batch; keep that off the cooperative pool.
        await withCheckedContinuation { (cont: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                process.stop()
                cont.resume()
            }
        }
    }
}

/// The app-template entry point: the same as `BlacklightServer.buildApplication`.
public func buildApplication(
    databaseURL: String, options: ServerOptions, services: [any Service] = [],
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    BlacklightServer.buildApplication(databaseURL: databaseURL, options: options, services: services, onServerRunning: onServerRunning)
}
