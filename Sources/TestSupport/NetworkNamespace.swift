import Foundation
import Synchronization

/// A network namespace joined to the host by a veth pair on a private /30, for tests that cut a process off from
/// the database the way a failed switch or a partition would: `cut()` takes the host end of the pair down, so
/// packets are dropped silently (no RST, no FIN) and both ends only learn of it from their own timeouts.
///
/// Needs root and iproute2 (`ip netns`). Names carry the test process's id and a counter, and the /30 is picked
/// from 198.18.0.0/15 (reserved for network tests, RFC 2544) skipping blocks already configured on the host, so
/// test processes running side by side do not collide. `remove()` (also run on deinit) deletes the namespace, which
/// deletes the veth pair with it; pairs and namespaces left by test processes that died are swept on creation.
public final class NetworkNamespace {
    public let name: String
    /// The host end of the pair, and its address: listen on `hostAddress` to be reachable from the namespace.
    public let hostInterface: String
    public let hostAddress: String
    /// The address of processes in the namespace, as the host sees them (`inet_client_addr()` on the server).
    public let namespaceAddress: String
    private var removed = false

    private static let counter = Atomic<Int>(0)
    private static let namePrefix = "blacklight-"
    private static let hostPrefix = "blh"

    /// Creates the namespace and the pair, both ends up. Throws with the `ip` command's own message when the
    /// machine does not allow it (not root, no iproute2, no netns support): callers should fail, not skip.
    public init() throws {
        Self.sweepStale()
        let pid = getpid()
        let n = Self.counter.add(1, ordering: .relaxed).newValue
        name = "\(Self.namePrefix)\(pid)-\(n)"
        // Interface names are at most 15 characters: "blh" + pid (≤ 7 digits) + "x" + n.
        hostInterface = "\(Self.hostPrefix)\(pid)x\(n)"
        let peer = "bln\(pid)x\(n)"
        let block = try Self.freeBlock(start: Int(pid) &* 7 &+ n)
        hostAddress = Self.address(block: block, host: 1)
        namespaceAddress = Self.address(block: block, host: 2)
        do {
            try Self.ip(["netns", "add", name])
            try Self.ip(["link", "add", hostInterface, "type", "veth", "peer", "name", peer])
            try Self.ip(["link", "set", peer, "netns", name])
            try Self.ip(["addr", "add", "\(hostAddress)/30", "dev", hostInterface])
            try Self.ip(["link", "set", hostInterface, "up"])
            try Self.ip(["netns", "exec", name, "ip", "addr", "add", "\(namespaceAddress)/30", "dev", peer])
            try Self.ip(["netns", "exec", name, "ip", "link", "set", peer, "up"])
            try Self.ip(["netns", "exec", name, "ip", "link", "set", "lo", "up"])
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// Cuts the link: the host end goes down, and whatever either side sends is dropped without a word.
    public func cut() throws { try Self.ip(["link", "set", hostInterface, "down"]) }

    /// Brings the link back (the kernel restores the pair's routes with it). Open connections whose peer gave up
    /// meanwhile get a RST on their next packet.
    public func restore() throws { try Self.ip(["link", "set", hostInterface, "up"]) }

    /// `ip` and its arguments that run `command` inside the namespace.
    public func exec(_ command: [String]) throws -> (executable: URL, arguments: [String]) {
        (try Self.ipExecutable(), ["netns", "exec", name] + command)
    }

    /// Deletes the namespace (and with it the pair). Idempotent. Processes still inside keep a detached namespace
    /// until they exit, so stop them first.
    public func remove() {
        if removed { return }
        removed = true
        try? Self.ip(["netns", "delete", name])
        // Only left if creation failed before the peer moved into the namespace.
        if Self.links().contains(hostInterface) { try? Self.ip(["link", "delete", hostInterface]) }
    }

    // MARK: - Internals

    /// 198.18.0.0/15 holds 32768 /30 blocks: block b is 198.(18 + b / 16384).((b / 64) % 256).((b % 64) * 4).
    private static func address(block: Int, host: Int) -> String {
        "198.\(18 + block / 16384).\((block / 64) % 256).\((block % 64) * 4 + host)"
    }

    /// The first /30 from `start` on that no interface of the host uses yet.
    private static func freeBlock(start: Int) throws -> Int {
        let used = try run(try ipExecutable(), ["-4", "-o", "addr", "show", "to", "198.18.0.0/15"])
        var taken = Set<Int>()
        for line in used.split(separator: "\n") {
            // "6: blh1x1    inet 198.18.3.1/30 scope global ..."
            guard let inet = line.split(separator: " ").firstIndex(of: "inet") else { continue }
            let fields = line.split(separator: " ")
            guard inet + 1 < fields.count else { continue }
            let octets = fields[inet + 1].split(separator: "/")[0].split(separator: ".").compactMap { Int($0) }
            guard octets.count == 4 else { continue }
            taken.insert((octets[1] - 18) * 16384 + octets[2] * 64 + octets[3] / 4)
        }
        for i in 0..<32768 {
            let block = (abs(start) + i) % 32768
            if !taken.contains(block) { return block }
        }
        throw NamespaceError(message: "no free /30 left in 198.18.0.0/15")
    }

    /// Namespaces and host-side veth ends named after test processes that are gone.
    private static func sweepStale() {
        func deadOwner(_ suffix: Substring) -> Bool {
            let digits = suffix.prefix(while: { $0.isNumber })
            guard let pid = pid_t(digits), pid != getpid() else { return false }
            return kill(pid, 0) != 0 && errno == ESRCH
        }
        let namespaces = (try? run(try ipExecutable(), ["netns", "list"])) ?? ""
        for line in namespaces.split(separator: "\n") {
            guard let ns = line.split(separator: " ").first, ns.hasPrefix(namePrefix),
                deadOwner(ns.dropFirst(namePrefix.count))
            else { continue }
            try? ip(["netns", "delete", String(ns)])
        }
        for link in links() where link.hasPrefix(hostPrefix) && deadOwner(link.dropFirst(hostPrefix.count)) {
            try? ip(["link", "delete", link])
        }
    }

    /// Names of the host's network interfaces.
    private static func links() -> [String] {
        let out = (try? run(try ipExecutable(), ["-o", "link", "show"])) ?? ""
        // "7: blh1x1@if6: <BROADCAST,...> ..."
        return out.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 1 else { return nil }
            return String(fields[1].prefix(while: { $0 != ":" && $0 != "@" }))
        }
    }

    private static func ip(_ args: [String]) throws {
        _ = try run(try ipExecutable(), args)
    }

    private static func ipExecutable() throws -> URL {
        for path in ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"] where FileManager.default.isExecutableFile(atPath: path) {
            return URL(fileURLWithPath: path)
        }
        throw NamespaceError(message: "iproute2's `ip` is not installed (apt-get install iproute2)")
    }

    /// Runs a short command and returns its output; throws with its output when it fails.
    private static func run(_ executable: URL, _ args: [String]) throws -> String {
        let process = Process()
        process.executableURL = executable
        process.arguments = args
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        // The output is small (a few lines); reading to the end before waiting cannot deadlock on a full pipe.
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw NamespaceError(
                message: "`ip \(args.joined(separator: " "))` failed (exit \(process.terminationStatus), uid \(getuid())): "
                    + text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return text
    }
}

public struct NamespaceError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { "network namespace: \(message)" }
}
