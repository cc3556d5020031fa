import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

/// `blacklight repl` driven through a pseudo-terminal (and through a pipe) against a real database.
@Suite("REPL", .serialized)
struct ReplTests {
    static let threeSteps = """
        return workflow {
          id = "three",
          triggers = { { event = "test/three" } },
          retries = 0,
          run = function(ctx, step)
            local base = ctx.event.data.base
            local one = step.run("one", function() return base + 1 end)
            local two = step.run("two", function() return { total = one * 2, tags = { "a", "b" } } end)
            local three = step.run("three", function()
              db.exec("INSERT INTO effects (step) VALUES ('three')")
              return two.total + 1
            end)
            return { one = one, three = three }
          end,
        }
        """

    func repl(_ h: Harness, history: URL? = nil) throws -> PseudoTerminal {
        var args = ["repl", "--database-url", h.url, "--dir", h.root.path]
        if let history { args += ["--history", history.path] }
        let term = try PseudoTerminal(Harness.executable, args)
        #expect(term.expect("connected to") != nil, "screen: \(term.text) running: \(term.process.isRunning) status: \(term.process.isRunning ? -1 : term.process.terminationStatus)")
        #expect(term.expect("bl> ") != nil)
        return term
    }

    /// Types `text` and Enter; returns what was printed up to the next prompt. (The editor redraws
    /// the prompt with every key, so the prompt is looked for only after the line's newline.)
    /// Types only once the prompt is shown, as a person would: keys typed while the editor is not in
    /// raw mode (between two prompts) go through the terminal's line discipline, where Ctrl-C is a signal.
    func sendAtPrompt(_ term: PseudoTerminal, _ keys: String, prompt: String = "bl> ") {
        _ = term.expect(prompt)
        term.send(keys)
    }

    func enter(_ term: PseudoTerminal, _ text: String, prompt: String = "bl> ") -> String {
        term.skipPending()
        term.send(text + "\r")
        guard term.expect("\n") != nil else { return "<no newline> \(term.text)" }
        guard let shown = term.expect(prompt) else { return "<no prompt \(prompt)>" }
        return String(shown.dropLast(prompt.count))
    }

