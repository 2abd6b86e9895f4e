"""`mocksrv serve --workers N --store redis://…`: N processes on one port, one world; the parent
stops them all on SIGTERM; refusals are one line (docs/scale-out.md, "Workers and the throughput model").

Which worker answered is read from /proc, not from anything the server sends: the worker whose file
table holds the server end of a connection is the one that accepted it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import pytest
import requests

from conftest import FIXTURES
from conftest import ROOT
from conftest import SPECS
from conftest import MockServer
from conftest import RedisServer
from conftest import free_loopback_port

KEY = {"Authorization": "Bearer md_demo", "Content-Type": "application/json"}
SEND = {"from": "Team <team@example.com>", "to": "ada@example.com", "subject": "Hi", "html": "<p>Hi</p>"}
MAX_CONNECTIONS = 64  # SO_REUSEPORT spreads connections by hash: 64 all on one of 2 workers is 2 in 2^63


@pytest.fixture
def workers(redis_server: RedisServer) -> t.Iterator[MockServer]:
    server = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--store", redis_server.url,
                        "--workers", "2")
    try:
        assert requests.put(server.url("/__mocksrv/scenario"), json={"name": "default"}, timeout=10).ok  # fresh
        yield server
    finally:
        server.stop()


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (from /proc/*/stat)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # gone meanwhile
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def server_socket_inode(server_port: int, client_port: int) -> int:
    """The inode of the server end of the loopback connection from ``client_port`` (/proc/net/tcp)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(address.rpartition(":")[2], 16) for address in fields[1:3])
        if (local, remote) == (server_port, client_port):
            return int(fields[9])
    raise AssertionError(f"no server socket for the connection from port {client_port}")


def owner(inode: int, candidates: set[int]) -> int | None:
    """Which of ``candidates`` has the socket ``inode`` open."""
    wanted = f"socket:[{inode}]"
    for pid in candidates:
        for descriptor in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(descriptor) == wanted:
                    return pid
            except OSError:  # closed meanwhile
                continue
    return None


def call(connection: http.client.HTTPConnection, method: str, path: str,
         body: object = None) -> tuple[int, t.Any]:
    connection.request(method, path, body=None if body is None else json.dumps(body),
                       headers=KEY if body is not None else {})
    answer = connection.getresponse()
    data = answer.read()
    return answer.status, json.loads(data) if data else None


@contextlib.contextmanager
def connection_per_worker(server: MockServer, pids: set[int]) -> t.Iterator[list[http.client.HTTPConnection]]:
    """A keep-alive connection accepted by each worker (opened until every worker has one), closed after."""
    port = int(server.base_url.rsplit(":", 1)[1])
    pinned: dict[int, http.client.HTTPConnection] = {}
    with contextlib.ExitStack() as opened:
        for _ in range(MAX_CONNECTIONS):
            connection = opened.enter_context(contextlib.closing(
                http.client.HTTPConnection("127.0.0.1", port, timeout=10)))
            assert call(connection, "GET", "/__mocksrv/health")[0] == 200  # answered, so accepted
            assert connection.sock is not None
            accepted_by = owner(server_socket_inode(port, connection.sock.getsockname()[1]), pids)
            assert accepted_by is not None, "the connection's server end is in no worker"
            pinned.setdefault(accepted_by, connection)
            if len(pinned) == len(pids):
                yield list(pinned.values())
                return
        raise AssertionError(f"{MAX_CONNECTIONS} connections reached only the workers {sorted(pinned)} "
                             f"of {sorted(pids)}")


def test_both_workers_answer_and_share_one_world(workers: MockServer) -> None:
    assert workers.process is not None
    pids = children(workers.process.pid)
    assert len(pids) == 2
    with connection_per_worker(workers, pids) as (first, second):
        status, made = call(first, "POST", "/maildiver/v1/emails", SEND)
        assert status == 201
        record = f"/__mocksrv/apis/maildiver/records/emails/{made['id']}"
        status, stored = call(second, "GET", record)  # the other process reads it from the shared store
        assert status == 200 and stored["subject"] == "Hi"
        assert call(second, "POST", "/__mocksrv/reset")[0] == 200  # the admin API of either worker acts on all
        assert call(first, "GET", record)[0] == 404
        assert call(first, "PUT", "/__mocksrv/scenario", {"name": "maildiver_suppression"})[0] == 200
        assert call(second, "GET", "/__mocksrv/scenarios")[1]["current"] == "maildiver_suppression"


