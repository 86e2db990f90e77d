"""Runs the users of a locustfile for a while and prints what they saw as JSON.

usage: python3 run_users.py <locustfile> <host> <users> <seconds> [time_scale]
time_scale shrinks the users' waits (0.1 turns between(1, 3) into 0.1 to 0.3 s).

Counted as Locust counts them: a request that gets no HTTP answer (refused, reset,
timed out) is a failure with status 0, and its response has no body (so code that
reads it raises, as with Locust); an HTTP status of 400 or more is a failure too.
An exception in a task is an error and the user goes on; an exception in on_start
kills the user. Like Locust's --exit-code-on-error (1 by default), the run exits 1
when there was any failure, error or dead user, so a run against a dead server
cannot pass.
"""
import http.client
import importlib.util
import json
import random
import sys
import threading
import time
import traceback
from collections import Counter

import locust


class TransportFailure:
    """What a request that got no HTTP answer returns: status 0, no body."""

    def __init__(self, err):
        self.status_code = 0
        self.text = ""
        self.error = f"{type(err).__name__}: {err}"

    def json(self):
        raise ValueError(f"no response body: {self.error}")


def load_user_class(path):
    spec = importlib.util.spec_from_file_location("seed_locustfile", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return next(v for v in vars(module).values() if isinstance(v, type) and issubclass(v, locust.HttpUser) and v is not locust.HttpUser)


def main():
    path, host, users, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    scale = float(sys.argv[5]) if len(sys.argv) > 5 else 1.0
    user_class = load_user_class(path)
    statuses = Counter()
    calls = Counter()
    failures = Counter()
    errors = Counter()
    dead = []
    finished = [0]
    lock = threading.Lock()
    deadline = time.time() + seconds

    def record(name, response):
        with lock:
            statuses[str(response.status_code)] += 1
            calls[name] += 1
            if response.status_code == 0:
                failures[f"{name}: {response.error}"] += 1
            elif response.status_code >= 400:
                failures[f"{name}: HTTP {response.status_code}"] += 1

    def record_error(where, err):
        with lock:
            errors[f"{where}: {type(err).__name__}: {err}"] += 1

    def run_user(index):
        try:
            user = user_class(host)
            original = user.client.request

            def counted(method, url, **kwargs):
                try:
                    response = original(method, url, **kwargs)
                except (OSError, http.client.HTTPException) as err:
                    # urllib's URLError, refused and reset connections, timeouts, a dropped answer.
                    response = TransportFailure(err)
                record(f"{method} {url}", response)
                return response

            user.client.request = counted
            user.on_start()
        except Exception as err:
            record_error("on_start", err)
            with lock:
                dead.append({"user": index, "error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc(limit=3)})
            return
        tasks = user_class.tasks()
        weights = [w for _, w in tasks]
        while time.time() < deadline:
            fn = random.choices([f for f, _ in tasks], weights=weights)[0]
            try:
                fn(user)
            except Exception as err:
                record_error(fn.__name__, err)
            # Deliberately timed: a Locust user's think time between tasks (wait_time).
            time.sleep(user.wait_time() * scale)
        with lock:
            finished[0] += 1

    threads = [threading.Thread(target=run_user, args=(i,)) for i in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({
        "statuses": statuses,
        "calls": calls,
        "failures": failures,
        "errors": errors,
        "users": {"started": users, "finished": finished[0], "dead": len(dead)},
        "dead": dead,
    }))
    if failures or errors or dead or finished[0] != users:
        sys.exit(1)


if __name__ == "__main__":
    main()
