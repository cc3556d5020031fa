import Foundation
import Logging
import PGStore

/// The runs this process holds, and the heartbeat that keeps their leases while long steps run
/// outside a batch transaction.
public final class LeaseKeeper: @unchecked Sendable {
    private let lock = NSLock()
    /// Run id → the fencing token of the claim that holds it.
    private var held: [String: String] = [:]
    private var claims = 0
    let ownerID: String
    let leaseSeconds: Double

    init(ownerID: String, leaseSeconds: Double) {
        self.ownerID = ownerID
        self.leaseSeconds = leaseSeconds
    }

    /// A fencing token for the next claim: this process's id and a counter, unique across workers and claims.
    func newToken() -> String {
        lock.lock()
        defer { lock.unlock() }
        claims += 1
        return "\(ownerID)#\(claims)"
    }

    func hold(_ ids: [String], token: String) {
        lock.lock()
        for id in ids { held[id] = token }
        lock.unlock()
    }

    func release(_ ids: [String]) {
        lock.lock()
        for id in ids { held[id] = nil }
        lock.unlock()
    }

    var snapshot: [(id: String, token: String)] {
        lock.lock()
        defer { lock.unlock() }
        return held.map { (id: $0.key, token: $0.value) }
    }

    /// Runs on its own thread until `stop` is set.
    func run(url: String, stop: StopFlag, log: Logger) {
        var conn: PGConnection?
        while !stop.isStopped {
            Thread.sleep(forTimeInterval: min(1, leaseSeconds / 3))
            let held = snapshot
            if held.isEmpty { continue }
            do {
                if conn == nil { conn = try PGConnection(url: url) }
                try conn?.exec(ClaimQueries.heartbeat, [.array(held.map { .text($0.id) }), .array(held.map { .text($0.token) }),
                                                        .double(leaseSeconds)])
            } catch {
                log.warning("lease heartbeat failed: \(error)")
                conn?.close()
                conn = nil
            }
        }
        conn?.close()
    }
}
