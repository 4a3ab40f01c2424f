"""Scoring replica: one process, one uvloop event loop, the user's score.py run() called inline.

Modules: main (start-up and control), control (reads ../messages.py commands on stdin, writes events on
--status-fd), bundle (image + score.py), schema (service_schema.json validation), swagger, app (routing
and scoring), protocol (HTTP), server (listening sockets and drain), accesslog. See docs/engine-api.md
sections 3 and 4.
"""
