import Foundation
import Synchronization

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

    /// A free port for a child process that binds it later (a `blacklight serve`, a Flask app).
    ///
    /// Not the kernel's answer to a bind to port 0: the kernel may hand the same port to the next bind to 0 (an
    /// in-process server, another test's cluster) before the child binds it, and a test once talked to another
    /// test's server that way. These ports come from below the kernel's ephemeral range, which binds to
    /// port 0 never use, walked from a start that differs per process so that processes running side by side do not
    /// try the same ports in the same order.
    public static func forChildProcess() throws(PGError) -> Int {
        let ephemeralLow = ephemeralRangeStart()
        let low = 20_000, high = max(low + 1_000, min(ephemeralLow, 32_768))
        for _ in 0..<(high - low) {
            let port = childPorts.withLock { next -> Int in
                if next == 0 { next = low + Int(getpid() % Int32(high - low)) }
                let port = next
                next = next + 1 >= high ? low : next + 1
                return port
            }
            if isFree(port) { return port }
        }
        throw PGError(code: .clusterSetup, message: "no free TCP port on 127.0.0.1 between \(low) and \(high)")
    }

    private static let childPorts = Mutex(0)

    /// The low end of /proc/sys/net/ipv4/ip_local_port_range (Linux's default, 32768, where it cannot be read).
    private static func ephemeralRangeStart() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8),
              let first = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first,
              let low = Int(first) else { return 32_768 }
        return low
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
