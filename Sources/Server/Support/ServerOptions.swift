import Engine
import Foundation
import Logging

/// How the HTTP server is set up: where it listens, and which credentials it asks for.
public struct ServerOptions: Sendable {
    public var host = "127.0.0.1"
    /// 8288, like the Inngest dev server, so SDKs configured with `INNGEST_DEV=1` find it.
    public var port = 8288
    /// `blacklight dev` (or `serve` with `INNGEST_DEV=1`): any event key is accepted and the API and dashboard need
    /// no signing key; in exchange only requests addressed to a loopback Host are answered, and state-changing
    /// requests from another site are refused (see DevSiteGuard).
    public var dev = false
    /// Accepted event keys (`INNGEST_EVENT_KEY`, comma-separated). Empty: any key.
    public var eventKeys: [String] = []
    /// Bearer token for the API, the dashboard login and `/metrics` outside dev (`INNGEST_SIGNING_KEY`).
    public var signingKey: String?
    /// Seconds a dashboard session lasts after sign-in; the server refuses it afterwards, whatever the cookie says.
    public var sessionLifetime: Double = 12 * 3600
    /// Sign-in attempts (`POST /login`) allowed per client address in `loginAttemptWindow` seconds; past it 429 with
    /// Retry-After.
    public var loginAttempts = 10
    public var loginAttemptWindow: Double = 60
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

    /// `INNGEST_DEV=1` (or `true`), as the Inngest SDKs read it: the developer asks for the dev server.
    public static func devRequested(_ env: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        ["1", "true"].contains(env["INNGEST_DEV"]?.trimmingCharacters(in: .whitespaces).lowercased() ?? "")
    }

    /// Options of `blacklight serve`, which fails closed: without both keys it does not start (an open event
    /// API on 0.0.0.0 is not a default anyone wants), unless `INNGEST_DEV=1` asks for the dev server's rules.
    public static func forServe(_ env: [String: String] = ProcessInfo.processInfo.environment) throws(MissingKeys) -> ServerOptions {
        let o = fromEnvironment(env, dev: devRequested(env))
        if o.dev { return o }
        var missing: [String] = []
        if o.eventKeys.isEmpty { missing.append("INNGEST_EVENT_KEY (the key senders put in POST /e/{key}; several may be comma-separated)") }
        if o.signingKey == nil { missing.append("INNGEST_SIGNING_KEY (the Bearer token of the REST API, the dashboard sign-in and /metrics)") }
        if !missing.isEmpty { throw MissingKeys(missing: missing) }
        return o
    }

    /// `serve` was started without the keys it needs; the text says what to set.
    public struct MissingKeys: Error, CustomStringConvertible {
        public let missing: [String]
        public var description: String {
            "blacklight serve does not start without its keys. Set " + missing.joined(separator: " and ")
                + ". For a local server without keys, set INNGEST_DEV=1 or run `blacklight dev` (loopback requests only)."
        }
    }
}
