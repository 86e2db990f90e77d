"""Runs the users of a locustfile for a while and prints what they saw as JSON.

usage: python3 run_users.py <locustfile> <host> <users> <seconds> [time_scale]
time_scale shrinks the users' waits (0.1 turns between(1, 3) into 0.1 to 0.3 s).
"""
import importlib.util
import json
import sys
import threading
import time
from collections import Counter

import locust


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
    lock = threading.Lock()
    deadline = time.time() + seconds

    def record(name, response):
        with lock:
            statuses[str(response.status_code)] += 1
            calls[name] += 1

    def run_user():
        user = user_class(host)
        original = user.client.request

        def counted(method, url, **kwargs):
            response = original(method, url, **kwargs)
            record(f"{method} {url}", response)
            return response

        user.client.request = counted
        user.on_start()
        tasks = user_class.tasks()
        weights = [w for _, w in tasks]
        import random

        while time.time() < deadline:
            fn = random.choices([f for f, _ in tasks], weights=weights)[0]
            fn(user)
            time.sleep(user.wait_time() * scale)

    threads = [threading.Thread(target=run_user) for _ in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"statuses": statuses, "calls": calls}))


if __name__ == "__main__":
    main()