def test_sigterm_to_the_parent_stops_every_worker_and_exits_0(workers: MockServer) -> None:
    assert workers.process is not None
    pids = children(workers.process.pid)
    assert len(pids) == 2
    workers.process.send_signal(signal.SIGTERM)
    assert workers.process.wait(30) == 0
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    workers.stop()  # it has ended: this only waits for the rest of its output
    assert len([line for line in workers.lines if "draining in-flight requests" in line]) == 2  # each drained
    assert workers.lines[-1] == "mocksrv: stopped"
    assert sum(line == "mocksrv: stopped" for line in workers.lines) == 1


def test_a_worker_that_dies_is_one_line_and_the_others_stop(workers: MockServer) -> None:
    assert workers.process is not None
    dying, *others = sorted(children(workers.process.pid))
    os.kill(dying, signal.SIGKILL)
    assert workers.process.wait(30) == 1
    said = workers.log_line("worker ")
    assert said.startswith("mocksrv: worker ") and said.endswith(
        f"(pid {dying}) was killed by SIGKILL; stopping the other workers")
    assert not [pid for pid in others if Path(f"/proc/{pid}").exists()]
    workers.stop()  # it has ended: this only waits for the rest of its output
    assert len([line for line in workers.lines if "draining in-flight requests" in line]) == 1  # told, not killed


def own_database(redis_server: RedisServer) -> str:
    """A Redis database of the test's own: a server of one spec must not change the world the others share."""
    return redis_server.url.rpartition("/")[0] + "/3"


def test_no_worker_outlives_a_killed_parent(workers: MockServer) -> None:
    assert workers.process is not None
    pids = children(workers.process.pid)
    assert len(pids) == 2
    workers.process.kill()  # SIGKILL: the parent cannot pass anything on
    workers.process.wait(10)
    deadline = time.monotonic() + 20
    while [pid for pid in pids if Path(f"/proc/{pid}").exists()] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]  # they stopped (the kernel told them)


def test_https_next_to_http_in_every_worker(redis_server: RedisServer, tls_home: Path) -> None:
    server = MockServer("--specs", str(SPECS / "maildiver.yaml"), "--store", own_database(redis_server),
                        "--workers", "2", "--tls-port", "0")
    try:
        serving = next(line for line in server.lines if "serving 1 API on" in line)
        https_url = serving.split(" and ")[1].split(" ")[0]
        ca = str(tls_home / "ca.pem")
        assert requests.get(server.url("/__mocksrv/health"), timeout=10).status_code == 200
        for _ in range(8):  # new connections, spread over both workers
            assert requests.get(https_url + "/__mocksrv/health", verify=ca, timeout=10).status_code == 200
    finally:
        server.stop()
    assert server.process is not None and server.process.returncode == 0


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mocksrv", "serve", "--specs", str(SPECS / "maildiver.yaml"),
                           "--port", "0", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_workers_without_a_shared_store_are_refused_in_one_line() -> None:
    run = serve("--workers", "2")
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        "mocksrv: --workers 2 needs --store redis://HOST:PORT/DB: each worker process would hold a world of its "
        "own (records, rate limits, clock), and a client would see whichever its connection reached"]
    assert serve("--workers", "3", "--db", "state.jsonl").stderr.startswith("mocksrv: --workers 3 needs --store")


@pytest.mark.parametrize("count", ["0", "-1"])
def test_no_workers_is_refused_in_one_line(count: str) -> None:
    run = serve("--workers", count)
    assert (run.returncode, run.stderr.splitlines()) == (2, [f"mocksrv: --workers must be 1 or more; got {count}"])


def test_a_port_in_use_is_one_line(redis_server: RedisServer) -> None:
    port = free_loopback_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        run = subprocess.run([sys.executable, "-m", "mocksrv", "serve", "--specs", str(SPECS / "maildiver.yaml"),
                              "--port", str(port), "--store", own_database(redis_server), "--workers", "2"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stderr
    assert run.stderr.splitlines() == [f"mocksrv: cannot listen on 127.0.0.1:{port}: Address already in use"]
