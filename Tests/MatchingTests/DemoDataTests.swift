import Foundation
import Matching
import Testing

/// The O*NET and SkillSpan subset ships in the repository's `data/`, so a fresh clone's `dev` has its demo.
@Suite("Demo data in the repository")
struct DemoDataTests {
    @Test("the data folder is found from a project folder outside the repository, and reads whole")
    func locateAndLoad() throws {
        let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent("no-data-\(UUID().uuidString)")
        let dir = try #require(ONetData.locate(from: elsewhere), "the repository's data/ folder was not found")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("DATA_SOURCES.md").path))
        let data = try ONetData.load(dir)
        #expect(data.roles.count == 1016)
        #expect(data.postings.count == 263)
        let surgeons = try #require(data.roles.first { $0.code == "29-1242.00" })
        #expect(surgeons.title == "Orthopedic Surgeons, Except Pediatric")
        #expect(!surgeons.alternateTitles.isEmpty && !surgeons.tasks.isEmpty)
        #expect(data.roles.reduce(0) { $0 + $1.alternateTitles.count } == 56560)
    }
}
