import Foundation

/// Runs a program to completion on its own thread. Waiting for a child's output on a Swift
/// concurrency thread would block one of the few cooperative threads (2 on this machine) while the
/// child waits on our HTTP server, whose handlers need those threads: a deadlock.
enum ChildProcess {
    struct Result: Sendable {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ arguments: [String], environment: [String: String]? = nil) async throws -> Result {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Result, Error>) in
            Thread.detachNewThread {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = arguments
                if let environment { process.environment = environment }
                let out = Pipe(), err = Pipe()
                process.standardOutput = out
                process.standardError = err
                do {
                    try process.run()
                } catch {
                    cont.resume(throwing: error)
                    return
                }
                // Drain stderr concurrently so a chatty child cannot fill its pipe and stall.
                nonisolated(unsafe) var errData = Data()
                let errDone = DispatchSemaphore(value: 0)
                Thread.detachNewThread {
                    errData = err.fileHandleForReading.readDataToEndOfFile()
                    errDone.signal()
                }
                let outData = out.fileHandleForReading.readDataToEndOfFile()
                errDone.wait()
                process.waitUntilExit()
                cont.resume(returning: Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                                              stderr: String(decoding: errData, as: UTF8.self)))
            }
        }
    }
}
