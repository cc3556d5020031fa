import Foundation
import PropertyBased
import Testing

/// Every time PostgreSQL can store survives TimestampText's write and read, across its whole range
/// (the fuzzer mostly reaches the years near now).
@Suite struct TimestampProperties {
    @Test func storableTimesRoundTrip() async {
        await propertyCheck(count: 5000, input: Gen.double(in: -210_866_803_200...9_224_318_015_999)) { seconds in
            #expect(throws: Never.self) { try TimeCheck.checkTimestampRoundTrip(Date(timeIntervalSince1970: seconds)) }
        }
    }

    @Test func timesOutsideTheRangeAreRefused() async {
        await propertyCheck(count: 500, input: Gen.double(in: 9_224_318_016_000...1e300)) { seconds in
            #expect(throws: Never.self) { try TimeCheck.checkTimestampRoundTrip(Date(timeIntervalSince1970: seconds)) }
            #expect(throws: Never.self) { try TimeCheck.checkTimestampRoundTrip(Date(timeIntervalSince1970: -seconds)) }
        }
    }
}
