import Foundation
import PGStore
import Testing

@Suite("PortPicker")
struct PortPickerTests {
    @Test("ports for children come from below the kernel's ephemeral range, free, and not twice in a row")
    func childPortsAvoidTheEphemeralRange() throws {
        let range = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)
        let low = try #require(range.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) })
        let ports = try (0..<20).map { _ in try PortPicker.forChildProcess() }
        #expect(ports.allSatisfy { $0 >= 20_000 && $0 < max(21_000, low) }, "\(ports) (ephemeral range from \(low))")
        #expect(Set(ports).count == ports.count, "\(ports)")
    }
}
