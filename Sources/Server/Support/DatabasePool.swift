import Dispatch
import Foundation
import PGStore
import Synchronization

/// A few libpq connections for HTTP handlers.
///
/// libpq blocks its thread for each round trip, so handlers must not call it on NIO's event loops:
/// `run` waits (asynchronously) for a free connection, then runs the blocking body on a dispatch
/// queue and resumes the handler with its result. The pool size bounds both the connections and
/// the threads blocked in libpq. A connection that failed is dropped and reopened on next use.
///
/// When the database goes away (a restart, a failover) callers should learn it at once, not after
/// libpq's 10 s connect timeout: new connections give up after `connectTimeout` seconds, and a lost
/// connection closes the idle ones too. They share the lost one's fate (same server), and would
/// otherwise each fail one more request after the database is back.
public final class DatabasePool: Sendable {
    public let url: String
    private let size: Int
    private let connectTimeout: Int
    private let queue = DispatchQueue(label: "blacklight.db", qos: .userInitiated, attributes: .concurrent)
    private let state = Mutex(State())

    private struct State {
        var idle: [Box] = []
        var open = 0
        var waiters: [CheckedContinuation<Box?, Never>] = []
        var closed = false
    }

    /// Owns one connection; handed to one body at a time (never used by two threads at once).
    final class Box: @unchecked Sendable {
        var conn: PGConnection?
    }

    public init(url: String, size: Int, connectTimeout: Int = 2) {
        self.url = url
        self.size = max(1, size)
        self.connectTimeout = connectTimeout
    }

    /// Runs `body` with a connection on a thread where blocking is fine.
    public func run<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        guard let box = await acquire() else { throw PGError(code: .connectionClosed, message: "the server is shutting down") }
        return try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
            queue.async {
                do {
                    if box.conn == nil || box.conn?.isOpen == false {
                        box.conn = try PGConnection(url: self.url, connectTimeout: self.connectTimeout)
                    }
                    let result = try body(box.conn!)
                    self.release(box, broken: false)
                    cont.resume(returning: result)
                } catch {
                    // A server error leaves the connection usable; a lost connection does not.
                    let broken = (error as? PGError)?.isUnavailable == true || box.conn?.isOpen != true
                    self.release(box, broken: broken)
                    cont.resume(throwing: error)
                }
            }
        }
    }

    /// Closes idle connections and refuses new work; busy ones close when returned.
    public func close() {
        let (idle, waiters) = state.withLock { s -> ([Box], [CheckedContinuation<Box?, Never>]) in
            s.closed = true
            defer { s.idle = []; s.waiters = [] }
            return (s.idle, s.waiters)
        }
        for w in waiters { w.resume(returning: nil) }
        for b in idle { b.conn?.close() }
    }

    private func acquire() async -> Box? {
        enum Next { case box(Box), wait, closed }
        let next = state.withLock { s -> Next in
            if s.closed { return .closed }
            if let b = s.idle.popLast() { return .box(b) }
            if s.open < size { s.open += 1; return .box(Box()) }
            return .wait
        }
        switch next {
        case .box(let b): return b
        case .closed: return nil
        case .wait:
            return await withCheckedContinuation { (cont: CheckedContinuation<Box?, Never>) in
                let handed = state.withLock { s -> Box?? in
                    if s.closed { return .some(nil) }
                    if let b = s.idle.popLast() { return .some(b) }
                    s.waiters.append(cont)
                    return .none
                }
                if let handed { cont.resume(returning: handed) }
            }
        }
    }

    private func release(_ box: Box, broken: Bool) {
        if broken {
            box.conn?.close()
            box.conn = nil
        }
        let (waiter, closeIt) = state.withLock { s -> (CheckedContinuation<Box?, Never>?, Bool) in
            if broken {
                // Idle boxes are in no body's hands, so only the lock holder touches them. Closing a connection
                // does not wait for the server (libpq sends its goodbye without reading an answer).
                for b in s.idle {
                    b.conn?.close()
                    b.conn = nil
                }
            }
            if s.closed { s.open -= 1; return (nil, true) }
            if !s.waiters.isEmpty { return (s.waiters.removeFirst(), false) }
            s.idle.append(box)
            return (nil, false)
        }
        if closeIt { box.conn?.close(); return }
        waiter?.resume(returning: box)
    }
}
