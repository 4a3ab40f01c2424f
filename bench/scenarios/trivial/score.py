"""Scenario (a): trivial entry script. init() does nothing; run() returns a small constant.

Undecorated run(raw_data): both azmlinfsrv and our replica (no schema) hand it the raw body string.
"""


def init():
    pass


def run(raw_data):
    return {"result": 0}
