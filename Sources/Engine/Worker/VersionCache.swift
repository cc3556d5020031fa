import BlacklightCore
import Foundation
import LuaHost
import PGStore

/// The workflow VMs of one worker thread, by function version. A version missing here is loaded from
/// the database, so a run always finishes on the version it started on, whatever is active now. At most
/// `capacity` states are kept (each holds up to the memory cap): the least recently used is closed first, and
/// loaded again from its stored source should an old run still need it.
final class VersionCache {
    private var vms: [String: WorkflowVM] = [:]
    private var lastUse: [String: UInt64] = [:]
    private var clock: UInt64 = 0
    let services: HostServices
    let limits: LuaVM.Limits
    let capacity: Int

    init(services: HostServices, limits: LuaVM.Limits, capacity: Int = 32) {
        self.services = services
        self.limits = limits
        self.capacity = max(1, capacity)
    }

    var count: Int { vms.count }

    func vm(function: String, version: String, conn: PGConnection) throws -> WorkflowVM {
        let key = function + "@" + version
        clock += 1
        if let vm = vms[key] {
            lastUse[key] = clock
            return vm
        }
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
        if vms.count >= capacity, let oldest = lastUse.min(by: { $0.value < $1.value })?.key {
            vms[oldest] = nil
            lastUse[oldest] = nil
        }
        vms[key] = vm
        lastUse[key] = clock
        return vm
    }

    func discard(function: String, version: String) {
        vms[function + "@" + version] = nil
        lastUse[function + "@" + version] = nil
    }
}
