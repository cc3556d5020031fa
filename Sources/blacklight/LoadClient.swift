import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal keep-alive HTTP/1.1 client over a blocking socket, for load generation: no event loop,
/// no client library between the measurement and the wire. Handles only what the event API answers
/// (a status line, headers with Content-Length, a body).
final class LoadClient {
    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var pending: [UInt8] = []

    struct Failure: Error, CustomStringConvertible { let description: String }

    init(host: String, port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { throw Failure(description: "bad IPv4 address \(host)") }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { close(fd); throw Failure(description: "cannot connect to \(host):\(port)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    /// Sends one POST and reads the whole response; returns the status code and body.
    func post(path: String, host: String, body: [UInt8]) throws -> (status: Int, body: [UInt8]) {
        try send("POST", path: path, host: host, body: body)
    }

    func get(path: String, host: String, headers: [String: String] = [:]) throws -> (status: Int, body: [UInt8]) {
        try send("GET", path: path, host: host, body: [], headers: headers)
    }

    private func send(_ method: String, path: String, host: String, body: [UInt8], headers: [String: String] = [:]) throws -> (status: Int, body: [UInt8]) {
        let extra = headers.map { "\($0.key): \($0.value)\r\n" }.joined()
        let head = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\n\(extra)Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
        try writeAll(Array(head.utf8) + body)
        // Headers.
        var headerEnd: Int?
        while headerEnd == nil {
            headerEnd = find([13, 10, 13, 10], in: pending)
            if headerEnd == nil { try fill() }
        }
        let headerBytes = pending[0..<headerEnd!]
        let headerText = String(decoding: headerBytes, as: UTF8.self)
        pending.removeFirst(headerEnd! + 4)
        let lines = headerText.split(separator: "\r\n")
        guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
            throw Failure(description: "bad status line")
        }
        var length = 0
        for line in lines.dropFirst() where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.split(separator: ":").dropFirst().first?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0
        }
        while pending.count < length { try fill() }
        let responseBody = Array(pending[0..<length])
        pending.removeFirst(length)
        return (status, responseBody)
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { throw Failure(description: "write failed (errno \(errno))") }
            offset += n
        }
    }

    private func fill() throws {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { throw Failure(description: "connection closed by the server") }
        pending.append(contentsOf: buffer[0..<n])
    }

    private func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle {
            return i
        }
        return nil
    }
}
