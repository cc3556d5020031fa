import Foundation
import Hummingbird

/// `GET /login` shows the form; `POST /login` checks the signing key and sets the session cookie.
struct LoginRoutes: Sendable {
    let options: ServerOptions

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("login") { request, _ in Response.html(LoginPage.render(next: request.query("next") ?? "/runs", error: nil)) }
        router.post("login") { request, _ in
            let buffer = try await request.body.collect(upTo: 64 * 1024)
            let form = Self.formFields(String(buffer: buffer))
            let next = Self.safeNext(form["next"])
            guard let key = options.signingKey, let given = form["key"], constantTimeEquals(given, key) else {
                return Response.html(LoginPage.render(next: next, error: "That key is not the signing key."), status: .unauthorized)
            }
            var response = Response.redirect(next)
            response.setCookie(Cookie(name: AuthMiddleware<Context>.cookieName, value: AuthMiddleware<Context>.sessionValue(key),
                                      maxAge: 7 * 86400, path: "/", secure: false, httpOnly: true, sameSite: .strict))
            return response
        }
    }

    /// application/x-www-form-urlencoded fields.
    static func formFields(_ body: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            if let k = kv.first { out[k] = kv.count > 1 ? kv[1] : "" }
        }
        return out
    }

    /// Only local paths, so the form cannot be used to redirect elsewhere.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\") else { return "/runs" }
        return next
    }
}

enum LoginPage {
    static func render(next: String, error: String?) -> String {
        Layout.page(title: "Sign in", active: "", body: """
            <section class="card narrow">
            <h1>Sign in</h1>
            <p>Enter the signing key (<code>INNGEST_SIGNING_KEY</code>) of this Blacklight server.</p>
            \(error.map { "<p class=\"error\">\(HTML.escape($0))</p>" } ?? "")
            <form method="post" action="/login">
              <input type="hidden" name="next" value="\(HTML.escape(LoginRoutes.safeNext(next)))">
              <input type="password" name="key" placeholder="signing key" autofocus>
              <button type="submit">Sign in</button>
            </form>
            </section>
            """)
    }
}
