import ArgumentParser
import Engine

/// `blacklight functions pause ID`: events are still stored and runs created; none starts until `resume`.
struct PauseFunctionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Pause a function: its events still create runs, which wait until it resumes.")
    @OptionGroup var project: ProjectOptions
    @Argument(help: "Function id.") var functionID: String

    func run() throws {
        let db = try project.openDatabase()
        defer { db.close() }
        guard case .done(let changed, let runs) = try FunctionPause().pause(functionID, conn: db.conn) else {
            throw ValidationError("no function with id '\(functionID)'")
        }
        print("\(functionID) \(changed ? "paused" : "was already paused"); \(runs) runs waiting")
    }
}

/// `blacklight functions resume ID`: the paused runs start, in the order they were due.
struct ResumeFunctionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Resume a paused function: its waiting runs start, in the order they were due.")
    @OptionGroup var project: ProjectOptions
    @Argument(help: "Function id.") var functionID: String

    func run() throws {
        let db = try project.openDatabase()
        defer { db.close() }
        guard case .done(let changed, let runs) = try FunctionPause().resume(functionID, conn: db.conn) else {
            throw ValidationError("no function with id '\(functionID)'")
        }
        print("\(functionID) \(changed ? "resumed" : "was not paused"); \(runs) runs back in the queue")
    }
}
