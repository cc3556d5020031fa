import Foundation

/// Runs a program (never through a shell: arguments are an array) and captures what it printed, optionally as
/// another OS user through `runuser`.
enum ProcessRunner {
    struct Outcome {
        let status: Int32
        /// stdout and stderr together, trimmed: what a person needs to see when the command failed.
        let output: String
    }

    /// Output goes to temporary files rather than pipes: `pg_ctl start` leaves a server running that could
    /// inherit a pipe and keep it open, and a full pipe would block the child while we wait for it.
    static func run(
        _ executable: String, _ arguments: [String], asUser user: String?, workingDirectory: URL? = nil
    ) throws(PGError) -> Outcome {
        let process = Process()
        if let user {
            process.executableURL = URL(fileURLWithPath: try runuserPath())
            process.arguments = ["-u", user, "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        // PG* variables from the caller's shell (PGDATA, PGPORT, PGHOST, ...) must not steer the cluster's tools;
        // LC_ALL=C keeps messages in plain English whatever locales are installed.
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        environment["LC_ALL"] = "C"
        process.environment = environment
        // A directory the other user can enter; otherwise initdb warns that it cannot chdir back.
        if let workingDirectory { process.currentDirectoryURL = workingDirectory }

        let outputURL = FileManager.default.temporaryDirectory
            .appendingPathComponent("blacklight-\(getpid())-\(UUID().uuidString).out")
        guard FileManager.default.createFile(atPath: outputURL.path, contents: nil),
            let handle = try? FileHandle(forWritingTo: outputURL)
        else {
            throw PGError(code: .clusterSetup, message: "cannot create a temporary file at \(outputURL.path)")
        }
        defer {
            try? handle.close()
            try? FileManager.default.removeItem(at: outputURL)
        }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw PGError(code: .clusterSetup, message: "cannot run \(executable): \(error)")
        }
        process.waitUntilExit()
        let data = (try? Data(contentsOf: outputURL)) ?? Data()
        let output = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Outcome(status: process.terminationStatus, output: output)
    }

    private static func runuserPath() throws(PGError) -> String {
        for path in ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser", "/bin/runuser"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        throw PGError(
            code: .clusterSetup,
            message: "runuser is not installed (util-linux); it is needed to start PostgreSQL as an unprivileged "
                + "user while running as root")
    }

    /// The first executable called `name` on PATH.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
