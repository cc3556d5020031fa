import BlacklightCore
import Foundation

/// The chaos bench's clients: keep-alive connections posting single events at a steady total rate, alternating
/// the two workflows' events, each numbered in `data.k`. Every answer is recorded; a refused request is not
/// retried (an SDK would retry later with the same ids, which the API deduplicates).
final class ChaosLoad: @unchecked Sendable {
    struct Ack {
        let eventID: String
        let sentAt: Date
    }

    private let lock = NSLock()
    private(set) var acks: [Ack] = []
    private(set) var statuses: [Int: Int] = [:]
    private var latencies: [Double] = []
    private var stopped = false
    private let done = DispatchGroup()

    init(port: Int, rate: Int, clients: Int) {
        let perClient = Double(max(1, rate)) / Double(clients)
        for c in 0..<clients {
            done.enter()
            Thread.detachNewThread { [self] in
                defer { done.leave() }
                run(port: port, client: c, clients: clients, interval: 1 / perClient)
            }
        }
    }

    private func run(port: Int, client c: Int, clients: Int, interval: Double) {
        let start = Date()
        var client: LoadClient?
        var i = 0
        while !isStopped {
            let due = start.addingTimeInterval(Double(i) * interval)
            let wait = due.timeIntervalSinceNow
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            let k = i * clients + c
            i += 1
            let name = k % 2 == 0 ? "chaos/steps" : "chaos/one"
            let body = Array(#"{"name":"\#(name)","data":{"k":\#(k)}}"#.utf8)
            let sentAt = Date()
            var status = -1, id: String?
            do {
                if client == nil { client = try LoadClient(host: "127.0.0.1", port: port) }
                let r = try client!.post(path: "/e/chaos", host: "127.0.0.1", body: body)
                status = r.status
                id = (try? JSONValue.parse(String(decoding: r.body, as: UTF8.self)))?["ids"]?[0]?.stringValue
            } catch {
                client = nil
            }
            let seconds = Date().timeIntervalSince(sentAt)
            lock.lock()
            statuses[status, default: 0] += 1
            latencies.append(seconds)
            if status == 200, let id { acks.append(Ack(eventID: id, sentAt: sentAt)) }
            lock.unlock()
        }
    }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    /// Stops the clients and waits for their last requests; returns the slowest answer in seconds.
    func stop() -> Double {
        lock.lock()
        stopped = true
        lock.unlock()
        done.wait()
        return latencies.max() ?? 0
    }
}
