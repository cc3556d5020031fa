import BlacklightCore
import Foundation
import Server
import Testing
import TestSupport

/// Issue 10, defect 5: `/login?next=/%09/evil.com` redirected off-site; the cookie was never Secure and never
/// expired; there was no logout and no limit on attempts; pages sent no CSP or frame headers.
@Suite("Sign-in and sessions")
struct SessionTests {
    static let key = "sk-session-test"

    static func start(_ configure: @escaping (inout ServerOptions) -> Void = { _ in }) async throws -> ServerHarness {
        try await ServerHarness.start { o in
            o.dev = false
            o.signingKey = key
            configure(&o)
        }
    }

    /// Percent-encodes everything but unreserved characters, as a browser encodes a form field.
    static func formEncoded(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? ""
    }

    static func signIn(_ h: ServerHarness, key: String = key, next: String = "/runs", headers: [String: String] = [:]) async throws -> ServerHarness.Reply {
        try await h.request("POST", "/login", body: "key=\(formEncoded(key))&next=\(formEncoded(next))",
                            headers: ["content-type": "application/x-www-form-urlencoded"].merging(headers) { $1 })
    }

    static func cookie(_ reply: ServerHarness.Reply) throws -> String {
        try #require(reply.headers["set-cookie"]?.split(separator: ";").first.map(String.init))
    }

    /// Each value as the server sees it after the query string or form is decoded once.
    static let offSite = [
        "/\t/evil.com", "/%09/evil.com", "//evil.com", "///evil.com", "/\\evil.com", "\\/evil.com", "https://evil.com",
        "http:evil.com", "/%2F/evil.com", "/%2f%2fevil.com", "/%5Cevil.com", "%2F%2Fevil.com", " //evil.com", "/\n/evil.com",
        "/\r\n/evil.com", "evil.com", "",
    ]

    @Test func everyOffSiteNextLandsOnASameSitePath() async throws {
        let h = try await Self.start { $0.loginAttempts = 1000 }
        defer { Task { await h.stop() } }
        for next in Self.offSite {
            let login = try await Self.signIn(h, next: next)
            #expect(login.status == 303)
            #expect(login.headers["location"] == "/runs", "next \(next.debugDescription) redirected to \(login.headers["location"] ?? "nothing")")
            // The form that GET /login renders carries the same-site path too.
            let page = try await h.get("/login?next=\(Self.formEncoded(next))")
            #expect(page.text.contains(#"name="next" value="/runs""#), "next \(next.debugDescription)")
        }
        // A path on this site, with its query, is kept.
        let kept = try await Self.signIn(h, next: "/events?name=a%20b")
        #expect(kept.headers["location"] == "/events?name=a%20b")
        // The sign-in page a protected page shows sends the user back to it.
        let runs = try await h.get("/runs?status=failed")
        #expect(runs.status == 401 && runs.text.contains(#"name="next" value="/runs?status=failed""#))
    }

    @Test func theCookieIsSecureBehindTLSAndHttpOnlyStrictAlways() async throws {
        let h = try await Self.start()
        defer { Task { await h.stop() } }
        let plain = try await Self.signIn(h)
        let plainCookie = try #require(plain.headers["set-cookie"])
        #expect(!plainCookie.contains("Secure"))
        #expect(plainCookie.contains("HttpOnly") && plainCookie.contains("SameSite=Strict") && plainCookie.contains("Max-Age=43200"))
        let proxied = try await Self.signIn(h, headers: ["x-forwarded-proto": "https"])
        #expect(try #require(proxied.headers["set-cookie"]).contains("Secure"))
    }

    @Test func aSessionEndsWhenItsLifetimeIsOverWhateverTheCookieSays() async throws {
        let h = try await Self.start { $0.sessionLifetime = 0 }
        defer { Task { await h.stop() } }
        let login = try await Self.signIn(h)
        #expect(login.status == 303)
        #expect(try await h.get("/runs", headers: ["cookie": try Self.cookie(login)]).status == 401)

        // A session of a normal lifetime is refused once the server's clock passes its end.
        let h2 = try await Self.start()
        defer { Task { await h2.stop() } }
        let cookie = try Self.cookie(try await Self.signIn(h2))
        #expect(try await h2.get("/runs", headers: ["cookie": cookie]).status == 200)
        try h2.conn.exec("UPDATE blacklight.sessions SET expires_at = now() - interval '1 second'")
        #expect(try await h2.get("/runs", headers: ["cookie": cookie]).status == 401)
    }

    @Test func signingOutEndsTheSessionOnTheServer() async throws {
        let h = try await Self.start()
        defer { Task { await h.stop() } }
        let cookie = try Self.cookie(try await Self.signIn(h))
        let page = try await h.get("/runs", headers: ["cookie": cookie])
        #expect(page.status == 200)
        #expect(page.text.contains(#"<form class="signout" method="post" action="/logout">"#))
        let out = try await h.post("/logout", headers: ["cookie": cookie])
        #expect(out.status == 303 && out.headers["location"] == "/login")
        #expect(out.headers["set-cookie"]?.contains("Max-Age=0") == true)
        #expect(try h.count("SELECT count(*) FROM blacklight.sessions") == 0)
        // The old cookie, replayed, opens nothing.
        #expect(try await h.get("/runs", headers: ["cookie": cookie]).status == 401)
        // A Bearer client never had a session, and never sees the sign-out button.
        let api = try await h.get("/runs", headers: ["authorization": "Bearer \(Self.key)"])
        #expect(api.status == 200 && !api.text.contains("/logout"))
    }

    @Test func rotatingTheSigningKeyEndsEverySession() async throws {
        let h = try await Self.start()
        defer { Task { await h.stop() } }
        let cookie = try Self.cookie(try await Self.signIn(h))
        try h.conn.exec("UPDATE blacklight.sessions SET key_hash = 'another key'")
        #expect(try await h.get("/runs", headers: ["cookie": cookie]).status == 401)
    }

    @Test func signInAttemptsAreLimitedPerClient() async throws {
        // 10 in an hour rather than the default minute: on a loaded machine ten sign-ins can take longer than a minute.
        let h = try await Self.start { $0.loginAttemptWindow = 3600 }
        defer { Task { await h.stop() } }
        for i in 1...10 {
            #expect(try await Self.signIn(h, key: "guess-\(i)").status == 401, "attempt \(i)")
        }
        let limited = try await Self.signIn(h, key: "guess-11")
        #expect(limited.status == 429)
        let wait = try #require(limited.headers["retry-after"].flatMap { Int($0) })
        #expect((3000...3600).contains(wait))
        // The right key is refused too until the window passes: the limit is on attempts, not on failures.
        #expect(try await Self.signIn(h).status == 429)
    }

    @Test func pagesForbidFramingAndForeignScript() async throws {
        let h = try await Self.start()
        defer { Task { await h.stop() } }
        for path in ["/login", "/runs", "/api/runs", "/static/app.js"] {
            let r = try await h.get(path)
            let csp = r.headers["content-security-policy"] ?? ""
            #expect(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "\(path): \(csp)")
            #expect(r.headers["x-frame-options"] == "DENY", "\(path)")
            #expect(r.headers["x-content-type-options"] == "nosniff", "\(path)")
        }
        // Nothing inline for the policy to block.
        let page = try await h.get("/runs", headers: ["authorization": "Bearer \(Self.key)"])
        #expect(!page.text.contains("onclick=") && !page.text.contains("<script>") && !page.text.contains("style="))
    }
}
