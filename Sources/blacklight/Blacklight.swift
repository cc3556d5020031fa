import ArgumentParser

@main
struct Blacklight: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blacklight",
        abstract: "Durable Lua workflows on PostgreSQL.",
        subcommands: [
            DevCommand.self, ServeCommand.self, WorkerCommand.self, MigrateCommand.self, SendCommand.self,
            RunsCommand.self, FunctionsCommand.self, DeployCommand.self, RollbackCommand.self, SchedulesCommand.self, ImportCommand.self,
            BackfillEmbeddingsCommand.self,
            PruneCommand.self, ReplCommand.self, BenchCommand.self,
        ]
    )
}
