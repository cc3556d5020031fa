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
        ProcessMetrics.start()
        if options.dev && !LoopbackHost.isLoopback(host: options.host) {
            options.logger.warning("""
                DEV MODE ON A NON-LOOPBACK ADDRESS (\(options.host)): no keys are checked. Only requests addressed to \
                127.0.0.1, localhost or [::1] are answered (a port forward works; other hosts get 403). To serve other \
                hosts, run `blacklight serve` with INNGEST_EVENT_KEY and INNGEST_SIGNING_KEY.
                """)
        }
        let pool = DatabasePool(url: databaseURL, size: options.poolSize, connectTimeout: options.connectTimeout)
        let metrics = Metrics(url: databaseURL, connectTimeout: options.connectTimeout)
        let router = Router(context: ServerRequestContext.self)
        router.middlewares.add(SecurityHeaders())
        router.middlewares.add(ErrorMiddleware())
        if options.dev { router.middlewares.add(DevSiteGuard()) }
        router.middlewares.add(AuthMiddleware(options: options, pool: pool))
        let batcher = IngestBatcher(pool: pool, maxInFlight: options.ingestConcurrency, maxQueuedEvents: options.maxQueuedEvents)
        EventRoutes(pool: pool, options: options, batcher: batcher).register(on: router)
        APIRoutes(pool: pool, options: options, batcher: batcher).register(on: router)
        OpsRoutes(pool: pool, metrics: metrics).register(on: router)
        LoginRoutes(options: options, pool: pool).register(on: router)
        DashboardRoutes(pool: pool).register(on: router)
        AppSyncRoutes(pool: pool, options: options).register(on: router)
        let logger = options.logger
        return Application(
            router: router,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "blacklight"),
            services: services + [PoolCloser(close: { pool.close(); metrics.close() })],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? options.port) },
            logger: logger)
    }
}

/// Closes the database pool when the service group shuts down (after the server stopped accepting).
struct PoolCloser: Service {
    let close: @Sendable () -> Void
    func run() async throws {
        try? await gracefulShutdown()
        close()
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
