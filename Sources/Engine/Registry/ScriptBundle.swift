import BlacklightCore
import Foundation

/// A workflow script plus the plugins it required when it loaded: the unit that is versioned, stored
/// and pinned by runs. The hash covers the file name and every source, so any edit is a new version.
public struct ScriptBundle: Sendable, Equatable {
    /// The script's path relative to the project, e.g. "scripts/expire_old_jobs.lua".
    public var file: String
    public var source: String
    /// Plugin module name → source, for every module the script required at load time.
    public var plugins: [String: String]

    public init(file: String, source: String, plugins: [String: String] = [:]) {
        self.file = file
        self.source = source
        self.plugins = plugins
    }

    public var hash: String {
        var text = file + "\u{0}" + source + "\u{0}"
        for name in plugins.keys.sorted() {
            text += name + "\u{0}" + (plugins[name] ?? "") + "\u{0}"
        }
        return String(SHA256.hex(text).prefix(16))
    }
}

/// A bundle that compiled and validated.
public struct LoadedWorkflow: Sendable, Equatable {
    public var bundle: ScriptBundle
    public var definition: WorkflowDefinition
}

/// A script that did not load: what was wrong and where.
public struct ScriptLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var message: String

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}
