import HTTPTypes
import Foundation
import Hummingbird

/// Headers that keep the dashboard's pages from being framed (clickjacking), from running script that did not
/// come from this server (an injection that escaping missed), and from being sniffed as another type.
///
/// The pages load one script and one stylesheet from /static and carry no inline script, handler or style
/// (app.js binds the buttons through data attributes), so the policy needs no 'unsafe-inline'. On every response:
/// a JSON or text body is not rendered as a page, so the policy costs it nothing, and one rule is easier to trust.
struct SecurityHeaders<Context: RequestContext>: RouterMiddleware {
    static var contentSecurityPolicy: String {
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.referrerPolicy] = "same-origin"
        return response
    }
}

extension HTTPField.Name {
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
    static let secFetchSite = Self("Sec-Fetch-Site")!
    static let xForwardedProto = Self("X-Forwarded-Proto")!
}
