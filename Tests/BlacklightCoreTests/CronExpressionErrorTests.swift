import Foundation
import Testing
import BlacklightCore

@Suite("CronExpression errors name the field and the value")
struct CronExpressionErrorTests {
    @Test("invalid expressions", arguments: [
        ("61 * * * *", "minute value 61 out of range 0-59"),
        ("* 24 * * *", "hour value 24 out of range 0-23"),
        ("* * 0 * *", "day-of-month value 0 out of range 1-31"),
        ("* * * 13 *", "month value 13 out of range 1-12"),
        ("* * * * 8", "day-of-week value 8 out of range 0-7"),
        ("* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"),
        ("* * * * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 6"),
        ("", "expected 5 fields (minute hour day-of-month month day-of-week), got 0"),
        ("x * * * *", #"minute value "x" is not a number"#),
        ("* * * FOO *", #"month value "FOO" is not a number or a month name (JAN-DEC)"#),
        ("* * * * MONDAY", #"day-of-week value "MONDAY" is not a number or a day name (SUN-SAT)"#),
        ("0 0 * * JAN", #"day-of-week value "JAN" is not a number or a day name (SUN-SAT)"#),
        ("*/0 * * * *", "minute step 0 must be at least 1"),
        ("*/x * * * *", #"minute step "x" is not a number"#),
        ("0 5-2 * * *", "hour range 5-2 has its start after its end"),
        ("0 0 * * FRI-MON", "day-of-week range FRI-MON has its start after its end"),
        ("1,,2 * * * *", "minute field has an empty list element"),
        ("0 0 1- * *", #"day-of-month value "" is not a number"#),
        ("? * * * *", "'?' is only allowed in day-of-month and day-of-week, not in minute"),
        ("-1 * * * *", #"minute value "" is not a number"#),
        ("@every 5m", #"unknown macro "@every" (use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)"#),
        ("@reboot", #"unknown macro "@reboot" (use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)"#),
        ("@daily 5", #"unexpected "5" after @daily"#),
        ("TZ=Mars/Base 0 3 * * *", #"unknown time zone "Mars/Base" (use an IANA name such as Europe/Paris)"#),
        ("CRON_TZ= 0 3 * * *", #"unknown time zone "" (use an IANA name such as Europe/Paris)"#),
        ("99999999999999999999 * * * *", "minute value 99999999999999999999 out of range 0-59"),
    ])
    func invalid(text: String, reason: String) {
        let expected = "invalid cron expression \"\(text)\": \(reason)"
        #expect(throws: CronError(message: expected)) { try CronExpression(text) }
        #expect(CronError(message: expected).description == expected)
    }
}
