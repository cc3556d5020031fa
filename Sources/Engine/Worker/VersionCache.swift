import BlacklightCore
import Foundation
import LuaHost
import PGStore

/// The workflow VMs of one worker thread, by function version. A version missing here is loaded from
/// the database, so a run always finishes on the version it started on, whatever is active now.
final class VersionCache {
    private var vms: [String: WorkflowVM] = [:]
    let services: HostServices
    let limits: LuaVM.Limits

    init(services: HostServices, limits: LuaVM.Limits) {
        self.services = services
        self.limits = limits
    }

    func vm(function: String, version: String, conn: PGConnection) throws -> WorkflowVM {
        let key = function + "@" + version
        if let vm = vms[key] { return vm }
        let result = try conn.query(
            "SELECT file, source, plugins FROM blacklight.function_versions WHERE function_id = $1 AND hash = $2",
            [.text(function), .text(version)])
        guard let row = result.rows.first else {
            throw EngineError(.notFound, "version \(version) of function '\(function)' is not in the database")
        }
        var plugins: [String: String] = [:]
        if let raw = row["plugins"].jsonText, case .object(let o) = try JSONValue.parse(raw) {
            for (name, source) in o { plugins[name] = source.stringValue }
        }
        let bundle = ScriptBundle(file: row["file"].stringValue ?? "?", source: row["source"].stringValue ?? "", plugins: plugins)
        let vm: WorkflowVM
        do {
            vm = try WorkflowVM(bundle: bundle, limits: limits, services: services, resolvePlugin: { plugins[$0] })
        } catch {
            throw EngineError(.script, "version \(version) of '\(function)' no longer loads: \(error)")
        }
        vms[key] = vm
        return vm
    }

    func discard(function: String, version: String) {
        vms[function + "@" + version] = nil
    }
}
