"""A Flask app served with the real `inngest` SDK, shaped like the job-matching app's own functions.

Started by Tests/ServerTests/InngestAppTests.swift: `python3 app.py PORT` with INNGEST_BASE_URL pointing at the
Blacklight server under test (and INNGEST_SIGNING_KEY / INNGEST_EVENT_KEY, or INNGEST_DEV=1). Every step body appends
a line to COUNTER_DIR/<name>, so the test can count how many times each step really ran.
"""
import datetime
import os
import sys
import time

import flask
import inngest
import inngest.flask

COUNTERS = os.environ["COUNTER_DIR"]
APP_ID = os.environ.get("APP_ID", "bl-app")


def bump(name):
    """Counts one execution of `name`; returns how many there were, this one included."""
    path = os.path.join(COUNTERS, name)
    with open(path, "a") as f:
        f.write("x\n")
    with open(path) as f:
        return len(f.readlines())


def pause_if_asked(name):
    """Blocks while COUNTER_DIR/<name>.hold exists, so a test can kill a worker while the step runs."""
    while os.path.exists(os.path.join(COUNTERS, name + ".hold")):
        time.sleep(0.02)


client = inngest.Inngest(app_id=APP_ID)


@client.create_function(fn_id="match-jobs-to-candidates", trigger=inngest.TriggerEvent(event="jobs/imported"), retries=2)
def match_jobs(ctx: inngest.ContextSync) -> dict:
    job_ids = ctx.event.data["job_ids"]

    def load_jobs():
        bump("load-jobs")
        return [{"id": j, "skills": ["swift", "sql"]} for j in job_ids]

    def load_candidates():
        bump("load-candidates")
        pause_if_asked("load-candidates")
        return [{"id": "c1", "skills": ["swift"]}, {"id": "c2", "skills": ["sql", "swift"]}]

    jobs = ctx.step.run("load-jobs", load_jobs)
    candidates = ctx.step.run("load-candidates", load_candidates)

    def score():
        bump("score-matches")
        out = []
        for j in jobs:
            for c in candidates:
                matched = len(set(j["skills"]) & set(c["skills"]))
                out.append({"job": j["id"], "candidate": c["id"], "score": round(100.0 * matched / len(j["skills"]), 1)})
        return out

    scores = ctx.step.run("score-matches", score)

    def store():
        bump("store-matches")
        return len([s for s in scores if s["score"] >= 50])

    stored = ctx.step.run("store-matches", store)
    return {"jobs": len(jobs), "matches": stored, "batch_id": ctx.event.data.get("batch_id")}


@client.create_function(fn_id="sleepy", trigger=inngest.TriggerEvent(event="test/sleep"))
def sleepy(ctx: inngest.ContextSync) -> dict:
    before = ctx.step.run("before", lambda: bump("sleepy-before"))
    ctx.step.sleep("nap", datetime.timedelta(seconds=1))
    after = ctx.step.run("after", lambda: bump("sleepy-after"))
    return {"before": before, "after": after}


@client.create_function(fn_id="waiter", trigger=inngest.TriggerEvent(event="test/wait"))
def waiter(ctx: inngest.ContextSync) -> dict:
    def ready():
        bump("waiter-ready-" + str(ctx.event.data["id"]))
        pause_if_asked("waiter-ready")

    ctx.step.run("ready", ready)
    approved = ctx.step.wait_for_event(
        "wait-approval", event="test/approved", if_exp="async.data.id == event.data.id",
        timeout=datetime.timedelta(seconds=30))
    return {"approved_by": approved.data["by"] if approved else None}


@client.create_function(fn_id="invoker", trigger=inngest.TriggerEvent(event="test/invoke"))
def invoker(ctx: inngest.ContextSync) -> dict:
    doubled = ctx.step.invoke_by_id("call-lua", function_id="lua-double", data={"n": 21})
    return {"from_lua": doubled}


@client.create_function(fn_id="py-square", trigger=inngest.TriggerEvent(event="test/square"))
def py_square(ctx: inngest.ContextSync) -> dict:
    n = ctx.step.run("square", lambda: ctx.event.data["n"] * ctx.event.data["n"])
    return {"squared": n}


def refuser_failed(ctx: inngest.ContextSync) -> dict:
    bump("refuser-failure")
    return {"failed_run": ctx.event.data["run_id"], "message": ctx.event.data["error"]["message"]}


@client.create_function(fn_id="refuser", trigger=inngest.TriggerEvent(event="test/refuse"), retries=3, on_failure=refuser_failed)
def refuser(ctx: inngest.ContextSync) -> None:
    def check():
        bump("refuser")
        raise inngest.NonRetriableError("candidate 42 does not exist")

    ctx.step.run("check", check)


@client.create_function(fn_id="flaky", trigger=inngest.TriggerEvent(event="test/flaky"), retries=3)
def flaky(ctx: inngest.ContextSync) -> dict:
    def call():
        n = bump("flaky")
        if n <= 2:
            raise RuntimeError(f"the scraper timed out (attempt {n})")
        return {"attempts": n}

    return ctx.step.run("call-scraper", call)


@client.create_function(fn_id="cleanup-stale-sessions", trigger=inngest.TriggerCron(cron="*/15 * * * *"))
def cleanup(ctx: inngest.ContextSync) -> dict:
    n = ctx.step.run("cleanup", lambda: bump("cleanup"))
    return {"event": ctx.event.name, "runs": n}


@client.create_function(fn_id="fan-out", trigger=inngest.TriggerEvent(event="test/parallel"))
def fan_out(ctx: inngest.ContextSync) -> dict:
    results = ctx.group.parallel((
        lambda: ctx.step.run("jobs", lambda: bump("fan-jobs") and "jobs-done"),
        lambda: ctx.step.run("candidates", lambda: bump("fan-candidates") and "candidates-done"),
        lambda: ctx.step.run("roles", lambda: bump("fan-roles") and "roles-done"),
    ))
    total = ctx.step.run("total", lambda: len(results))
    return {"results": list(results), "total": total}


@client.create_function(fn_id="throttled", trigger=inngest.TriggerEvent(event="test/throttled", expression="event.data.n > 1"),
                        throttle=inngest.Throttle(limit=5, period=datetime.timedelta(minutes=1), key="event.data.tenant"),
                        concurrency=[inngest.Concurrency(limit=2, key="event.data.tenant")],
                        idempotency="event.data.n")
def throttled(ctx: inngest.ContextSync) -> int:
    return ctx.event.data["n"]


app = flask.Flask(__name__)
inngest.flask.serve(app, client, [match_jobs, sleepy, waiter, invoker, py_square, refuser, flaky, cleanup, fan_out, throttled])

if __name__ == "__main__":
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
