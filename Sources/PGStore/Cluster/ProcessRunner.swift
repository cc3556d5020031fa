import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a program (never through a shell: arguments are an array) and captures what it printed, optionally as
/// another OS user through `runuser`.
///
/// This uses posix_spawn rather than Foundation's `Process`, measured necessary: on Linux `Process` detects the
/// child's exit through a socket the child inherits, and `pg_ctl start` hands that socket on to the postmaster
/// it leaves running, so `waitUntilExit()` never returned (the postmaster held the socket open). Here the child
/// gets only stdin (/dev/null), stdout and stderr (a temporary file, not a pipe, for the same reason), and every
/// other descriptor is closed.
enum ProcessRunner {
    struct Outcome {
        let status: Int32
        /// stdout and stderr together, trimmed: what a person needs to see when the command failed.
        let output: String
    }

    static func run(
        _ executable: String, _ arguments: [String], asUser user: String?, workingDirectory: URL? = nil
    ) throws(PGError) -> Outcome {
        let program: String
        let argv: [String]
        if let user {
            program = try runuserPath()
            argv = ["runuser", "-u", user, "--", executable] + arguments
        } else {
            program = executable
            argv = [executable] + arguments
        }
        // PG* variables from the caller's shell (PGDATA, PGPORT, PGHOST, ...) must not steer the cluster's tools;
        // LC_ALL=C keeps messages in plain English whatever locales are installed.
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        environment["LC_ALL"] = "C"

        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("blacklight-\(getpid())-\(UUID().uuidString).out").path
        let outputFD = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard outputFD >= 0 else {
            throw PGError(code: .clusterSetup, message: "cannot create \(outputPath): \(PortPicker.errnoText())")
        }
        defer {
            close(outputFD)
            unlink(outputPath)
        }

        let pid = try spawn(program, argv, environment, outputFD: outputFD, workingDirectory: workingDirectory?.path)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else {
                throw PGError(code: .clusterSetup, message: "waiting for \(executable) failed: \(PortPicker.errnoText())")
            }
        }
        let data = FileManager.default.contents(atPath: outputPath) ?? Data()
        let output = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        // WIFEXITED / WEXITSTATUS are macros Swift cannot import: low 7 bits = terminating signal, else exit code.
        let exitCode = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Outcome(status: exitCode, output: output)
    }

    private static func spawn(
        _ program: String, _ argv: [String], _ environment: [String: String], outputFD: Int32,
        workingDirectory: String?
    ) throws(PGError) -> pid_t {
        #if canImport(Glibc)
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        #else
        var actions: posix_spawn_file_actions_t? = nil
        var attributes: posix_spawnattr_t? = nil
        #endif
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 1)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 2)
        #if canImport(Glibc)
        let flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        addCloseOthers(&actions)
        if let workingDirectory { _ = SpawnExtensions.addChdir?(&actions, workingDirectory) }
        #else
        let flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_CLOEXEC_DEFAULT)
        #endif
        // No blocked signals and default handlers (an ignored SIGPIPE would otherwise be inherited through exec).
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] {
            sigaddset(&defaults, sig)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, &attributes, cArgs, cEnv)
        guard rc == 0 else {
            throw PGError(code: .clusterSetup, message: "cannot run \(program): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    #if canImport(Glibc)
    /// Closes every descriptor above 2 in the child: glibc's closefrom action when it has one (2.34+), else one
    /// close action per descriptor open now (glibc ignores close actions whose descriptor is already gone).
    private static func addCloseOthers(_ actions: inout posix_spawn_file_actions_t) {
        if let closeFrom = SpawnExtensions.addCloseFrom {
            _ = closeFrom(&actions, 3)
            return
        }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in open.compactMap({ Int32($0) }) where fd > 2 {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
    }

    /// glibc's `_np` spawn actions. Swift's Glibc module does not expose them (they need _GNU_SOURCE), so they
    /// are looked up at run time, which also keeps the binary working on a glibc without them.
    private enum SpawnExtensions {
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>)
            -> Int32

        static let addCloseFrom: AddCloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map {
            unsafeBitCast($0, to: AddCloseFrom.self)
        }
        static let addChdir: AddChdir? = dlsym(nil, "posix_spawn_file_actions_addchdir_np").map {
            unsafeBitCast($0, to: AddChdir.self)
        }
    }
    #endif

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
