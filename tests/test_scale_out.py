"""Several mocksrv processes on one Redis (``--store redis://…``): one world of records and exact rate
limits across them; an unreachable Redis is one line at start (docs/scale-out.md)."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests

from conftest import FIXTURES
from conftest import ROOT
from conftest import SPECS
from conftest import MockServer
from conftest import RedisServer
from conftest import free_loopback_port
from conftest import require_redis_server

KEY = {"Authorization": "Bearer md_demo"}
SEND = {"from": "Team <team@example.com>", "to": "ada@example.com", "subject": "Hi", "html": "<p>Hi</p>"}


@pytest.fixture
def replicas(redis_server: RedisServer) -> t.Iterator[tuple[MockServer, MockServer]]:
    args = ("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--store", redis_server.url)
    first = MockServer(*args)
    second = MockServer(*args)
    try:
        assert requests.put(first.url("/__mocksrv/scenario"), json={"name": "default"}, timeout=10).ok  # fresh
        yield first, second
    finally:
        first.stop()
        second.stop()


def test_a_record_made_through_one_replica_is_read_through_the_other(
        replicas: tuple[MockServer, MockServer]) -> None:
    first, second = replicas
    made = requests.post(first.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10)
    assert made.status_code == 201
    stored = requests.get(second.url(f"/__mocksrv/apis/maildiver/records/emails/{made.json()['id']}"), timeout=10)
    assert stored.status_code == 200 and stored.json()["subject"] == "Hi"
    requests.post(second.url("/__mocksrv/reset"), timeout=10)  # a reset through one is a reset for all
    assert requests.get(first.url(f"/__mocksrv/apis/maildiver/records/emails/{made.json()['id']}"),
                        timeout=10).status_code == 404


def test_a_rate_limit_is_counted_once_across_replicas(replicas: tuple[MockServer, MockServer]) -> None:
    first, second = replicas
    assert requests.put(first.url("/__mocksrv/scenario"), json={"name": "rate_limited"}, timeout=10).ok  # for both
    statuses = [requests.post(server.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10).status_code
                for server in (first, second, first, second, second)]
    assert statuses == [201, 201, 201, 429, 429]  # 3 a minute, in all


def test_exactly_n_of_4n_concurrent_calls_across_replicas_pass(replicas: tuple[MockServer, MockServer]) -> None:
    first, second = replicas
    assert requests.put(first.url("/__mocksrv/scenario"), json={"name": "rate_limited"}, timeout=10).ok
    assert requests.post(second.url("/__mocksrv/clock"), json={"frozen": True}, timeout=10).ok  # no window rolls over
    start = threading.Barrier(12)

    def send(server: MockServer) -> int:
        start.wait(timeout=10)
        return requests.post(server.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=20).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(send, [first, second] * 6))
    assert statuses.count(201) == 3 and statuses.count(429) == 9, statuses  # a limit of 3, across both
    listed = requests.get(first.url("/__mocksrv/apis/maildiver/records/emails"), timeout=10).json()
    assert len([r for r in listed["records"] if r["subject"] == SEND["subject"]]) == 3  # one record per 201


def journal(server: MockServer, **filters: t.Any) -> list[dict[str, t.Any]]:
    answer = requests.get(server.url("/__mocksrv/requests"), params=filters, timeout=10)
    assert answer.status_code == 200, answer.text
    return t.cast(list[dict[str, t.Any]], answer.json()["requests"])


def test_one_journal_holds_every_replica_s_requests_newest_first(replicas: tuple[MockServer, MockServer]) -> None:
    first, second = replicas
    assert requests.delete(second.url("/__mocksrv/requests"), timeout=10).status_code == 204
    for server, subject in ((first, "one"), (second, "two"), (first, "three")):
        made = requests.post(server.url("/maildiver/v1/emails"), json={**SEND, "subject": subject}, headers=KEY,
                             timeout=10)
        assert made.status_code == 201
    assert requests.get(second.url("/maildiver/v1/emails/nope"), headers=KEY, timeout=10).status_code == 404
    for server in (first, second):  # the same journal, newest first, from either replica
        seen = journal(server)
        assert [e["body"]["subject"] for e in seen if e["method"] == "POST"] == ["three", "two", "one"]
        assert [e["response"]["status"] for e in seen] == [404, 201, 201, 201]
        ids = [e["id"] for e in seen]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
        assert seen[1]["headers"]["Authorization"] != KEY["Authorization"]  # masked as in one process
    assert [e["response"]["status"] for e in journal(first, status=201, limit=2)] == [201, 201]
    assert [e["path"] for e in journal(second, method="GET")] == ["/maildiver/v1/emails/nope"]
    assert requests.delete(first.url("/__mocksrv/requests"), timeout=10).status_code == 204
    assert journal(second) == []  # cleared through one, cleared for all


def test_faults_and_rules_added_through_one_replica_hold_on_every_replica_counted_once(
        replicas: tuple[MockServer, MockServer]) -> None:
    first, second = replicas
    made = requests.post(first.url("/__mocksrv/faults"), json={"api": "maildiver", "status": 503, "times": 3},
                         timeout=10)
    assert made.status_code == 201
    listed = requests.get(second.url("/__mocksrv/faults"), timeout=10).json()["faults"]
    assert [(f["id"], f["remaining"]) for f in listed] == [(made.json()["id"], 3)]
    statuses = [requests.post(server.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10).status_code
                for server in (second, first, second, first)]
    assert statuses == [503, 503, 503, 201]  # 3 in all, whichever replica answered
    assert requests.get(first.url("/__mocksrv/faults"), timeout=10).json()["faults"] == []
    rule = requests.post(second.url("/__mocksrv/rules"), timeout=10, json={
        "api": "maildiver", "match": [{"in": "body", "path": "/subject", "equals": "quota"}],
        "then": {"status": 403, "body": {"message": "Quota exhausted"}}})
    assert rule.status_code == 201, rule.text
    quota = {**SEND, "subject": "quota"}
    assert requests.post(first.url("/maildiver/v1/emails"), json=quota, headers=KEY, timeout=10).status_code == 403
    assert requests.delete(first.url(f"/__mocksrv/rules/{rule.json()['id']}"), timeout=10).status_code == 204
    assert requests.post(second.url("/maildiver/v1/emails"), json=quota, headers=KEY, timeout=10).status_code == 201
    endless = requests.post(first.url("/__mocksrv/faults"), json={"api": "maildiver", "status": 500, "times": 5},
                            timeout=10).json()
    assert requests.post(first.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10).status_code == 500
    assert requests.put(second.url("/__mocksrv/scenario"), json={"name": "rate_limited"}, timeout=10).ok
    kept = requests.get(first.url("/__mocksrv/faults"), timeout=10).json()["faults"]
    assert [(f["id"], f["remaining"]) for f in kept] == [(endless["id"], 4)]  # a switch keeps it, with its uses
    assert requests.post(second.url("/__mocksrv/reset"), timeout=10).ok  # a reset drops it, for all
    assert requests.get(first.url("/__mocksrv/faults"), timeout=10).json()["faults"] == []


def test_a_scenario_given_inline_to_one_replica_holds_on_every_replica(
        replicas: tuple[MockServer, MockServer]) -> None:
    first, second = replicas
    inline = {"name": "only-ada", "fixture": {"maildiver": {"api_keys": [{"key": "md_ada"}]}}}
    loaded = requests.put(first.url("/__mocksrv/scenario"), json=inline, timeout=10)
    assert loaded.status_code == 200, loaded.text
    assert requests.get(second.url("/__mocksrv/scenarios"), timeout=10).json()["current"] == "only-ada"
    statuses = [requests.post(server.url("/maildiver/v1/emails"), json=SEND, headers=headers, timeout=10).status_code
                for server in (first, second) for headers in ({"Authorization": "Bearer md_ada"}, KEY)]
    assert statuses == [201, 403, 201, 403]  # the inline scenario's key, on both; the default's is gone


def test_an_email_preview_opened_through_one_replica_loads_from_the_other(
        replicas: tuple[MockServer, MockServer]) -> None:
    first, second = replicas
    made = requests.post(first.url("/maildiver/v1/emails"), json={**SEND, "html": "<p>Shared preview</p>"},
                         headers=KEY, timeout=10)
    page = requests.get(first.url(f"/__mocksrv/ui/outbox/maildiver/{made.json()['id']}"), timeout=10)
    assert page.status_code == 200
    found = re.search(r'src="(/__mocksrv/preview/[^"]+)"', page.text)
    assert found, page.text
    url = html.unescape(found.group(1))
    for server in (second, first):  # behind a load balancer the frame's request may go to either
        preview = requests.get(server.url(url), timeout=10)
        assert preview.status_code == 200 and "Shared preview" in preview.text


def test_a_session_made_through_one_replica_is_served_by_every_replica(
        replicas: tuple[MockServer, MockServer]) -> None:
    first, second = replicas
    inline = {"maildiver": {"api_keys": [{"key": "md_session"}], "rate_limit": {"limit": 2, "window_seconds": 60}}}
    made = requests.post(first.url("/__mocksrv/sessions"), json={"id": "t-shared", "fixture": inline}, timeout=10)
    assert made.status_code == 201, made.text
    taken = requests.post(second.url("/__mocksrv/sessions"), json={"id": "t-shared"}, timeout=10)
    assert taken.status_code == 409  # the id is taken on every replica
    key = {"Authorization": "Bearer md_session"}
    sent = requests.post(second.url("/@t-shared/maildiver/v1/emails"), json=SEND, headers=key, timeout=10)
    assert sent.status_code == 201, sent.text  # the session's own key, on a replica that did not make it
    assert requests.post(second.url("/@t-shared/maildiver/v1/emails"), json=SEND, headers=KEY,
                         timeout=10).status_code == 403  # the server's key is not the session's
    stored = requests.get(first.url(f"/__mocksrv/sessions/t-shared/apis/maildiver/records/emails/{sent.json()['id']}"),
                          timeout=10)
    assert stored.status_code == 200  # its records are one world
    assert requests.get(first.url(f"/__mocksrv/apis/maildiver/records/emails/{sent.json()['id']}"),
                        timeout=10).status_code == 404  # and not the server's
    statuses = [requests.post(server.url("/@t-shared/maildiver/v1/emails"), json=SEND, headers=key,
                              timeout=10).status_code for server in (first, second)]
    assert statuses == [201, 429]  # its rate limit of 2 a minute, counted across replicas
    seen = requests.get(first.url("/__mocksrv/sessions/t-shared/requests"), timeout=10).json()["requests"]
    assert [e["response"]["status"] for e in seen] == [429, 201, 403, 201]  # one journal, the session's
    moved = requests.post(first.url("/__mocksrv/sessions/t-shared/clock"), timeout=10,
                          json={"set": "2031-01-01T00:00:00Z", "frozen": True}).json()
    assert requests.get(second.url("/__mocksrv/sessions/t-shared/clock"), timeout=10).json()["now"] == moved["now"]
    listed = [s["id"] for s in requests.get(second.url("/__mocksrv/sessions"), timeout=10).json()["sessions"]]
    assert "t-shared" in listed
    assert requests.delete(second.url("/__mocksrv/sessions/t-shared"), timeout=10).status_code == 204
    assert requests.post(first.url("/@t-shared/maildiver/v1/emails"), json=SEND, headers=key,
                         timeout=10).status_code == 404  # deleted through one, gone on both


def test_the_scenario_and_the_clock_set_through_one_replica_hold_on_every_replica(
        replicas: tuple[MockServer, MockServer], redis_server: RedisServer) -> None:
    first, second = replicas
    assert requests.put(second.url("/__mocksrv/scenario"), json={"name": "maildiver_suppression"}, timeout=10).ok
    assert requests.get(first.url("/__mocksrv/scenarios"), timeout=10).json()["current"] == "maildiver_suppression"
    moved = requests.post(first.url("/__mocksrv/clock"), json={"set": "2030-01-01T00:00:00Z", "frozen": True},
                          timeout=10).json()
    seen = requests.get(second.url("/__mocksrv/clock"), timeout=10).json()
    assert seen["frozen"] is True and seen["now"] == moved["now"] and moved["now"].startswith("2030-01-01T00:00:00")
    sent = requests.post(second.url("/send-service/api/v1/send"), headers={"X-API-Key": "ss_demo"}, timeout=10,
                         json={"to": "a@example.com", "subject": "s", "text": "t"}).json()
    assert sent["submitted_at"] == "2030-01-01T00:00:00Z"  # the second replica's answers read the clock too
    third = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--store", redis_server.url)
    try:  # a replica started later follows the world it finds
        assert requests.get(third.url("/__mocksrv/scenarios"), timeout=10).json()["current"] == "maildiver_suppression"
        assert requests.get(third.url("/__mocksrv/clock"), timeout=10).json()["now"] == moved["now"]
    finally:
        third.stop()


def test_an_unreachable_redis_is_one_line_and_exit_1() -> None:
    port = free_loopback_port()
    done = subprocess.run([sys.executable, "-m", "mocksrv", "serve", "--specs", str(SPECS), "--port", "0",
                           "--store", f"redis://127.0.0.1:{port}/0"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().startswith(f"mocksrv: cannot serve: cannot reach Redis at redis://127.0.0.1:{port}/0")
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, says", [
    (["--store", "memcached://x"], "--store takes a redis:// URL"),
    (["--store", "redis://127.0.0.1:1/0", "--db", "x.jsonl"], "--store and --db both say where the state is"),
])
def test_a_wrong_store_flag_is_one_line(args: list[str], says: str) -> None:
    done = subprocess.run([sys.executable, "-m", "mocksrv", "serve", "--specs", str(SPECS), "--port", "0", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and says in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_webhook_delivery_is_sent_once_by_replicas_that_share_it(redis_server: RedisServer) -> None:
    """Both replicas know the pending delivery (the second read it from Redis at start) and both find
    it due: the one that claims the attempt sends it, the other does not."""
    from mocksrv.receiver import WebhookReceiver

    port = free_loopback_port()  # nobody listens yet: the first attempt is refused
    args = ("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--store", redis_server.url)
    first = MockServer(*args)
    second: MockServer | None = None
    try:
        assert requests.put(first.url("/__mocksrv/scenario"), json={"name": "default"}, timeout=10).ok
        requests.post(first.url("/__mocksrv/apis/send-service/webhooks"), timeout=10,
                      json={"url": f"http://127.0.0.1:{port}/h"})
        requests.post(first.url("/__mocksrv/apis/send-service/webhooks/events"), json={"event": "bounced"},
                      timeout=10)
        deadline = time.monotonic() + 10
        while not any(d["attempts"] for d in deliveries(first)) and time.monotonic() < deadline:
            time.sleep(0.05)
        second = MockServer(*args)
        # a slow receiver: the first replica's attempt is still under way when the second finds it due
        with WebhookReceiver(port=port, delay_seconds=1.5) as receiver:
            for server in (first, second):  # each replica's clock is its own so far
                requests.post(server.url("/__mocksrv/clock"), json={"advance_seconds": 6}, timeout=10)
            receiver.wait_for(1)
            time.sleep(2.0)
            assert len(receiver.received) == 1
    finally:
        first.stop()
        if second is not None:
            second.stop()


def deliveries(server: MockServer) -> list[dict[str, t.Any]]:
    answer = requests.get(server.url("/__mocksrv/webhooks/deliveries"), timeout=10).json()
    return t.cast(list[dict[str, t.Any]], answer["deliveries"])


def test_a_lost_redis_is_the_api_s_503_and_the_process_recovers_when_it_is_back(tmp_path: Path) -> None:
    require_redis_server()
    redis_server = RedisServer(tmp_path / "one")
    server = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--store", redis_server.url)
    try:
        assert requests.post(server.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10).status_code == 201
        redis_server.stop()
        lost = requests.post(server.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=20)
        assert lost.status_code == 503 and "state is unavailable" in lost.text
        entry = requests.get(server.url("/__mocksrv/requests"), params={"limit": 1}, timeout=10).json()["requests"][0]
        assert entry["response"]["status"] == 503  # journaled here, in the process
        records = requests.get(server.url("/__mocksrv/apis/maildiver/records/emails"), timeout=20)
        assert records.status_code == 503 and "state is unavailable" in records.json()["detail"]  # admin too
        redis_server = RedisServer(tmp_path / "two", port=redis_server.port)  # back, empty
        assert requests.post(server.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10).status_code == 201
    finally:
        server.stop()
        redis_server.stop()


def test_a_replica_started_later_follows_the_default_scenario_too(redis_server: RedisServer) -> None:
    """The default scenario's keys hold on a replica that found the world already there: an unknown key is refused."""
    args = ("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--store", redis_server.url)
    first = MockServer(*args)
    try:
        assert requests.put(first.url("/__mocksrv/scenario"), json={"name": "default"}, timeout=10).ok
        later = MockServer(*args)
        try:
            stranger = {"Authorization": "Bearer md_nobody"}
            statuses = [requests.post(server.url("/maildiver/v1/emails"), json=SEND, headers=stranger,
                                      timeout=10).status_code for server in (first, later)]
            assert statuses == [403, 403]  # MailDiver's answer to a key it does not know, on both
        finally:
            later.stop()
    finally:
        first.stop()


