import Foundation
import Testing

/// Replays the committed fuzz corpus (`Corpus/<target>/`, minimised with libFuzzer's `-merge=1`, and
/// every input that ever crashed a target) through the same checks `bin/fuzz` runs.
@Suite struct CorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    @Test(arguments: FuzzTarget.allCases)
    func everyCorpusInputPasses(_ target: FuzzTarget) throws {
        let directory = Self.corpus.appendingPathComponent(target.rawValue)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { !$0.hasPrefix(".") }.sorted()
        #expect(!files.isEmpty, "no corpus for \(target.rawValue) in \(directory.path)")
        let checker = FuzzChecker(target)
        for file in files {
            let input = try [UInt8](Data(contentsOf: directory.appendingPathComponent(file)))
            do {
                try checker.check(input)
            } catch {
                Issue.record("\(target.rawValue)/\(file): \(error)")
            }
        }
    }
}
