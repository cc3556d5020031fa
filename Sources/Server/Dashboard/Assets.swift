/// The dashboard's one stylesheet and one script, served from memory (no build step, no Node).
enum Assets {
    static let css = """
        *{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d2330;background:#f5f6f8}
        header{display:flex;gap:24px;align-items:center;padding:10px 20px;background:#14161c;color:#fff}
        .brand{font-weight:700;letter-spacing:.5px}nav a{color:#b8c0d0;margin-right:16px;text-decoration:none}nav a.active,nav a:hover{color:#fff}
        main{padding:20px;max-width:1300px;margin:0 auto}h1{font-size:20px;margin:0 0 12px}h2{font-size:16px;margin:18px 0 8px}
        .card{background:#fff;border:1px solid #dfe3ea;border-radius:8px;padding:14px 16px;margin-bottom:16px}.narrow{max-width:460px}
        table{width:100%;border-collapse:collapse;background:#fff}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eceff3;vertical-align:top}
        th{font-weight:600;color:#5a6375;font-size:12px;text-transform:uppercase}a{color:#2456c7}code,pre,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
        pre{background:#f3f5f9;border:1px solid #e3e7ee;border-radius:6px;padding:8px;overflow:auto;max-height:360px;margin:6px 0;white-space:pre-wrap;word-break:break-word}
        .status{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#e8ebf0}
        .s-completed{background:#d9f4e3;color:#13703a}.s-failed{background:#fde2e1;color:#a61b1b}.s-running{background:#dde8ff;color:#1f4fbf}
        .s-queued{background:#eef0f4;color:#4a5262}.s-sleeping,.s-waiting{background:#fff2d6;color:#8a5a00}.s-cancelled{background:#ececec;color:#666}
        .error{color:#a61b1b}.muted{color:#7a8294}button{font:inherit;padding:5px 12px;border-radius:6px;border:1px solid #c4cad6;background:#fff;cursor:pointer}
        button.primary{background:#2456c7;color:#fff;border-color:#2456c7}button.danger{color:#a61b1b;border-color:#e3b4b4}
        input,select,textarea{font:inherit;padding:5px 8px;border:1px solid #c4cad6;border-radius:6px}textarea{width:100%;min-height:110px;font-family:ui-monospace,Menlo,monospace}
        form.filters{display:flex;gap:8px;flex-wrap:wrap;margin-bottom:12px}.row{display:flex;gap:8px;align-items:center;flex-wrap:wrap}
        .timeline{position:relative;height:14px;background:#f0f2f6;border-radius:4px;min-width:160px}.bar{position:absolute;top:2px;height:10px;border-radius:3px;background:#5b8def}
        .bar.failed{background:#e05a5a}.bar.sleeping,.bar.waiting{background:#e6b450}dl.meta{display:grid;grid-template-columns:140px 1fr;gap:4px 12px;margin:0}dt{color:#6a7385}
        details summary{cursor:pointer}.pager{margin-top:12px}.hidden{display:none}.col-timeline{width:30%}
        form.signout{margin-left:auto}form.signout button{background:transparent;color:#b8c0d0;border-color:#3a3f4b}
        .waiting-for{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;background:#f1e4ff;color:#5b2a8c}
        """

