"""The app `blacklight bench http-functions` calls: one function, `bench-steps`, whose steps do no work, served with the
real `inngest` SDK on Flask. `python3 bench/inngest_app.py PORT` with INNGEST_SIGNING_KEY set (the SDK's cloud mode,
so every request is signed and verified, as in production)."""
import logging
import sys

import flask
import inngest
import inngest.flask

client = inngest.Inngest(app_id="bench")


@client.create_function(fn_id="steps", trigger=inngest.TriggerEvent(event="bench/http"))
def steps(ctx: inngest.ContextSync) -> dict:
    n = ctx.event.data.get("steps", 5)
    total = 0
    for i in range(n):
        total += ctx.step.run(f"s{i}", lambda i=i: i)
    return {"steps": n, "total": total}


app = flask.Flask(__name__)
inngest.flask.serve(app, client, [steps])

if __name__ == "__main__":
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
