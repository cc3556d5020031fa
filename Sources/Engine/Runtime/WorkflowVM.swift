import BlacklightCore
import Foundation
import LuaHost
import PGStore

/// One Lua state with one version of one workflow loaded and the host API installed. Not Sendable:
/// it belongs to the worker thread that created it.
final class WorkflowVM {
    let vm: LuaVM
    let host: ExecutionHost
    let bundle: ScriptBundle
    let definition: WorkflowDefinition
    let runFunction: LuaRef
    let onFailure: LuaRef?
    let limits: LuaVM.Limits
    var stepTable: LuaValue { host.stepTable }

    /// Compiles `bundle` in a fresh sandbox. `resolvePlugin` supplies plugin sources by module name
    /// (from the bundle when running a stored version, from plugins/ when loading from disk).
    init(bundle: ScriptBundle, limits: LuaVM.Limits, services: HostServices,
         resolvePlugin: @escaping (String) -> String?) throws(ScriptLoadError) {
        let file = bundle.file
        func loadError(_ message: String, line: Int? = nil) -> ScriptLoadError {
            // Lua messages start with "scripts/x.lua:12: "; pull the line out so callers can show it.
            var line = line
            var text = message
            if line == nil, text.hasPrefix(file + ":") {
                let rest = text.dropFirst(file.count + 1)
                if let colon = rest.firstIndex(of: ":"), let n = Int(rest[rest.startIndex..<colon]) {
                    line = n
                    text = String(rest[rest.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                }
            }
            return ScriptLoadError(file: file, line: line, message: text)
        }
        let vm: LuaVM
        do {
            vm = try LuaVM(
                limits: limits,
                moduleSource: { name in
                    guard let source = resolvePlugin(name) else { return nil }
                    return (source: source, chunkName: "@plugins/\(name).lua")
                },
                print: { line in services.log.info("\(file): \(line)") }
            )
        } catch {
            throw loadError("cannot create a Lua state: \(error)")
        }
        self.vm = vm
        self.limits = limits
        self.bundle = bundle
        let host = ExecutionHost(vm: vm, services: services, file: file)
        host.instructionBudget = limits.instructions
        self.host = host
        do {
            try host.install()
        } catch {
            throw loadError("host API failed to install: \(error)")
        }
        let results: [LuaValue]
        do {
            results = try vm.load(bundle.source, chunkName: "@" + file)
        } catch {
            throw loadError(error.message)
        }
        guard let declared = host.declared else {
            throw loadError("the script must `return workflow { ... }` (it returned \(results.first?.typeName ?? "nothing"))")
        }
        guard case .table(let returned)? = results.first, returned["id"] == declared.table["id"] else {
            throw loadError("the script must `return workflow { ... }` (it returned \(results.first?.typeName ?? "nothing"))",
                            line: declared.line)
        }
        let definition: WorkflowDefinition
        do {
            definition = try WorkflowValidator.validate(declared.table, line: declared.line, times: host.times)
        } catch {
            throw loadError(error.message, line: declared.line)
        }
        self.definition = definition
        guard case .function(let run)? = declared.table["run"] else {
            throw loadError("workflow '\(definition.id)': 'run' must be a function", line: declared.line)
        }
        self.runFunction = run
        if case .function(let f)? = declared.table["on_failure"] {
            self.onFailure = f
        } else {
            self.onFailure = nil
        }
    }
}
