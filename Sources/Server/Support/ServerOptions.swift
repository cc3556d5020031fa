import Engine
import Foundation
import Logging

/// How the HTTP server is set up: where it listens, and which credentials it asks for.
public struct ServerOptions: Sendable {
    public var host = "127.0.0.1"
    /// 8288, like the Inngest dev server, so SDKs configured with `INNGEST_DEV=1` find it.
    public var port = 8288
    /// `blacklight dev`: any event key is accepted and the API and dashboard need no signing key.
    public var dev = false
    /// Accepted event keys (`INNGEST_EVENT_KEY`, comma-separated). Empty: any key.
    public var eventKeys: [String] = []
    /// Bearer token for the API and dashboard outside dev (`INNGEST_SIGNING_KEY`).
    public var signingKey: String?
    /// Database connections for HTTP work; each is one blocking libpq connection.
    public var poolSize = 8
    /// Event-API database calls in flight at once; requests arriving meanwhile are sent together in the
    /// next call (see IngestBatcher).
    public var ingestConcurrency = 3
    /// Events the event API holds in memory waiting for the database; past it requests get 503 with
    /// `Retry-After: 1` (see IngestBatcher). 50,000 is ten full requests, or several seconds of peak load.
    public var maxQueuedEvents = 50_000
    /// Seconds the HTTP handlers' connections wait to connect: while the database is away, requests should
    /// be answered 503 at once rather than after libpq's 10 s.
    public var connectTimeout = 2
    public var limits = EventLimits()
    public var logger = Logger(label: "blacklight.http")

    public init() {}

    /// Options from the environment: `INNGEST_EVENT_KEY` and `INNGEST_SIGNING_KEY`.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment, dev: Bool) -> ServerOptions {
        var o = ServerOptions()
        o.dev = dev
        o.eventKeys = (env["INNGEST_EVENT_KEY"] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        o.signingKey = env["INNGEST_SIGNING_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        return o
    }
}