def test_a_replica_reads_the_world_s_settings_only_when_they_changed(redis_server: RedisServer) -> None:
    """A request checks the world's version with its first store call, not a read of its own; the version and
    the settings (which hold a scenario given inline, however large) are read only after another replica
    changed them."""
    from mocksrv import Options
    from mocksrv import create_app
    from mocksrv.state.world import WORLD
    from mocksrv.state.world import WORLD_VERSION

    def app() -> t.Any:
        return create_app(Options(specs=[SPECS], fixtures=FIXTURES, store_url=redis_server.url)).test_client()

    first, second = app(), app()
    assert first.put("/__mocksrv/scenario", json={"name": "default"}).status_code == 200
    store = second.application.extensions["mocksrv"].pipeline.state.store
    reads: list[tuple[str, ...]] = []
    real_get = store.get
    store.get = lambda *key: reads.append(key) or real_get(*key)
    for _ in range(3):
        assert second.post("/maildiver/v1/emails", json=SEND, headers=KEY).status_code == 201
    assert reads.count(WORLD) == 1  # once, to follow the load above; not on the next requests
    assert reads.count(WORLD_VERSION) == 1
    assert first.post("/__mocksrv/clock", json={"advance_seconds": 60}).status_code == 200
    second.post("/maildiver/v1/emails", json=SEND, headers=KEY)
    assert reads.count(WORLD) == 2


