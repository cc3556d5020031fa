import Foundation
import Logging
import PGStore

/// The long-lived parts of one Blacklight process: worker threads, the LISTEN loop that wakes them,
/// the lease heartbeat and (for `serve` and `dev`) the cron scheduler and the pruner. Each is a thread because libpq
/// and Lua states are blocking and single-threaded; nothing is shared between processes in memory.
public final class EngineProcess: @unchecked Sendable {
    public struct Options: Sendable {
        public var workers = 2
        public var scheduler = true
        /// Seconds of history kept by the pruner thread (see RetentionLoop); nil runs no pruner.
        public var retention: Double?
        public var worker = WorkerSettings()
        public var services = HostServices()
        public init() {}
    }

    public let url: String
    public let options: Options
    public let stopFlag = StopFlag()
    public let wake = WakeSignal()
    /// Ends the pruner's wait between passes; apart from `wake`, which every NOTIFY broadcasts.
    private let retentionWake = WakeSignal()
    private var threads: [Thread] = []
    private let done = DispatchGroup()
    let leases: LeaseKeeper

    public init(url: String, options: Options) {
        self.url = url
        self.options = options
        let host = ProcessInfo.processInfo.hostName
        self.leases = LeaseKeeper(ownerID: "\(host):\(getpid()):\(UUID().uuidString.prefix(8))", leaseSeconds: options.worker.leaseSeconds)
    }

    public func start() {
        let log = options.services.log
        for i in 0..<options.workers {
            let url = self.url, settings = options.worker, services = options.services, leases = self.leases
            let wake = self.wake, stop = stopFlag
            spawn("blacklight-worker-\(i)") {
                Worker(url: url, settings: settings, services: services, leases: leases, wake: wake, stop: stop).run()
            }
        }
        let leases = self.leases, stop = stopFlag, url = self.url, wake = self.wake
        spawn("blacklight-leases") { leases.run(url: url, stop: stop, log: log) }
        let cancels = options.services.cancels
        spawn("blacklight-listen") { Self.listen(url: url, wake: wake, cancels: cancels, stop: stop, log: log) }
        if options.scheduler {
            spawn("blacklight-cron") { CronScheduler(url: url, log: log).run(stop: stop) }
        }
        if let retention = options.retention {
            let retentionWake = self.retentionWake
            spawn("blacklight-retention") { RetentionLoop(url: url, retention: retention, log: log).run(stop: stop, wake: retentionWake) }
        }
    }

    private func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) {
        done.enter()
        let group = done
        let thread = Thread {
            body()
            group.leave()
        }
        thread.name = name
        thread.stackSize = 16 << 20
        threads.append(thread)
        thread.start()
    }

    /// Asks every thread to stop and waits for them (workers finish their batch first).
    public func stop(timeout: Double = 30) {
        stopFlag.stop()
        wake.broadcast()
        retentionWake.broadcast()
        _ = done.wait(timeout: .now() + timeout)
    }

    /// NOTIFY is a hint that work is due; polling remains the truth.
    static func listen(url: String, wake: WakeSignal, cancels: CancelSignal, stop: StopFlag, log: Logger) {
        var conn: PGConnection?
        while !stop.isStopped {
            do {
                if conn == nil {
                    let c = try PGConnection(url: url)
                    try c.listen("blacklight_runs")
                    try c.listen("blacklight_functions")
                    try c.listen("blacklight_cancel")
                    conn = c
                    // Requests made while this loop was not listening would be missed: count one.
                    cancels.bump()
                }
                let notes = try conn?.waitForNotifications(timeout: 0.5) ?? []
                if notes.contains(where: { $0.channel == "blacklight_cancel" }) { cancels.bump() }
                if !notes.isEmpty { wake.broadcast() }
            } catch {
                log.warning("listen: \(error)")
                conn?.close()
                conn = nil
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
        conn?.close()
    }
}
