@testable import BlacklightCore
import PropertyBased
import Testing

/// Durations as generated values: better than bytes for checking arithmetic, since every input is valid.
@Suite struct DurationProperties {
    static let units: [(text: String, seconds: Double)] = [
        ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800),
        ("minutes", 60), ("hours", 3600), ("sec", 1),
    ]

    @Test func formattedDurationsReadBack() async {
        await propertyCheck(count: 2000, input: Gen.double(in: 0...1e9)) { seconds in
            let shown = DurationText.format(seconds)
            let again = try DurationParser.seconds(shown)
            #expect(abs(again - seconds) <= 0.05 + seconds * 1e-12, "\(seconds) s shown as \(shown) reads back as \(again)")
        }
    }

    @Test func partsAddUp() async {
        let part = zip(Gen.int(in: 0...10_000), Gen.element(of: Self.units.indices))
        await propertyCheck(count: 1000, input: part.array(of: 1...5)) { parts in
            let text = parts.map { "\($0.0)\(Self.units[$0.1!].text)" }.joined(separator: " ")
            let expected = parts.reduce(0.0) { $0 + Double($1.0) * Self.units[$1.1!].seconds }
            let seconds = try DurationParser.seconds(text)
            #expect(abs(seconds - expected) <= expected * 1e-12, "\(text)")
        }
    }
}
