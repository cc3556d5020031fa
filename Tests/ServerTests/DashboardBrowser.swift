/// A small Chrome DevTools Protocol driver in Python's standard library, over `--remote-debugging-pipe`
/// (NUL-separated JSON on file descriptors 3 and 4), so clicking and typing need no websocket client
/// and no third-party package. The test writes it to a file and runs it against Debian's chromium.
enum DashboardBrowser {
    /// The driver around a scenario: `scenario` is Python (indented 4 spaces in the text, inside the driver's `try`) that
    /// uses `goto`, `js`, `wait_for` and `send`, and fills `result`, printed as JSON at the end.
    static func with(_ scenario: String) -> String { prelude + "\n" + scenario + "\n" + postlude }

    static let script = with(sendAnEvent)

    static let prelude = #"""
    import base64, json, os, subprocess, sys, tempfile, time

    base, outdir = sys.argv[1], sys.argv[2]
    r1, w1 = os.pipe()   # we write commands, chromium reads fd 3
    r2, w2 = os.pipe()   # chromium writes fd 4, we read
    def child():
        # Via high numbers first: os.pipe() may have returned 3 or 4 itself, and dup2 onto the same
        # number would keep its close-on-exec flag.
        a, b = os.dup(r1), os.dup(w2)
        os.dup2(a, 3); os.dup2(b, 4)
        os.set_inheritable(3, True); os.set_inheritable(4, True)
    profile = tempfile.mkdtemp(prefix="bl-chromium-")
    proc = subprocess.Popen(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                             "--remote-debugging-pipe", "--window-size=1280,1500", "--user-data-dir=" + profile,
                             "--no-first-run", "--hide-scrollbars", "about:blank"],
                            preexec_fn=child, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(r1); os.close(w2)
    buf = b""; next_id = [0]; session = [None]

    def send(method, params=None, use_session=True):
        next_id[0] += 1
        msg = {"id": next_id[0], "method": method, "params": params or {}}
        if use_session and session[0]:
            msg["sessionId"] = session[0]
        os.write(w1, json.dumps(msg).encode() + b"\0")
        return recv(next_id[0])

    def recv(want):
        global buf
        while True:
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                m = json.loads(raw)
                if m.get("id") == want:
                    if "error" in m:
                        raise RuntimeError(f"CDP error: {m['error']}")
                    return m.get("result", {})
            chunk = os.read(r2, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            buf += chunk

    def js(expr):
        r = send("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"JS error in {expr!r}: {r['exceptionDetails']}")
        return r.get("result", {}).get("value")

    def wait_for(expr, timeout=90, what=None):  # a bound against hangs, generous for a loaded machine
        end = time.time() + timeout
        while time.time() < end:
            try:
                v = js(expr)
                if v:
                    return v
            except RuntimeError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"timed out waiting for {what or expr} on {js('location.href')}")

    def goto(path):
        send("Page.navigate", {"url": base + path})
        wait_for(f"document.readyState === 'complete' && location.href.startsWith({json.dumps(base + path)})", what="load " + path)

    result = {}
    try:
        target = send("Target.createTarget", {"url": "about:blank"}, use_session=False)["targetId"]
        session[0] = send("Target.attachToTarget", {"targetId": target, "flatten": True}, use_session=False)["sessionId"]
        send("Page.enable"); send("Runtime.enable")
        # Every page records what the Content-Security-Policy blocked (an inline handler, an inline style, ...).
        send("Page.addScriptToEvaluateOnNewDocument", {"source":
             "window.__csp = []; document.addEventListener('securitypolicyviolation', "
             "e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));"})
        violations = []
        def check_csp():
            violations.extend(js("window.__csp || []") or [])
    """#

    static let sendAnEvent = #"""
        for path, marker in [("/functions", "#functions"), ("/runs", "#runs"), ("/events", "#events")]:
            goto(path)
            wait_for(f"!!document.querySelector({json.dumps(marker)})", what=marker)
            result[path] = js("document.title")
            check_csp()
            if path == "/runs":
                result["runs_rows"] = js("document.querySelectorAll('#runs tbody tr').length")
        # Send an event from the Events page with the JSON editor.
        goto("/events")
        js("document.getElementById('ev-name').value = 'test/greet'")
        js("document.getElementById('ev-data').value = '{\"name\": \"<b>chromium</b>\"}'")
        js("document.getElementById('ev-send').click()")
        check_csp()
        wait_for("location.pathname.startsWith('/events/')", what="the new event's page")
        result["event_page"] = js("location.pathname")
        wait_for("!!document.querySelector('.run-row[data-status=\"completed\"]')", what="the run to complete")
        run_href = js("document.querySelector('.run-row a').getAttribute('href')")
        result["run"] = run_href
        goto(run_href)
        wait_for("document.querySelectorAll('#steps tr[data-step]').length === 2", what="two steps")
        result["run_status"] = js("document.querySelector('.status').textContent")
        result["run_output"] = js("document.getElementById('run-output').textContent")
        result["bold_injected"] = js("document.querySelectorAll('main b').length")
        # The timeline bars are placed by app.js (no inline style under the policy).
        result["bars_placed"] = js("[...document.querySelectorAll('#steps .bar')].every(b => b.style.width.endsWith('%'))")
        check_csp()
        shot = send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        with open(os.path.join(outdir, "run-page.png"), "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        goto("/runs")
        result["runs_page_has_run"] = js(f"!!document.querySelector('#runs a[href=\"{run_href}\"]')")
    """#

    static let postlude = #"""
        check_csp()
        result["csp_violations"] = violations
        print(json.dumps(result))
    except Exception as e:
        print(json.dumps({"error": str(e), "partial": result}))
        sys.exit(1)
    finally:
        try:
            send("Browser.close", use_session=False)
        except Exception:
            pass
        proc.kill()
        proc.wait()
    """#
}
