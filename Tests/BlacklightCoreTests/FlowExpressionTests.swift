import Testing
import BlacklightCore

@Suite("Flow expressions")
struct FlowExpressionTests {
    let docs = FlowExpression.Documents(event: [
        "name": "jobs/imported",
        "data": ["amount": 150, "source": "scraper", "plan": "enterprise", "ratio": 0.5, "tags": ["a", "b"],
                 "items": [["id": 1], ["id": 2]], "vip": true, "none": .null, "nested": ["deep": ["x": "y"]]],
    ], async: ["data": ["x": "y"]])

    func check(_ text: String) throws -> Bool {
        try FlowExpression(parsing: text).matches(docs)
    }

    @Test("parses the documented forms into the expected tree")
    func parsesTree() throws {
        #expect(try FlowExpression(parsing: "event.data.amount > 100 && event.data.source == \"scraper\"") ==
                .and(.compare(.greater, .path(.event, ["data", "amount"]), .literal(100)),
                     .compare(.equal, .path(.event, ["data", "source"]), .literal("scraper"))))
        #expect(try FlowExpression(parsing: "event.data.plan == 'enterprise' ? 120 : -5") ==
                .conditional(.compare(.equal, .path(.event, ["data", "plan"]), .literal("enterprise")), .literal(120), .literal(-5)))
        #expect(try FlowExpression(parsing: "!(a1 == 1)".replacingOccurrences(of: "a1", with: "event.x")) ==
                .not(.compare(.equal, .path(.event, ["x"]), .literal(1))))
        #expect(try FlowExpression(parsing: "true || false && null == null") ==
                .or(.literal(true), .and(.literal(false), .compare(.equal, .literal(.null), .literal(.null)))))
        #expect(try FlowExpression(parsing: "event.data.tenant_id").eventDataPath == ["tenant_id"])
        #expect(try FlowExpression(parsing: "event.name").eventDataPath == nil)
        #expect(try FlowExpression(parsing: "1.5e3 == 1500").matches(docs))
    }

    @Test("evaluates comparisons, logic, paths and conditionals")
    func evaluates() throws {
        #expect(try check("event.data.amount > 100 && event.data.source == \"scraper\""))
        #expect(try !check("event.data.amount > 200 || event.data.source != 'scraper'"))
        #expect(try check("event.name == 'jobs/imported'"))
        #expect(try check("event.data.ratio < 1 && event.data.amount >= 150 && event.data.amount <= 150.0"))
        #expect(try check("event.data.vip"))
        #expect(try check("!(event.data.amount == 1)"))
        #expect(try check("event.data.tags == 'b'"), "arrays are unwrapped in comparisons")
        #expect(try check("event.data.items.id == 2"), "member access reads each element of an array")
        #expect(try check("event.data.nested.deep.x == 'y'"))
        #expect(try check("event.data.none == null && event.data.amount != null"))
        #expect(try check("async.data.x == event.data.nested.deep.x"))
        #expect(try check("'abc' < 'abd' && false < true"))
        #expect(try check("(event.data.plan == 'enterprise' ? event.data.amount : 0) > 100"))
        let priority = try FlowExpression(parsing: "event.data.plan == 'enterprise' ? 120 : 0")
        #expect(priority.value(docs) == 120)
        #expect(priority.value(.init(event: ["data": ["plan": "free"]])) == 0)
    }

    @Test("missing paths and mismatched types are false or unknown, never a match, as in SQL/JSON path")
    func unknowns() throws {
        #expect(try !check("event.data.missing == 1"))
        #expect(try !check("event.data.missing != 1"))
        #expect(try check("!(event.data.missing == 1)"))
        #expect(try FlowExpression(parsing: "event.data.source > 1").truth(docs) == .unknown)
        #expect(try FlowExpression(parsing: "!(event.data.source > 1)").truth(docs) == .unknown)
        #expect(try check("event.data.source > 1 || true"))
        #expect(try !check("event.data.source > 1 && true"))
        #expect(try check("(event.data.source > 1 ? false : true)"), "an unknown condition takes the else branch")
        #expect(try check("event.data.none != 1"), "null differs from every other value")
    }

    @Test("invalid expressions are refused with the column where they go wrong")
    func invalid() {
        let cases: [(String, Int, String)] = [
            ("event.data.amount > ", 21, "expected a value, found the end of the expression"),
            ("event.data.amount = 1", 19, "unexpected character '=' (use '==' to compare)"),
            ("event.data.a & 1", 14, "unexpected character '&' (use '&&' or '||')"),
            ("(event.data.a == 1", 19, "expected ')', found the end of the expression"),
            ("foo.bar == 1", 1, "unknown name 'foo' (paths start with 'event' or 'async')"),
            ("event.data.a == 'x", 17, "unterminated string"),
            ("a ? 1", 1, "unknown name 'a' (paths start with 'event' or 'async')"),
            ("event.a ? 1", 12, "expected ':' of the conditional, found the end of the expression"),
            ("event.a < 1 < 2", 13, "comparisons do not chain; use '&&' between them"),
            ("(event.a == 1) == true", 1, "the left side of '==' is a condition; compare a path or a value"),
            ("event.a. == 1", 10, "expected a field name after '.', found '=='"),
            ("", 1, "the expression is empty"),
            ("event.a 1", 9, "expected an operator or the end, found the number 1"),
        ]
        for (text, column, message) in cases {
            #expect(throws: ExpressionError(column: column, message), "\(text)") { try FlowExpression(parsing: text) }
        }
    }

    @Test("deep nesting is refused instead of overflowing the stack")
    func depth() {
        let text = String(repeating: "(", count: 500) + "true" + String(repeating: ")", count: 500)
        #expect(throws: ExpressionError.self) { try FlowExpression(parsing: text) }
        let nots = String(repeating: "!", count: 500) + "true"
        #expect(throws: ExpressionError.self) { try FlowExpression(parsing: nots) }
    }

    @Test("compiles to SQL/JSON path; conditionals become two-valued guards")
    func compiles() throws {
        #expect(try FlowExpression(parsing: "event.data.amount > 100 && event.data.source == \"scr\\\"aper\"").jsonPathPredicate()
                == #"(($."data"."amount" > 100) && ($."data"."source" == "scr\"aper"))"#)
        #expect(try FlowExpression(parsing: "event.data.vip").jsonPathPredicate() == #"($."data"."vip" == true)"#)
        let branches = try FlowExpression(parsing: "event.data.plan == 'enterprise' ? 120 : 0").jsonPathBranches()
        #expect(branches.map(\.value) == ["120", "0"])
        #expect(branches[0].when == #"(($."data"."plan" == "enterprise") && !((($."data"."plan" == "enterprise")) is unknown))"#)
        #expect(branches[1].when == "!" + (branches[0].when ?? ""))
        #expect(try FlowExpression(parsing: "event.data.x").jsonPathBranches().map(\.when) == [nil])
        #expect(throws: ExpressionError.self) { try FlowExpression(parsing: "async.data.x == 1").jsonPathPredicate() }
    }

    @Test("conditionals nested in conditions cannot blow the compiled text up")
    func compileBudget() throws {
        var text = "event.a"
        for _ in 0..<30 { text = "(\(text) ? true : false)" }
        let parsed = try FlowExpression(parsing: text)
        #expect(throws: ExpressionError.self) { try parsed.jsonPathPredicate() }
    }
}
