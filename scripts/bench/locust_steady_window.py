"""
Loaded by `npm run loadtest` next to the seed's locustfile, which stays unchanged:
    locust -f tests/load/locustfile.py,scripts/bench/locust_steady_window.py

Every user of the seed's file signs in to the one demo account, and those sign-ins
(argon2, slow on purpose) queue for seconds after the last user has spawned; Locust's
--reset-stats would reset at spawn time, in the middle of that queue. This module
starts the steady window when every user's sign-in has been answered and the requests
sent during the sign-ins have been too (LOADTEST_SETTLE_SECONDS, 5 s, later) instead: it
resets the statistics of every endpoint but sign-in (whose row keeps the whole run),
prints a marker line the Node side reads to take its own /metrics snapshot, and stops
the run LOADTEST_STEADY_SECONDS later. It also counts requests and failures per
endpoint over the WHOLE run (the reset drops the ramp-up's), written as JSON to
LOADTEST_LOCUST_JSON when Locust quits: the stored-locations check needs every
accepted point, not only the steady window's.
"""
import json
import os
import sys
import time

import gevent
from locust import events

SIGN_IN = ("POST", "/api/v1/auth/login")
STEADY_MARKER = "uvis-loadtest: steady window starts"

whole_run = {}
window = {"sign_ins_answered": 0, "sign_ins_succeeded": 0, "started_at": None, "ended_at": None}


def start_steady_window(environment):
    for entry in environment.stats.entries.values():
        if (entry.method, entry.name) != SIGN_IN:
            entry.reset()
    environment.stats.total.reset()
    window["started_at"] = time.time()
    # The Node side waits for the API's /metrics to show as many sign-ins as succeeded here.
    print(f"{STEADY_MARKER} after {window['sign_ins_succeeded']} successful sign-ins", flush=True)
    gevent.spawn_later(float(os.environ["LOADTEST_STEADY_SECONDS"]), stop_run, environment)


def stop_run(environment):
    window["ended_at"] = time.time()
    environment.runner.quit()


@events.init.add_listener
def on_init(environment, **_kwargs):
    users = environment.parsed_options.num_users

    @environment.events.request.add_listener
    def on_request(request_type, name, exception, **_kwargs):
        counts = whole_run.setdefault(f"{request_type} {name}", {"requests": 0, "failures": 0})
        counts["requests"] += 1
        if exception:
            counts["failures"] += 1
        if (request_type, name) == SIGN_IN:
            window["sign_ins_answered"] += 1
            if not exception:
                window["sign_ins_succeeded"] += 1
            if window["sign_ins_answered"] == users:
                # Requests sent during the sign-in storm are still in flight, some for a second or
                # more: reset once they are answered, or the window counts their queueing.
                gevent.spawn_later(float(os.environ.get("LOADTEST_SETTLE_SECONDS", "5")), start_steady_window, environment)


@events.quitting.add_listener
def on_quitting(environment, **_kwargs):
    with open(os.environ["LOADTEST_LOCUST_JSON"], "w", encoding="utf-8") as out:
        json.dump(
            {
                "wholeRun": whole_run,
                "window": window,
                # Exceptions raised in the users' code (a sign-in answer without a token, say).
                "userExceptions": sum(e["count"] for e in environment.runner.exceptions.values()),
            },
            out,
            indent=2,
        )
    sys.stdout.flush()
