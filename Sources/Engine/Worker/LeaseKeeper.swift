import Foundation
import Logging
import PGStore

/// The runs this process holds, and the heartbeat that keeps their leases while long steps run
/// outside a batch transaction.
public final class LeaseKeeper: @unchecked Sendable {
    private let lock = NSLock()
    private var held: Set<String> = []
    let ownerID: String
    let leaseSeconds: Double

    init(ownerID: String, leaseSeconds: Double) {
        self.ownerID = ownerID
        self.leaseSeconds = leaseSeconds
    }

    func hold(_ ids: [String]) {
        lock.lock()
        held.formUnion(ids)
        lock.unlock()
    }

    func release(_ ids: [String]) {
        lock.lock()
        held.subtract(ids)
        lock.unlock()
    }

    var snapshot: [String] {
        lock.lock()
        defer { lock.unlock() }
        return Array(held)
    }

    /// Runs on its own thread until `stop` is set.
    func run(url: String, stop: StopFlag, log: Logger) {
        var conn: PGConnection?
        while !stop.isStopped {
            Thread.sleep(forTimeInterval: min(1, leaseSeconds / 3))
            let ids = snapshot
            if ids.isEmpty { continue }
            do {
                if conn == nil { conn = try PGConnection(url: url) }
                try conn?.exec(ClaimQueries.heartbeat, [.array(ids.map { .text($0) }), .text(ownerID), .double(leaseSeconds)])
            } catch {
                log.warning("lease heartbeat failed: \(error)")
                conn?.close()
                conn = nil
            }
        }
        conn?.close()
    }
}
