import Foundation
import PGStore
import TestSupport
import Testing

@Suite("LISTEN / NOTIFY")
struct NotificationTests {
    let url: String
    let listener: PGConnection

    init() throws {
        url = try TestDatabase.fresh()
        listener = try PGConnection(url: url)
    }

    @Test func notifyFromAnotherConnectionWakesTheWaiter() throws {
        try listener.listen("Runs Ready")  // mixed case and a space: quoted, matched exactly
        let url = self.url
        let sent = DispatchSemaphore(value: 0)
        let senderPID = ResultBox<Int32>(count: 1)
        Thread.detachNewThread {
            defer { sent.signal() }
            guard let sender = try? PGConnection(url: url) else { return }
            senderPID.set(0, .success(sender.serverPID))
            _ = try? sender.exec("SELECT pg_notify($1, $2)", ["Runs Ready", "run-42"])
        }
        // A waiter that missed the notification would return empty after the timeout (a bound against hangs).
        let received = try listener.waitForNotifications(timeout: 60)
        sent.wait()
        #expect(received.count == 1)
        #expect(received.first?.channel == "Runs Ready")
        #expect(received.first?.payload == "run-42")
        #expect(received.first?.pid == (try? senderPID.all[0].get()))
    }

    @Test func timesOutWithNothing() throws {
        try listener.listen("quiet")
        var received: [PGNotification] = [PGNotification(channel: "x", payload: "", pid: 0)]
        let seconds = try elapsed { received = try listener.waitForNotifications(timeout: 0.3) }
        #expect(received.isEmpty)
        #expect(seconds >= 0.29, "returned after \(seconds) s, before its timeout")
        #expect(try listener.waitForNotifications(timeout: 0).isEmpty)
    }

    @Test func notificationsArrivingDuringOtherWorkAreKept() throws {
        try listener.listen("jobs")
        let sender = try PGConnection(url: url)
        // One transaction: both are delivered together, when it commits.
        try sender.exec("SELECT pg_notify('jobs', 'a'), pg_notify('jobs', 'b')")
        _ = try listener.query("SELECT 1")  // libpq queues the notifications it reads along the way
        let received = try listener.waitForNotifications(timeout: 60)
        #expect(received.map(\.payload) == ["a", "b"])
    }

    @Test func unlistenStopsDelivery() throws {
        try listener.listen("gone")
        try listener.unlisten("gone")
        let sender = try PGConnection(url: url)
        try sender.exec("SELECT pg_notify('gone', 'x')")
        #expect(try listener.waitForNotifications(timeout: 0.2).isEmpty)
    }

    @Test func notificationsInATransactionArriveAtCommit() throws {
        try listener.listen("tx")
        let sender = try PGConnection(url: url)
        try sender.transaction {
            try sender.exec("SELECT pg_notify('tx', 'inside')")
            #expect(try listener.waitForNotifications(timeout: 0.1).isEmpty)
        }
        #expect(try listener.waitForNotifications(timeout: 2).map(\.payload) == ["inside"])
    }
}
