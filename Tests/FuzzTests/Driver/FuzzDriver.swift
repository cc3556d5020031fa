// The libFuzzer driver (only in the BLACKLIGHT_FUZZ=1 build; see Package.swift and bin/fuzz). One
// binary serves every target, chosen by FUZZ_TARGET: one build, and the checks are exactly the ones
// the corpus replay test runs.
//
// main() is ours and hands over to libFuzzer's LLVMFuzzerRunDriver, rather than libFuzzer's own main:
// SwiftPM links every executable with main aliased to the module's entry point, which a target
// without one fails to link.
import Foundation

/// libFuzzer's entry for programs with their own main (compiler-rt, FuzzerInterface.h).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Set once before libFuzzer starts, read only from its (single) fuzzing thread.
nonisolated(unsafe) private var checker: FuzzChecker?

@main
enum FuzzDriver {
    static func main() {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        guard let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"], let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(Data("set FUZZ_TARGET to one of: \(names)\n".utf8))
            exit(2)
        }
        checker = FuzzChecker(target)
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
    }
}

private func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let checker else { return 0 }
    do {
        try checker.check(UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    } catch {
        // A trap, so libFuzzer saves the input as a crash like any other.
        fatalError("\(checker.target.rawValue): \(error)")
    }
    return 0
}
