import Foundation
import LuaHost

/// Loads every `scripts/*.lua` of a project folder, with the `plugins/*.lua` they require, compiling
/// each in a fresh sandbox. A script that fails is reported and skipped; the others still load.
public struct ScriptDirectory: Sendable {
    public var root: URL
    public var scriptsFolder = "scripts"
    public var pluginsFolder = "plugins"
    public var limits = LuaVM.Limits()

    public init(root: URL) {
        self.root = root
    }

    public struct LoadResult: Sendable {
        public var workflows: [LoadedWorkflow]
        public var errors: [ScriptLoadError]
        /// Files that were looked at (good or bad), relative to the root.
        public var files: [String]
    }

    public func load(services: HostServices = HostServices()) -> LoadResult {
        let scriptsURL = root.appendingPathComponent(scriptsFolder)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: scriptsURL.path)) ?? [])
            .filter { $0.hasSuffix(".lua") && !$0.hasPrefix(".") }
            .sorted()
        var workflows: [LoadedWorkflow] = []
        var errors: [ScriptLoadError] = []
        var files: [String] = []
        var seen: [String: String] = [:]
        for name in names {
            let file = "\(scriptsFolder)/\(name)"
            files.append(file)
            guard let data = FileManager.default.contents(atPath: scriptsURL.appendingPathComponent(name).path),
                  let source = String(data: data, encoding: .utf8) else {
                errors.append(ScriptLoadError(file: file, line: nil, message: "cannot read the file as UTF-8 text"))
                continue
            }
            switch compile(file: file, source: source, services: services) {
            case .success(let workflow):
                if let other = seen[workflow.definition.id] {
                    errors.append(ScriptLoadError(file: file, line: workflow.definition.line,
                                                  message: "workflow id '\(workflow.definition.id)' is already declared by \(other)"))
                    continue
                }
                seen[workflow.definition.id] = file
                workflows.append(workflow)
            case .failure(let error):
                errors.append(error)
            }
        }
        return LoadResult(workflows: workflows, errors: errors, files: files)
    }

    /// Compiles one script, recording the plugins it requires so they join its bundle.
    public func compile(file: String, source: String, services: HostServices = HostServices()) -> Result<LoadedWorkflow, ScriptLoadError> {
        let pluginsURL = root.appendingPathComponent(pluginsFolder)
        let required = RequiredPlugins()
        do {
            let vm = try WorkflowVM(
                bundle: ScriptBundle(file: file, source: source), limits: limits, services: services,
                resolvePlugin: { name in
                    guard Self.isValidModuleName(name) else { return nil }
                    let path = pluginsURL.appendingPathComponent(name.replacingOccurrences(of: ".", with: "/") + ".lua").path
                    guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                        return nil
                    }
                    required.add(name, text)
                    return text
                })
            // Plugins required only inside run() are not loaded yet: find them in the text so the
            // bundle (and so the version) carries them too.
            var pending = Self.requiredModules(in: source) + required.all.values.flatMap(Self.requiredModules(in:))
            while let name = pending.popLast() {
                if required.all[name] != nil || !Self.isValidModuleName(name) { continue }
                let path = pluginsURL.appendingPathComponent(name.replacingOccurrences(of: ".", with: "/") + ".lua").path
                guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                    continue  // reported when the run requires it: "module 'x' not found"
                }
                required.add(name, text)
                pending += Self.requiredModules(in: text)
            }
            let bundle = ScriptBundle(file: file, source: source, plugins: required.all)
            return .success(LoadedWorkflow(bundle: bundle, definition: vm.definition))
        } catch {
            return .failure(error)
        }
    }

    /// Literal module names in `require("x")`, `require 'x'` and `require "x"` calls.
    static func requiredModules(in source: String) -> [String] {
        var names: [String] = []
        let bytes = Array(source.utf8)
        let word = Array("require".utf8)
        var i = 0
        while i + word.count < bytes.count {
            if bytes[i] == word[0], Array(bytes[i..<(i + word.count)]) == word,
               i == 0 || !(bytes[i - 1] == UInt8(ascii: "_") || bytes[i - 1] == UInt8(ascii: ".") || isAlnum(bytes[i - 1])) {
                var j = i + word.count
                while j < bytes.count, bytes[j] == 32 || bytes[j] == 9 || bytes[j] == UInt8(ascii: "(") { j += 1 }
                if j < bytes.count, bytes[j] == UInt8(ascii: "\"") || bytes[j] == UInt8(ascii: "'") {
                    let quote = bytes[j]
                    var k = j + 1
                    while k < bytes.count, bytes[k] != quote, bytes[k] != 10 { k += 1 }
                    if k < bytes.count, bytes[k] == quote {
                        names.append(String(decoding: bytes[(j + 1)..<k], as: UTF8.self))
                    }
                }
                i = j
            } else {
                i += 1
            }
        }
        return names
    }

    private static func isAlnum(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
    }

    /// Module names map to files under plugins/ only: no absolute paths, no "..".
    static func isValidModuleName(_ name: String) -> Bool {
        !name.isEmpty && name.count < 200 && name.unicodeScalars.allSatisfy {
            CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-" || $0 == "."
        } && !name.contains("..") && !name.hasPrefix(".")
    }
}

private final class RequiredPlugins: @unchecked Sendable {
    var all: [String: String] = [:]
    func add(_ name: String, _ source: String) { all[name] = source }
}
