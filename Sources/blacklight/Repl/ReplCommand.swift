import ArgumentParser
import Engine
import Foundation
import Logging

struct ReplCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repl",
        abstract: "A Lua prompt with the workflows' host API on the database: inspect, dry-run, replay and resume runs.",
        discussion: """
            Interactive on a terminal (line editing, history in .blacklight/repl_history). With input from a \
            pipe or file (`blacklight repl < script.lua`) it runs each chunk, prints results, and exits with \
            status 1 at the first error. The session is read-only except db.exec, :try (rolled back), \
            :rerun-step (until :commit), :resume and :reload. :help lists the commands.
            """)

    @OptionGroup var project: ProjectOptions
    @Option(help: "History file (default: .blacklight/repl_history under --dir; $BLACKLIGHT_REPL_HISTORY).")
    var history: String?

    func run() throws {
        let (url, cluster) = try project.database()
        defer { cluster?.stop() }
        // Only the embedded cluster is migrated here: against a given URL the REPL writes nothing
        // unless asked, and schema changes are `blacklight migrate`'s business.
        if cluster != nil || (project.databaseURL == nil && ProcessInfo.processInfo.environment["DATABASE_URL"] == nil) {
            _ = try project.migrate(url)
        }
        let interactive = isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1
        var services = project.services
        services.log = Logger(label: "blacklight.repl") { _ in ReplLogHandler() }
        let session = try ReplSession(url: url, root: project.root, services: services, out: ReplOutput.line)
        defer { session.close() }
        let greeting = "blacklight repl: connected to \(redacted(url)), \(session.connectionDescription())\n"
            + "read-only session (writes: db.exec, :try rolled back, :rerun-step + :commit, :resume, :reload); :help lists commands"
        if interactive {
            ReplOutput.line(greeting)
            runInteractive(session)
        } else {
            // Piped: results on stdout, the greeting on stderr so output stays comparable.
            FileHandle.standardError.write(Data((greeting + "\n").utf8))
            if !runPiped(session) { throw ExitCode(1) }
        }
    }

    private var historyURL: URL {
        if let history { return URL(fileURLWithPath: history) }
        if let env = ProcessInfo.processInfo.environment["BLACKLIGHT_REPL_HISTORY"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return project.root.appendingPathComponent(".blacklight/repl_history")
    }

    private func runInteractive(_ session: ReplSession) {
        // Ctrl-C while a chunk runs must not kill the session (the editor handles it at the prompt).
        signal(SIGINT, SIG_IGN)
        guard let editor = LineEditor(history: History(url: historyURL)) else { return }
        while !session.finished {
            var chunk = ""
            var prompt = session.prompt
            var cancelled = false
            reading: while true {
                switch editor.readLine(prompt: prompt) {
                case .line(let line):
                    chunk += chunk.isEmpty ? line : "\n" + line
                    if session.needsMore(chunk) {
                        prompt = session.continuationPrompt
                        continue reading
                    }
                    break reading
                case .interrupted:
                    cancelled = true
                    break reading
                case .endOfInput:
                    if chunk.isEmpty { return }
                    cancelled = true
                    break reading
                }
            }
            if cancelled { continue }
            session.submit(chunk)
        }
    }

    /// Runs chunk after chunk; stops at the first that fails.
    private func runPiped(_ session: ReplSession) -> Bool {
        var chunk = ""
        while !session.finished, let line = Swift.readLine(strippingNewline: true) {
            chunk += chunk.isEmpty ? line : "\n" + line
            if session.needsMore(chunk) { continue }
            defer { chunk = "" }
            if !session.submit(chunk) { return false }
        }
        if !chunk.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, !session.finished {
            return session.submit(chunk)
        }
        return true
    }
}

/// Everything the REPL shows goes through here, flushed at once (a pty reader waits for it).
enum ReplOutput {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}

/// Logs and `print` from scripts, shown in the REPL's output between results.
struct ReplLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        ReplOutput.line("  [\(event.level)] \(event.message)")
    }
}
