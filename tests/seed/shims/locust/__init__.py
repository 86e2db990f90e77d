"""The part of Locust's API the seed's locustfile uses: HttpUser, task, between."""
import random

from http_session import Session


def task(weight=1):
    def decorate(fn):
        fn.locust_task_weight = weight
        return fn

    if callable(weight):
        fn, weight = weight, 1
        return decorate(fn)
    return decorate


def between(low, high):
    return lambda _user: random.uniform(low, high)


class HttpUser:
    wait_time = between(1, 1)

    def __init__(self, host):
        self.client = Session(host)

    @classmethod
    def tasks(cls):
        found = []
        for name in dir(cls):
            fn = getattr(cls, name)
            if callable(fn) and hasattr(fn, "locust_task_weight"):
                found.append((fn, fn.locust_task_weight))
        return found
