import CLibPQ
import Foundation

extension PGConnection {
    /// LISTENs on `channel` (quoted as an identifier, so any string is safe and matched exactly).
    public func listen(_ channel: String) throws(PGError) {
        try execScript("LISTEN " + quoteIdentifier(channel))
    }

    public func unlisten(_ channel: String) throws(PGError) {
        try execScript("UNLISTEN " + quoteIdentifier(channel))
    }

    /// Returns the notifications already received, or waits up to `timeout` seconds for the next ones (polling
    /// the socket, so the thread sleeps in the kernel; about 1 ms from NOTIFY to wake here). Returns [] on
    /// timeout. Notifications that arrived during other queries on this connection are returned first.
    public func waitForNotifications(timeout: Double) throws(PGError) -> [PGNotification] {
        let c = try handle()
        guard PQconsumeInput(c) == 1 else { throw connectionError(sql: nil) }
        var received = drainNotifications(c)
        if !received.isEmpty { return received }

        let deadline = DispatchTime.now().uptimeNanoseconds &+ UInt64(max(0, timeout) * 1e9)
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { return [] }
            // Round up so a sub-millisecond remainder still waits instead of spinning.
            let millis = Int32(min((deadline - now + 999_999) / 1_000_000, UInt64(Int32.max)))
            var pfd = pollfd(fd: PQsocket(c), events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, millis)
            if ready < 0 {
                if errno == EINTR { continue }
                throw PGError(code: .connectionClosed, message: "poll failed: \(String(cString: strerror(errno)))")
            }
            if ready == 0 { continue }
            guard PQconsumeInput(c) == 1 else { throw connectionError(sql: nil) }
            received = drainNotifications(c)
            if !received.isEmpty { return received }
        }
    }

    private func drainNotifications(_ c: OpaquePointer) -> [PGNotification] {
        var out: [PGNotification] = []
        while let n = PQnotifies(c) {
            out.append(
                PGNotification(
                    channel: String(cString: n.pointee.relname), payload: String(cString: n.pointee.extra),
                    pid: n.pointee.be_pid))
            PQfreemem(n)
        }
        return out
    }
}
