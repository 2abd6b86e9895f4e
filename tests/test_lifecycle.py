"""Graceful lifecycle: SIGTERM drains in-flight requests, then the process exits cleanly."""

from __future__ import annotations

import signal
import threading
import time

import requests

from conftest import FIXTURES
from conftest import SPECS
from conftest import MockServer

KEY = {"Authorization": "Bearer md_demo"}
SEND = {"from": "a@example.com", "to": "b@example.com", "subject": "Hi", "html": "<p>x</p>"}


def test_sigterm_finishes_in_flight_requests_then_exits() -> None:
    server = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES))
    assert server.process is not None
    try:
        requests.post(server.url("/__mocksrv/faults"), json={"api": "maildiver", "latency_ms": 800}, timeout=10)
        answers: list[int] = []
        slow = threading.Thread(target=lambda: answers.append(
            requests.post(server.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10).status_code))
        slow.start()
        time.sleep(0.1)  # the slow request is in flight
        server.process.send_signal(signal.SIGTERM)
        slow.join(10)
        assert answers == [201]  # answered, not cut
        assert server.process.wait(10) == 0
        server.log_line("draining in-flight requests")
        server.log_line("mocksrv: stopped")
    finally:
        server.stop()


def test_sigterm_on_a_server_that_has_answered_stops_it_promptly() -> None:
    server = MockServer("--specs", str(SPECS / "maildiver.yaml"))
    assert server.process is not None
    try:
        session = requests.Session()  # leaves an idle keep-alive connection open
        assert session.post(server.url("/maildiver/v1/emails"), json=SEND, headers={"Authorization": "Bearer k"},
                            timeout=10).status_code == 201
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(5) == 0  # not the 10 s kill of MockServer.stop
    finally:
        server.stop()
