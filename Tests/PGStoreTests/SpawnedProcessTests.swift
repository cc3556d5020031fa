import Foundation
import PGStore
import Testing
import TestSupport

@Suite("SpawnedProcess")
struct SpawnedProcessTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bl-spawn-\(UUID().uuidString)")

    func sh(_ script: String, output: String? = nil) throws -> SpawnedProcess {
        try SpawnedProcess(executable: "/bin/sh", arguments: ["-c", script], environment: ["PATH": "/usr/bin:/bin"],
                           outputPath: output)
    }

    @Test("exit codes, and 128 + the signal for a killed child; a reaped child is no longer signalled")
    func exitCodes() throws {
        #expect(try sh("exit 3").waitUntilExit() == 3)
        let sleeper = try sh("exec sleep 600")
        #expect(sleeper.isRunning)
        #expect(sleeper.terminationStatus == nil)
        sleeper.terminate()
        #expect(sleeper.terminationStatus == 128 + SIGTERM)
        #expect(!sleeper.isRunning)
        sleeper.kill9()  // already reaped: nothing is sent, the status stays
        #expect(sleeper.waitUntilExit() == 128 + SIGTERM)
    }

    @Test("the child gets stdout and stderr in the file and no other descriptor of ours")
    func outputAndDescriptors() throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pipe = Pipe()  // a descriptor of this process that a Foundation child could inherit
        defer { try? pipe.fileHandleForReading.close() }
        let out = dir.appendingPathComponent("out.log")
        let child = try sh("echo to-stdout; echo to-stderr >&2; ls /proc/self/fd", output: out.path)
        #expect(child.waitUntilExit() == 0)
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.prefix(2) == ["to-stdout", "to-stderr"])
        // 0, 1, 2 and the descriptor `ls` opens on /proc/self/fd itself: nothing inherited.
        #expect(lines.dropFirst(2).compactMap { Int($0) }.filter { $0 > 2 }.count == 1, "\(lines)")
    }

    @Test("a program that cannot run, or an output file that cannot be made, is an error naming it")
    func failuresNameWhatFailed() throws {
        #expect { try SpawnedProcess(executable: "/nonexistent/tool", arguments: [], environment: [:], outputPath: nil) }
            throws: { ($0 as? PGError)?.message == "cannot run /nonexistent/tool: No such file or directory" }
        let path = dir.appendingPathComponent("missing/out.log").path
        #expect { try SpawnedProcess(executable: "/bin/true", arguments: [], environment: [:], outputPath: path) }
            throws: { ($0 as? PGError)?.message == "cannot open \(path): No such file or directory" }
    }
}