    /// Small helpers behind the pages' buttons; the pages work without them for reading. The pages carry no inline
    /// handlers or styles (the Content-Security-Policy allows neither): a button names its action in `data-action`,
    /// a JSON editor its message element in `data-check`, a timeline bar its position in `data-left`/`data-width`,
    /// and the listeners below, on the document, serve what a live region re-renders too.
    static let js = """
        "use strict";
        async function bl(method, path, body) {
          const r = await fetch(path, {method, headers: {"content-type": "application/json"}, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin"});
          let j = null; try { j = await r.json(); } catch (e) {}
          if (!r.ok) { throw new Error((j && j.error) || ("HTTP " + r.status)); }
          return j;
        }
        function blShow(id, text) { const el = document.getElementById(id); if (el) { el.textContent = text; } }
        function blJSON(text) { try { return [JSON.parse(text), null]; } catch (e) { return [null, e.message]; } }
        function blCheck(area, out) { const [, err] = blJSON(area.value); blShow(out, err ? "invalid JSON: " + err : ""); }
        async function blSendEvent() {
          const name = document.getElementById("ev-name").value.trim();
          const [data, err] = blJSON(document.getElementById("ev-data").value || "{}");
          if (err) { blShow("ev-result", "invalid JSON: " + err); return; }
          try { const j = await bl("POST", "/api/events", {name, data}); location.href = "/events/" + encodeURIComponent(j.ids[0]); }
          catch (e) { blShow("ev-result", e.message); }
        }
        async function blReplay(id) {
          try { const j = await bl("POST", "/api/events/" + encodeURIComponent(id) + "/replay"); location.href = "/events/" + encodeURIComponent(j.ids[0]); }
          catch (e) { alert(e.message); }
        }
        async function blInvoke(fn, areaId, outId) {
          const [data, err] = blJSON(document.getElementById(areaId).value || "{}");
          if (err) { blShow(outId, "invalid JSON: " + err); return; }
          try { const j = await bl("POST", "/api/functions/" + encodeURIComponent(fn) + "/invoke", {data});
                if (j.run_id) { location.href = "/runs/" + encodeURIComponent(j.run_id); } else { blShow(outId, j.skipped || "no run started"); } }
          catch (e) { blShow(outId, e.message); }
        }
        async function blRunSchedule(id) {
          try { const j = await bl("POST", "/api/schedules/" + encodeURIComponent(id) + "/run");
                location.href = j.run_id ? "/runs/" + encodeURIComponent(j.run_id) : "/runs"; } catch (e) { alert(e.message); }
        }
        async function blCancel(id) { try { await bl("POST", "/api/runs/" + encodeURIComponent(id) + "/cancel"); location.reload(); } catch (e) { alert(e.message); } }
        async function blRerun(id) { try { const j = await bl("POST", "/api/runs/" + encodeURIComponent(id) + "/rerun", {}); location.href = "/runs/" + encodeURIComponent(j.run_id); } catch (e) { alert(e.message); } }
        async function blRerunFrom(id, step, areaId) {
          const text = document.getElementById(areaId).value.trim();
          const body = {step};
          if (text !== "") { const [v, err] = blJSON(text); if (err) { alert("invalid JSON: " + err); return; } body.output = v; }
          try { const j = await bl("POST", "/api/runs/" + encodeURIComponent(id) + "/rerun", body); location.href = "/runs/" + encodeURIComponent(j.run_id); }
          catch (e) { alert(e.message); }
        }
        // Bulk cancel/replay of the runs matching the filter form: a dry run first, whose count the person
        // confirms; only then the action itself.
        function blBulkFilter() {
          const body = {};
          new FormData(document.querySelector("form.filters")).forEach((v, k) => { if (v !== "") { body[k] = v; } });
          return body;
        }
        function blBulkDone(text) {
          document.getElementById("bulk-confirm").classList.add("hidden");
          blShow("bulk-result", text);
        }
        async function blBulk(action) {
          const body = blBulkFilter();
          blBulkDone("");
          try {
            const dry = await bl("POST", "/api/runs/" + action, Object.assign({dry_run: true}, body));
            if (dry.count === 0) { blShow("bulk-result", "No runs to " + action + "."); return; }
            const verb = action === "cancel" ? "Cancel" : "Replay";
            blShow("bulk-question", verb + " " + dry.count + " run" + (dry.count === 1 ? "" : "s") + "?");
            document.getElementById("bulk-confirm").classList.remove("hidden");
            document.getElementById("bulk-yes").onclick = async () => {
              try {
                const j = await bl("POST", "/api/runs/" + action, body);
                blBulkDone((action === "cancel" ? "Cancelled " : "Replayed ") + j.count + " runs.");
              } catch (e) { blBulkDone(e.message); }
            };
          } catch (e) { blShow("bulk-result", e.message); }
        }
        async function blPause(fn, pause) {
          try { await bl("POST", "/api/functions/" + encodeURIComponent(fn) + (pause ? "/pause" : "/resume")); location.reload(); }
          catch (e) { alert(e.message); }
        }
        // Live updates: a page marks a region with data-live="URL"; its HTML is refetched every 1.5 s while
        // the page is visible (the server renders the fragment, so escaping stays in one place).
        function blLive() {
          document.querySelectorAll("[data-live]").forEach(el => {
            const tick = async () => {
              if (!document.hidden) {
                try { const r = await fetch(el.dataset.live, {credentials: "same-origin"}); if (r.ok) { const html = await r.text(); if (html !== el.blShown) { el.blShown = html; el.innerHTML = html; blBars(el); } } } catch (e) {}
              }
              setTimeout(tick, 1500);
            };
            setTimeout(tick, 1500);
          });
        }
        const blActions = {
          "send-event": b => blSendEvent(),
          "replay": b => blReplay(b.dataset.event),
          "invoke": b => blInvoke(b.dataset.fn, b.dataset.area, b.dataset.out),
          "run-schedule": b => blRunSchedule(b.dataset.schedule),
          "cancel": b => blCancel(b.dataset.run),
          "rerun": b => blRerun(b.dataset.run),
          "rerun-from": b => blRerunFrom(b.dataset.run, b.dataset.step, b.dataset.area),
          "bulk-cancel": b => blBulk("cancel"),
          "bulk-replay": b => blBulk("replay"),
          "bulk-back": b => blBulkDone(""),
          "pause": b => blPause(b.dataset.fn, true),
          "resume": b => blPause(b.dataset.fn, false),
        };
        document.addEventListener("click", e => {
          const b = e.target.closest("[data-action]");
          if (b && blActions[b.dataset.action]) { e.preventDefault(); blActions[b.dataset.action](b); }
        });
        document.addEventListener("input", e => { if (e.target.dataset && e.target.dataset.check) { blCheck(e.target, e.target.dataset.check); } });
        // Style set from script is not inline markup, so the policy's style-src 'self' allows it.
        function blBars(root) {
          root.querySelectorAll(".bar[data-left]").forEach(b => { b.style.left = b.dataset.left + "%"; b.style.width = b.dataset.width + "%"; });
        }
        document.addEventListener("DOMContentLoaded", () => { blBars(document); blLive(); });
        """
}
