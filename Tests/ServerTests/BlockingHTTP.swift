import BlacklightCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 request per connection over a blocking socket, for tests that run on their own threads and wait
/// with `Poll.until` (URLSession would need the cooperative threads the test is blocking). Every read and write
/// has a timeout, so a server that hangs fails the request instead of the test run.
enum BlockingHTTP {
    struct Reply {
        let status: Int
        let headers: [String: String]
        let body: String
        var json: JSONValue { (try? JSONValue.parse(body)) ?? .null }
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    static func request(_ method: String, port: Int, _ path: String, body: String = "", headers: [String: String] = [:],
                        timeout: Double = 10) throws -> Reply {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        defer { close(fd) }
        var tv = timeval()
        tv.tv_sec = Int(timeout)
        tv.tv_usec = .init((timeout - floor(timeout)) * 1e6)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "cannot connect to 127.0.0.1:\(port)") }
        var head = "\(method) \(path) HTTP/1.1\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n"
        // A test may send its own Host (a foreign one, a missing one: "").
        if let host = headers.first(where: { $0.key.lowercased() == "host" })?.value {
            if !host.isEmpty { head += "Host: \(host)\r\n" }
        } else {
            head += "Host: 127.0.0.1\r\n"
        }
        if !body.isEmpty { head += "Content-Type: application/json\r\n" }
        for (k, v) in headers where k.lowercased() != "host" { head += "\(k): \(v)\r\n" }
        let bytes = Array((head + "\r\n" + body).utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure(description: "write failed (errno \(errno))") }
            offset += n
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { break }
            guard n > 0 else { throw Failure(description: "no answer from 127.0.0.1:\(port)\(path) (errno \(errno))") }
            received += buffer[0..<n]
        }
        let text = String(decoding: received, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw Failure(description: "incomplete answer: \(text.prefix(200))") }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        guard let status = lines.first?.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw Failure(description: "bad status line: \(lines.first ?? "")")
        }
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Reply(status: status, headers: fields, body: String(text[split.upperBound...]))
    }

    /// `request` on a thread of its own, for async tests: blocking one of the few cooperative threads could starve
    /// the server under test, whose handlers need them. 60 s, as URLSession waits: with every suite running at once
    /// on a loaded machine an answer took over 10 s.
    static func send(_ method: String, port: Int, _ path: String, body: String = "", headers: [String: String] = [:]) async throws -> Reply {
        try await onOwnThread { try request(method, port: port, path, body: body, headers: headers, timeout: 60) }
    }

    /// Runs blocking work (requests, `Poll.until`) from an async test without holding a cooperative thread.
    static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
            Thread.detachNewThread { cont.resume(with: Result { try body() }) }
        }
    }
}
