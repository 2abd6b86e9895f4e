"""Durability on Redis (``--store redis://…``): with ``--appendonly yes --appendfsync always``, a SIGKILL of
redis-server in the middle of a burst of creates, then a restart on the same folder, loses no record whose
create was answered 2xx, and stores none twice (docs/scale-out.md, "Durability")."""

from __future__ import annotations

import collections
import threading
import time
import typing as t
from pathlib import Path

import requests

from conftest import FIXTURES
from conftest import SPECS
from conftest import MockServer
from conftest import RedisServer
from conftest import require_redis_server

HEADERS = {"Authorization": "Bearer mk_live_demo", "X-Organization-Id": "org_demo"}
SEND = {"from": "n", "html": "<p>x</p>", "emailType": "t", "patientIds": ["pat_8de030393a9e417ab2b3a8b8df183631"]}
AOF_ALWAYS = ("--appendonly", "yes", "--appendfsync", "always")
WRITERS = 6
PER_WRITER = 400  # bounded: the burst ends by itself if a phase below comes late
BEFORE_KILL = 150  # acknowledged creates wanted before Redis is killed, and again after it is back


class Burst:
    """Writer threads creating MaxCare emails through mocksrv until told to stop; what each answer was.

    Each create has a subject of its own, so a record lost and its id handed out again (a Redis that came
    back empty starts the ids over) is not mistaken for the acknowledged one.
    """

    def __init__(self, server: MockServer) -> None:
        self.server = server
        self.acknowledged: list[tuple[str, str]] = []  # (id, subject)
        self.refused: collections.Counter[int] = collections.Counter()  # answered, not 2xx: by status
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._write, args=(writer,)) for writer in range(WRITERS)]

    def _write(self, writer: int) -> None:
        session = requests.Session()
        for number in range(PER_WRITER):
            if self.done.is_set():
                return
            subject = f"durable {writer}-{number}"
            try:
                response = session.post(self.server.url("/maxcare/v3/emails/send"), json={**SEND, "subject": subject},
                                        headers=HEADERS, timeout=10)
            except requests.RequestException:
                continue  # mocksrv is not the one killed here; count nothing it did not answer
            with self.lock:
                if response.status_code == 200:
                    self.acknowledged.append((response.json()["data"]["sent"][0]["id"], subject))
                else:
                    self.refused[response.status_code] += 1

    def stop(self) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(60)


def wait_until(enough: t.Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not enough():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def stored(server: MockServer) -> list[tuple[str, str]]:
    """Every stored email's id and subject as mocksrv lists them, once Redis answers (it may still be loading)."""
    deadline = time.monotonic() + 30
    while True:
        answer = requests.get(server.url("/__mocksrv/apis/maxcare/records/emails"), timeout=30)
        if answer.status_code == 200 or time.monotonic() > deadline:
            assert answer.status_code == 200, answer.text
            return [(record["id"], record["subject"]) for record in answer.json()["records"]]
        time.sleep(0.1)


def test_sigkill_of_redis_during_a_write_burst_loses_no_acknowledged_record(tmp_path: Path) -> None:
    require_redis_server()
    redis_server = RedisServer(tmp_path / "redis", *AOF_ALWAYS)
    server = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--store", redis_server.url)
    burst = Burst(server)
    try:
        for thread in burst.threads:
            thread.start()
        assert wait_until(lambda: len(burst.acknowledged) >= BEFORE_KILL, 60), "the burst did not start"
        redis_server.kill()  # our own child, by its PID, while the writers keep sending
        acknowledged_at_kill = len(burst.acknowledged)
        assert wait_until(lambda: burst.refused.total() > 0, 30), "no create was refused while Redis was down"
        redis_server = redis_server.restarted()
        # mocksrv connects again by itself: creates are acknowledged again without a restart of mocksrv
        assert wait_until(lambda: len(burst.acknowledged) >= acknowledged_at_kill + BEFORE_KILL, 60), \
            "mocksrv did not recover when Redis came back"
        burst.stop()
        assert set(burst.refused) == {503}  # while Redis was away: the API's 503, nothing else

        records = stored(server)
        missing = set(burst.acknowledged) - set(records)
        assert not missing, f"{len(missing)} of {len(burst.acknowledged)} acknowledged records lost"
        subjects = collections.Counter(subject for _, subject in records)
        assert [subject for _, subject in burst.acknowledged if subjects[subject] != 1] == []  # each stored once
    finally:
        burst.stop()
        server.stop()
        redis_server.stop()