    @Test("line editing keys, history across a restart, multi-line chunks, pretty results, errors that keep the session")
    func editingHistoryAndMultiline() throws {
        let h = try Harness()
        let history = h.root.appendingPathComponent("history")
        let term = try repl(h, history: history)
        // Ctrl-A then typing inserts at the start; Ctrl-E and Backspace fix the tail: 10 * 2 + 4.
        sendAtPrompt(term, "2 + 3\u{01}10 * \u{05}\u{7f}4\r")
        #expect(term.expect("\n24\n") != nil)
        // Ctrl-U clears, Ctrl-W deletes a word, two ← and Ctrl-K cut " 5": 1 + 1 +7.
        sendAtPrompt(term, "garbage\u{15}1 + 1 + bad\u{17}5\u{1b}[D\u{1b}[D\u{0b}7\r")
        #expect(term.expect("\n9\n") != nil)
        // Home and End keys: "1" typed at the start, "0" at the end: 12 + 20.
        sendAtPrompt(term, "2 + 2\u{1b}[H1\u{1b}[F0\r")
        #expect(term.expect("\n32\n") != nil)
        // Up recalls the previous line, Down comes back to the draft.
        sendAtPrompt(term, "\u{1b}[A\r")
        #expect(term.expect("\n32\n") != nil)
        sendAtPrompt(term, "99\u{1b}[A\u{1b}[B\r")
        #expect(term.expect("\n99\n") != nil)
        // Ctrl-C drops the line being typed and gives a fresh prompt.
        sendAtPrompt(term, "this is not lua\u{03}")
        #expect(term.expect("^C\n") != nil)
        sendAtPrompt(term, "7 * 6\r")
        #expect(term.expect("\n42\n") != nil)
        // A multi-line function: continuation prompt until the chunk is complete.
        #expect(enter(term, "function double(x)", prompt: "..> ") == "")  // nothing printed, the chunk goes on
        #expect(enter(term, "return x * 2", prompt: "..> ") == "")
        #expect(enter(term, "end") == "")
        term.send("double(21)\r")
        #expect(term.expect("\n42\n") != nil)
        // Nested tables print with indentation; row arrays as an aligned table.
        let nested = enter(term, "{ name = \"candidate\", nested = { list = { 1, 2.5, 3 }, deep = { ok = true, label = \"a long label here\" } } }")
        #expect(nested == """
            {
              name = "candidate",
              nested = {
                deep = { label = "a long label here", ok = true },
                list = { 1, 2.5, 3 },
              },
            }

            """)
        term.send("db.query(\"SELECT g AS id, 'n' || g AS name FROM generate_series(1, 2) g\")\r")
        let rows = term.expect("(2 rows)") ?? ""
        #expect(rows.contains("id | name\n---+-----\n1  | n1\n2  | n2\n(2 rows)"))
        // An error shows its traceback and the session goes on.
        let failure = enter(term, "error(\"boom\")")
        #expect(failure.contains("error: repl:1: boom"))
        #expect(failure.contains("stack traceback"))
        term.send("double(2)\r")
        #expect(term.expect("\n4\n") != nil)
        term.send("6 * 7\r")
        #expect(term.expect("\n42\n") != nil)
        term.send(":quit\r")
        #expect(term.waitForExit() == 0)

        // History survives a restart: "6 * 7" is two Ups away (":quit" is the last line).
        let again = try repl(h, history: history)
        again.send("\u{1b}[A\u{1b}[A\r")
        #expect(again.expect("\n42\n") != nil)
        // Ctrl-D on an empty line ends the session (sent at the prompt: before it, the terminal is
        // still in cooked mode and would take Ctrl-D as its own end-of-file).
        #expect(again.expect("bl> ") != nil)
        again.send("\u{04}")
        #expect(again.waitForExit() == 0)
    }

    @Test("the session is read-only except db.exec, and says which database it is on")
    func readOnlyByDefault() throws {
        let h = try Harness(setupSQL: "CREATE TABLE notes (body text);")
        let term = try repl(h)
        #expect(term.text.contains("connected to"))
        #expect(term.text.contains("database t_engine_"))
        let refused = enter(term, "db.query(\"INSERT INTO notes VALUES ('a') RETURNING body\")")
        #expect(refused.contains("read-only"))
        term.send("db.exec(\"INSERT INTO notes VALUES ('b')\")\r")
        #expect(term.expect("\n1\n") != nil)
        term.send(":quit\r")
        #expect(term.waitForExit() == 0)
        #expect(try h.scalar("SELECT string_agg(body, ',') FROM notes").stringValue == "b")
    }

    @Test(":try runs every step, prints outputs and durations, and leaves no rows behind")
    func tryLeavesNothing() throws {
        let h = try Harness(scripts: ["three.lua": Self.threeSteps, "sender.lua": """
            return workflow {
              id = "sender",
              triggers = { { event = "test/send" } },
              run = function(ctx, step)
                step.run("write", function()
                  db.exec("INSERT INTO effects (step) VALUES ('write')")
                  events.send({ name = "test/three", data = { base = 1 } })
                  return db.one("SELECT count(*) AS n FROM effects").n
                end)
                step.sleep("nap", "1h")
                local e = step.wait_for_event("reply", { event = "test/reply", timeout = "1h" })
                return { waited = e == nil }
              end,
            }
            """], setupSQL: "CREATE TABLE effects (id serial, step text);")
        try h.load()
        let term = try repl(h)
        term.send(":try sender {\"x\": 1}\r")
        let out = term.expect("rolled back: nothing was stored") ?? ""
        #expect(out.contains("dry run of sender"))
        #expect(out.range(of: #"step write ✓ \d+\.\d ms → 1"#, options: .regularExpression) != nil)
        #expect(out.contains("step.sleep('nap'): skipped"))
        #expect(out.contains("step.wait_for_event('reply', test/reply): treated as timed out"))
        #expect(out.contains("completed in"))
        #expect(out.contains("{ waited = true }"))
        term.send(":try three {\"base\": 4}\r")
        let three = term.expect("rolled back: nothing was stored") ?? ""
        #expect(three.contains("step one ✓"))
        #expect(three.contains("{ one = 5, three = 11 }"))
        term.send(":quit\r")
        #expect(term.waitForExit() == 0)
        for table in ["effects", "blacklight.runs", "blacklight.steps", "blacklight.events", "blacklight.run_logs"] {
            #expect(try h.scalar("SELECT count(*) FROM \(table)").intValue == 0, "\(table) has rows")
        }
    }

    @Test(":replay pauses before each step with its stored output; expressions see ctx, locals and output")
    func replayPausesAtEachStep() throws {
        let h = try Harness(scripts: ["three.lua": Self.threeSteps], setupSQL: "CREATE TABLE effects (id serial, step text);")
        try h.load()
        try h.send("test/three", ["base": 10])
        try h.drain()
        let runID = try h.onlyRun("three")["id"].stringValue ?? ""
        let term = try repl(h)
        term.send(":replay \(runID)\r")
        let first = term.expect("replay one> ") ?? ""
        #expect(first.contains("paused before step 'one'\n  stored output: 11"))
        term.send("output\r")
        #expect(term.expect("\n11\n") != nil)
        let notYet = enter(term, "one", prompt: "replay one> ")
        #expect(notYet.contains("'one' is neither a local at this point of the script nor a global"))
        term.send("db.one(\"SELECT count(*) AS n FROM effects\").n\r")
        #expect(term.expect("\n1\n") != nil)
        term.send("ctx.event.data.base + base\r")
        #expect(term.expect("\n20\n") != nil)
        term.send(":next\r")
        let second = term.expect("replay two> ") ?? ""
        #expect(second.contains("paused before step 'two'"))
        #expect(second.contains("stored output: { tags = { \"a\", \"b\" }, total = 22 }"))
        term.send("one\r")
        #expect(term.expect("\n11\n") != nil)
        term.send(":next\r")
        let third = term.expect("replay three> ") ?? ""
        #expect(third.contains("stored output: 23"))
        term.send("two.total\r")
        #expect(term.expect("\n22\n") != nil)
        let end = enter(term, ":continue")
        #expect(end.contains("replay finished: the function returned { one = 11, three = 23 } (same as stored)"))
        // Breakpoints: :continue runs to the step named.
        term.send(":replay \(runID)\r")
        #expect(term.expect("replay one> ") != nil)
        term.send(":break three\r")
        #expect(term.expect("breakpoint before step 'three'") != nil)
        term.send(":continue\r")
        #expect(term.expect("replay three> ") != nil)
        term.send(":quit\r")
        #expect(term.waitForExit() == 0)
        #expect(try h.scalar("SELECT count(*) FROM effects").intValue == 1)  // the replay wrote nothing
    }

    @Test(":rerun-step with an edited script shows the difference, and :commit stores the new output")
    func rerunStepShowsTheDifference() throws {
        let h = try Harness(scripts: ["three.lua": Self.threeSteps], setupSQL: "CREATE TABLE effects (id serial, step text);")
        try h.load()
        try h.send("test/three", ["base": 1])
        try h.drain()
        let runID = try h.onlyRun("three")["id"].stringValue ?? ""
        try h.write(script: "three.lua", Self.threeSteps.replacingOccurrences(of: "total = one * 2", with: "total = one * 100"))
        let term = try repl(h)
        term.send(":replay \(runID)\r")
        #expect(term.expect("replay one> ") != nil)
        term.send(":rerun-step two\r")
        let diff = term.expect("replay three> ") ?? ""
        #expect(diff.contains("step two ✓"))
        #expect(diff.contains("""
            output changed:
            - stored: { tags = { "a", "b" }, total = 4 }
            + now:    { tags = { "a", "b" }, total = 200 }
            """))
        #expect(diff.contains("transaction open"))
        term.send(":rollback\r")
        #expect(term.expect("rolled back") != nil)
        #expect(try h.scalar("SELECT output->>'total' FROM blacklight.steps WHERE key = 'two'").stringValue == "4")
        // Step three writes: re-run it live and commit; its write and new output stay.
        term.send(":rerun-step three\r")
        let three = term.expect("transaction open") ?? ""
        #expect(three.contains("- stored: 5\n+ now:    201"))
        term.send(":commit\r")
        #expect(term.expect("committed: step 'three'") != nil)
        // Without a replay going: :rerun-step RUN_ID STEP_ID gets there by itself.
        let direct = enter(term, ":rerun-step \(runID) two", prompt: "replay three> ")
        #expect(direct.contains("+ now:    { tags = { \"a\", \"b\" }, total = 200 }"))
        #expect(enter(term, ":rollback", prompt: "replay three> ").contains("rolled back"))
        term.send(":quit\r")
        #expect(term.waitForExit() == 0)
        #expect(try h.scalar("SELECT count(*) FROM effects").intValue == 2)
        #expect(try h.scalar("SELECT output::text FROM blacklight.steps WHERE key = 'three'").stringValue == "201")
    }

    @Test(":resume of a failed run on the fixed script completes it, keeping the earlier steps' results")
    func resumeCompletesAFailedRun() throws {
        let broken = """
            return workflow {
              id = "fragile",
              triggers = { { event = "test/fragile" } },
              retries = 0,
              run = function(ctx, step)
                local a = step.run("fetch", function()
                  db.exec("INSERT INTO effects (step) VALUES ('fetch')")
                  return 21
                end)
                local b = step.run("compute", function() return a * nil_value end)
                return { result = b }
              end,
            }
            """
        let h = try Harness(scripts: ["fragile.lua": broken], setupSQL: "CREATE TABLE effects (id serial, step text);")
        try h.load()
        try h.send("test/fragile")
        try h.drain()
        let run = try h.onlyRun("fragile")
        #expect(run["status"].stringValue == "failed")
        let runID = run["id"].stringValue ?? ""
        try h.write(script: "fragile.lua", broken.replacingOccurrences(of: "a * nil_value", with: "a * 2"))
        let term = try repl(h)
        let out = enter(term, ":resume \(runID)")
        #expect(out.contains("from step 'compute', keeping 1 stored step output"))
        #expect(out.contains("step fetch: stored output → 21"))
        #expect(out.contains("step compute ✓"))
        #expect(out.contains("run \(runID) completed → { result = 42 }"))
        term.send(":quit\r")
        #expect(term.waitForExit() == 0)
        let after = try h.onlyRun("fragile")
        #expect(after["status"].stringValue == "completed")
        #expect(after["version"].stringValue != run["version"].stringValue)
        #expect(try h.scalar("SELECT count(*) FROM effects").intValue == 1)  // fetch did not run again
        #expect(try h.scalar("SELECT active_version FROM blacklight.functions WHERE id = 'fragile'").stringValue
                == after["version"].stringValue)

        // --from an earlier step re-executes it too.
        let again = try repl(h)
        let rerun = enter(again, ":resume \(runID) --from fetch")
        #expect(rerun.contains("from step 'fetch', keeping 0 stored step outputs"))
        #expect(rerun.contains("step fetch ✓"))
        #expect(rerun.contains("run \(runID) completed → { result = 42 }"))
        again.send(":quit\r")
        #expect(again.waitForExit() == 0)
        #expect(try h.scalar("SELECT count(*) FROM effects").intValue == 2)
    }

    /// Runs `blacklight repl` with `input` on a pipe; returns its exit status and standard output.
    static func pipe(_ h: Harness, _ input: String) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = Harness.executable
        p.arguments = ["repl", "--database-url", h.url, "--dir", h.root.path]
        let stdin = Pipe(), stdout = Pipe()
        p.standardInput = stdin
        p.standardOutput = stdout
        p.standardError = FileHandle.nullDevice
        try p.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("a piped script prints each result and exits 1 at the first error")
    func pipedScript() throws {
        let h = try Harness()
        func pipe(_ input: String) throws -> (Int32, String) { try Self.pipe(h, input) }
        let (ok, okOut) = try pipe("x = 20\nfunction f(n)\n  return n + x\nend\nf(1)\nprint(\"hi\")\n{ 1, 2 }\n")
        #expect(ok == 0)
        #expect(okOut == "21\nhi\n{ 1, 2 }\n")
        let (bad, badOut) = try pipe("1 + 1\nerror(\"stop here\")\nprint(\"not reached\")\n")
        #expect(bad == 1)
        #expect(badOut.hasPrefix("2\nerror: repl:1: stop here\nstack traceback:"))
        #expect(!badOut.contains("not reached"))
    }

    @Test(":functions, :runs, :run, :events and :reload show the database and the scripts on disk")
    func inspectionCommands() throws {
        let h = try Harness(scripts: ["three.lua": Self.threeSteps], setupSQL: "CREATE TABLE effects (id serial, step text);")
        try h.load()
        try h.send("test/three", ["base": 1])
        try h.drain()
        let runID = try h.onlyRun("three")["id"].stringValue ?? ""
        let hash = ScriptBundle(file: "scripts/three.lua", source: Self.threeSteps).hash
        let (status, out) = try Self.pipe(h, ":functions\n:runs three completed\n:run \(runID)\n:events 1\n")
        #expect(status == 0)
        #expect(out.hasPrefix("""
            FUNCTION  VERSION           FILE               TRIGGERS          ON DISK
            three     \(hash)  scripts/three.lua  event test/three  same
            RUN                         FUNCTION  STATUS     ATTEMPT  EVENT       CREATED
            \(runID)  three     completed  1/1      test/three
            """))
        #expect(out.contains("run       \(runID)\nfunction  three\nversion   \(hash)\nstatus    completed"))
        #expect(out.contains("output    {\"one\":2,\"three\":5}"))
        #expect(out.contains("      output: {\"tags\":[\"a\",\"b\"],\"total\":4}"))
        #expect(out.contains("NAME        RECEIVED"))
        #expect(out.contains("test/three"))

        try h.write(script: "three.lua", Self.threeSteps.replacingOccurrences(of: "base + 1", with: "base + 2"))
        let (_, changed) = try Self.pipe(h, ":functions\n:reload\n:functions\n")
        let newHash = ScriptBundle(file: "scripts/three.lua", source: Self.threeSteps.replacingOccurrences(of: "base + 1", with: "base + 2")).hash
        #expect(changed == """
            FUNCTION  VERSION           FILE               TRIGGERS          ON DISK
            three     \(hash)  scripts/three.lua  event test/three  changed (:reload)
            three: updated (version \(newHash))
            FUNCTION  VERSION           FILE               TRIGGERS          ON DISK
            three     \(newHash)  scripts/three.lua  event test/three  same

            """)
        let (unknown, message) = try Self.pipe(h, ":nonsense\n")
        #expect(unknown == 1)
        #expect(message == "error: unknown command :nonsense (:help lists them)\n")
    }

    @Test(":pause and :unpause, :cancel and :bulk cancel|replay act through Engine/Control like the CLI and REST")
    func controlCommands() throws {
        let h = try Harness(scripts: ["three.lua": Self.threeSteps], setupSQL: "CREATE TABLE effects (id serial, step text);")
        try h.load()
        let (paused, pauseOut) = try Self.pipe(h, ":pause three\n")
        #expect(paused == 0)
        #expect(pauseOut == "three paused; 0 run(s) wait for :unpause\n")
        try h.send("test/three", ["base": 1])
        try h.send("test/three", ["base": 2])
        _ = try h.drain()
        #expect(try h.scalar("SELECT count(*) FROM blacklight.runs WHERE status = 'queued'").intValue == 2, "paused: nothing ran")
        let first = try h.runs(function: "three").map { $0["id"].stringValue ?? "" }.sorted()[0]
        let (_, cancelOut) = try Self.pipe(h, ":cancel \(first)\n:cancel \(first)\n:bulk cancel --function three --dry-run\n")
        #expect(cancelOut == "run \(first) cancelled\nrun \(first) has already ended (cancelled)\ndry run: 1 run(s) would be cancelled\n")
        let (_, unpauseOut) = try Self.pipe(h, ":unpause three\n")
        #expect(unpauseOut == "three resumed; 1 run(s) back in the queue\n")
        _ = try h.drain()
        #expect(try h.scalar("SELECT count(*) FROM blacklight.runs WHERE status = 'completed'").intValue == 1)
        let (_, replayOut) = try Self.pipe(h, ":bulk replay --function three --status cancelled,completed\n")
        #expect(replayOut == "2 run(s) replayed\n")
        let (refused, refusedOut) = try Self.pipe(h, ":bulk cancel\n")
        #expect(refused == 1)
        #expect(refusedOut == "error: name at least one filter: a bulk cancel of every run is refused\n")
    }
}
