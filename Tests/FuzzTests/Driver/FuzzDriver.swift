// The libFuzzer entry points (only in the BLACKLIGHT_FUZZ=1 build; see Package.swift and bin/fuzz).
// One binary serves every target, chosen by FUZZ_TARGET: one build, and the checks are exactly the
// ones the corpus replay test runs.
import Foundation

nonisolated(unsafe) private var checker: FuzzChecker?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
    guard let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"], let target = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("set FUZZ_TARGET to one of: \(names)\n".utf8))
        exit(2)
    }
    checker = FuzzChecker(target)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let checker else { return 0 }
    do {
        try checker.check(UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    } catch {
        // A trap, so libFuzzer saves the input as a crash like any other.
        fatalError("\(checker.target.rawValue): \(error)")
    }
    return 0
}