def limited(limit: int) -> dict[str, t.Any]:
    """An inline scenario: the default MailDiver key, ``limit`` sends a minute."""
    return {"name": f"limit-{limit}", "fixture": {"maildiver": {
        "api_keys": [{"key": "md_demo"}], "rate_limit": {"limit": limit, "window_seconds": 60}}}}


def test_a_request_on_a_world_another_replica_changed_runs_once_on_the_new_one(
        replicas: tuple[MockServer, MockServer]) -> None:
    """A replica learns of a change through its request's first store call (no read of its own): that call
    did nothing, and the request ran again on the world as changed, counted and journaled once."""
    first, second = replicas
    assert requests.put(first.url("/__mocksrv/scenario"), json=limited(5), timeout=10).ok
    assert requests.post(second.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10).status_code == 201
    assert requests.put(first.url("/__mocksrv/scenario"), json=limited(2), timeout=10).ok  # counters start again
    statuses = [requests.post(second.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10).status_code
                for _ in range(3)]
    assert statuses == [201, 201, 429]  # the new limit, and the first call's hit not counted twice
    assert [e["response"]["status"] for e in journal(first, method="POST", limit=4)] == [429, 201, 201, 201]


def test_a_proxied_request_on_a_changed_world_reaches_the_upstream_once(redis_server: RedisServer) -> None:
    """A request that goes on to an upstream is not run twice there when its replica finds the world changed."""
    upstream = MockServer("--specs", str(SPECS))
    base = next(a["base_url"] for a in requests.get(upstream.url("/__mocksrv/apis"), timeout=10).json()["apis"]
                if a["id"] == "maildiver")
    args = ("--specs", str(SPECS / "maildiver.yaml"), "--store", redis_server.url, "--upstream", f"maildiver={base}")
    first, second = MockServer(*args), MockServer(*args)
    try:
        assert requests.post(second.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10).status_code == 201
        assert requests.post(first.url("/__mocksrv/clock"), json={"advance_seconds": 60}, timeout=10).ok
        assert requests.post(second.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10).status_code == 201
        assert len(journal(upstream, method="POST")) == 2
    finally:
        for server in (first, second, upstream):
            server.stop()


