import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a program (never through a shell: arguments are an array) and captures what it printed, optionally as
/// another OS user through `runuser`.
///
/// Through `SpawnedProcess` rather than Foundation's `Process`, measured necessary: on Linux `Process` detects the
/// child's exit through a socket the child inherits, and `pg_ctl start` hands that socket on to the postmaster
/// it leaves running, so `waitUntilExit()` never returned (the postmaster held the socket open). Output goes to a
/// temporary file, not a pipe, for the same reason.
enum ProcessRunner {
    struct Outcome {
        let status: Int32
        /// stdout and stderr together, trimmed: what a person needs to see when the command failed.
        let output: String
    }

    static func run(
        _ executable: String, _ arguments: [String], asUser user: String?, workingDirectory: URL? = nil
    ) throws(PGError) -> Outcome {
        let program = user == nil ? executable : try runuserPath()
        let programArguments = user.map { ["-u", $0, "--", executable] + arguments } ?? arguments
        // PG* variables from the caller's shell (PGDATA, PGPORT, PGHOST, ...) must not steer the cluster's tools;
        // LC_ALL=C keeps messages in plain English whatever locales are installed.
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        environment["LC_ALL"] = "C"

        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("blacklight-\(getpid())-\(UUID().uuidString).out").path
        defer { unlink(outputPath) }
        let child = try SpawnedProcess(executable: program, arguments: programArguments, environment: environment,
                                       outputPath: outputPath, workingDirectory: workingDirectory?.path)
        let exitCode = child.waitUntilExit()
        let data = FileManager.default.contents(atPath: outputPath) ?? Data()
        let output = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Outcome(status: exitCode, output: output)
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
