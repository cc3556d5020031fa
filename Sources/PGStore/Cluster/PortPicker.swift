import Foundation

#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let streamSocket = SOCK_STREAM
#endif

/// TCP ports on 127.0.0.1 (the embedded cluster's, and the benchmarks' for the servers they start).
public enum PortPicker {
    /// Whether PostgreSQL could listen on `port`. SO_REUSEADDR as PostgreSQL sets it, so connections of a server
    /// we just stopped, still in TIME_WAIT, do not make its own port look taken.
    static func isFree(_ port: Int) -> Bool {
        bound(port: port) != nil
    }

    /// A port the kernel considers free right now.
    public static func freePort() throws(PGError) -> Int {
        guard let port = bound(port: 0) else {
            throw PGError(code: .clusterSetup, message: "cannot find a free TCP port on 127.0.0.1: \(errnoText())")
        }
        return port
    }

    /// Binds a socket to 127.0.0.1:port, returns the bound port and closes it again.
    private static func bound(port: Int) -> Int? {
        guard (0...65535).contains(port) else { return nil }
        let fd = socket(AF_INET, streamSocket, 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var yes: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bindResult = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bindResult == 0 else { return nil }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let nameResult = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard nameResult == 0 else { return nil }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