def test_replicas_on_one_machine_share_a_redis_through_its_unix_socket(tmp_path: Path) -> None:
    """``--store unix:///PATH?db=N``: the same world as over TCP, without the loopback's TCP stack."""
    require_redis_server()
    short = Path(tempfile.mkdtemp(prefix="ms-redis-"))  # a socket's path must fit in 108 bytes
    socket_path = short / "redis.sock"
    server = RedisServer(tmp_path / "redis", "--unixsocket", str(socket_path), "--unixsocketperm", "700")
    args = ("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--store", f"unix://{socket_path}?db=0")
    first = second = None
    try:
        first, second = MockServer(*args), MockServer(*args)
        made = requests.post(first.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10)
        assert made.status_code == 201
        stored = requests.get(second.url(f"/__mocksrv/apis/maildiver/records/emails/{made.json()['id']}"), timeout=10)
        assert stored.status_code == 200 and stored.json()["subject"] == "Hi"
        assert [e["response"]["status"] for e in journal(second, method="POST")] == [201]
        with redis.Redis(port=server.port, decode_responses=True) as watcher:  # over TCP: the only one there
            addresses = [client["addr"] for client in watcher.client_list()]
        assert sum(address.startswith(str(socket_path)) for address in addresses) >= 2  # each replica's own
        assert sum(address.startswith("127.0.0.1:") for address in addresses) == 1
    finally:
        for replica in (first, second):
            if replica is not None:
                replica.stop()
        server.stop()
        shutil.rmtree(short, ignore_errors=True)
