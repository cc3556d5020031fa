/// The page frame: navigation, styles and the shared script; a sign-out button when the page was asked for with
/// a session (DashboardSession).
enum Layout {
    static func page(title: String, active: String, body: String) -> String {
        func nav(_ path: String, _ label: String) -> String {
            "<a href=\"\(path)\"\(active == label ? " class=\"active\"" : "")>\(label)</a>"
        }
        let signOut = DashboardSession.signedIn
            ? "<form class=\"signout\" method=\"post\" action=\"/logout\"><button type=\"submit\">Sign out</button></form>" : ""
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title)) · Blacklight</title>
            <link rel="stylesheet" href="/static/app.css">
            <script src="/static/app.js" defer></script>
            </head><body>
            <header><span class="brand">Blacklight</span>
            <nav>\(nav("/functions", "Functions"))\(nav("/runs", "Runs"))\(nav("/events", "Events"))</nav>\(signOut)</header>
            <main>
            \(body)
            </main></body></html>
            """
    }
}
