import BlacklightCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Calls an SDK app: one POST, blocking the calling worker thread (workers are plain threads, never the cooperative
/// pool) until the answer or the per-request timeout. One session per worker thread keeps connections to the app
/// alive between the steps of a run.
final class AppClient {
    struct Reply {
        var status: Int
        /// Lowercased names.
        var headers: [String: String]
        var body: [UInt8]
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let session: URLSession
    let timeout: Double

    init(timeout: Double) {
        self.timeout = timeout
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        configuration.httpMaximumConnectionsPerHost = 4
        session = URLSession(configuration: configuration)
    }

    deinit { session.invalidateAndCancel() }

    func post(_ url: URL, body: [UInt8], headers: [String: String]) throws(Failure) -> Reply {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.timeoutInterval = timeout
        request.httpBody = Data(body)
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let box = ReplyBox()
        let done = DispatchSemaphore(value: 0)
        session.dataTask(with: request) { data, response, error in
            box.set(data, response as? HTTPURLResponse, error)
            done.signal()
        }.resume()
        // The session's own timeout ends the task; this bound only guards against a task that never calls back.
        if done.wait(timeout: .now() + timeout + 5) == .timedOut {
            throw Failure(description: "\(url.absoluteString) did not answer within \(DurationText.format(timeout))")
        }
        let (data, response, error) = box.get()
        if let error {
            let nsError = error as NSError
            if nsError.code == NSURLErrorTimedOut {
                throw Failure(description: "\(url.absoluteString) did not answer within \(DurationText.format(timeout)) (the per-request timeout)")
            }
            throw Failure(description: "calling \(url.absoluteString) failed: \(error.localizedDescription)")
        }
        guard let response else { throw Failure(description: "\(url.absoluteString) gave no HTTP answer") }
        var fields: [String: String] = [:]
        for (k, v) in response.allHeaderFields {
            if let name = k as? String, let value = v as? String { fields[name.lowercased()] = value }
        }
        return Reply(status: response.statusCode, headers: fields, body: Array(data ?? Data()))
    }
}

private final class ReplyBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: (Data?, HTTPURLResponse?, Error?) = (nil, nil, nil)
    func set(_ d: Data?, _ r: HTTPURLResponse?, _ e: Error?) { lock.lock(); value = (d, r, e); lock.unlock() }
    func get() -> (Data?, HTTPURLResponse?, Error?) { lock.lock(); defer { lock.unlock() }; return value }
}
