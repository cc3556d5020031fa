import Testing
import BlacklightCore

@Suite("RetryPolicy")
struct RetryPolicyTests {
    @Test("retries = 3 means 4 attempts, with defaults of 1 s base and 5 min cap")
    func attempts() {
        let policy = RetryPolicy(retries: 3)
        #expect(policy.maxAttempts == 4)
        #expect(policy.baseDelay == 1)
        #expect(policy.maxDelay == 300)
        #expect(RetryPolicy(retries: 0).maxAttempts == 1)
        #expect(RetryPolicy(retries: -2).maxAttempts == 1)
    }

    @Test("first retry waits 0.75 to 1.25 s")
    func firstDelayJitter() throws {
        let policy = RetryPolicy(retries: 3)
        #expect(policy.delayAfterFailure(attempt: 1, random: 0) == 0.75)
        #expect(policy.delayAfterFailure(attempt: 1, random: 0.5) == 1.0)
        let high = try #require(policy.delayAfterFailure(attempt: 1, random: 0.999_999))
        #expect(high < 1.25 && high > 1.249)
    }

    @Test("nominal delay doubles: 1, 2, 4, 8 s")
    func doubling() {
        let policy = RetryPolicy(retries: 10)
        let nominal = (1...4).map { policy.delayAfterFailure(attempt: $0, random: 0.5) }
        #expect(nominal == [1, 2, 4, 8])
    }

    @Test("nominal delay is capped at maxDelay before jitter")
    func cap() {
        let policy = RetryPolicy(retries: 100)
        #expect(policy.delayAfterFailure(attempt: 9, random: 0.5) == 256)
        #expect(policy.delayAfterFailure(attempt: 10, random: 0.5) == 300)
        #expect(policy.delayAfterFailure(attempt: 10, random: 0) == 225)
        #expect(policy.delayAfterFailure(attempt: 99, random: 0.5) == 300)
        let custom = RetryPolicy(retries: 5, baseDelay: 10, maxDelay: 30)
        #expect([1, 2, 3].map { custom.delayAfterFailure(attempt: $0, random: 0.5) } == [10, 20, 30])
    }

    @Test("no delay once the last attempt has failed")
    func exhausted() {
        let policy = RetryPolicy(retries: 3)
        #expect(policy.delayAfterFailure(attempt: 3, random: 0.5) == 4)
        #expect(policy.delayAfterFailure(attempt: 4, random: 0.5) == nil)
        #expect(policy.delayAfterFailure(attempt: 5, random: 0.5) == nil)
        #expect(RetryPolicy(retries: 0).delayAfterFailure(attempt: 1, random: 0.5) == nil)
    }
}
