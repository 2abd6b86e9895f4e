"""Crash safety with --db: SIGKILL in the middle of a write burst loses no acknowledged record."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import requests

from conftest import FIXTURES
from conftest import SPECS
from conftest import MockServer

HEADERS = {"Authorization": "Bearer mk_live_demo", "X-Organization-Id": "org_demo"}
SEND = {"from": "n", "subject": "crash", "html": "<p>x</p>", "emailType": "t",
        "patientIds": ["pat_8de030393a9e417ab2b3a8b8df183631"]}
WRITERS = 6
PER_WRITER = 200  # bounded: the burst ends by itself if the kill comes late


def test_sigkill_during_a_write_burst_loses_no_acknowledged_record(tmp_path: Path) -> None:
    db = tmp_path / "state.jsonl"
    server = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--db", str(db))
    acknowledged: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def writer() -> None:
        session = requests.Session()
        for _ in range(PER_WRITER):
            try:
                response = session.post(server.url("/maxcare/v3/emails/send"), json=SEND, headers=HEADERS,
                                        timeout=5)
            except requests.RequestException:
                return  # the server is gone
            if response.status_code == 200:
                with lock:
                    acknowledged.append(response.json()["data"]["sent"][0]["id"])
                    if len(acknowledged) >= 150:
                        enough.set()

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    enough.wait(60)
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGKILL)  # our own child, by its PID, mid-burst
    for thread in threads:
        thread.join(30)
    server.stop()
    assert len(acknowledged) >= 150

    again = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--db", str(db))
    try:
        stored = requests.get(again.url("/__mocksrv/apis/maxcare/records/emails"), timeout=30).json()
        ids = {record["id"] for record in stored["records"]}
        missing = [email for email in acknowledged if email not in ids]
        assert not missing, f"{len(missing)} acknowledged records lost"
        assert len(ids) == len(set(ids))
    finally:
        again.stop()
