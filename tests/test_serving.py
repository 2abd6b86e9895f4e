"""Serving under granian as a user sees it: latency holds no thread, one process holds the port,
and request bodies framed oddly (cut short, chunked) get a proper answer."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import requests

from conftest import FIXTURES
from conftest import SPECS
from conftest import MockServer
from conftest import raw_exchange

MAILDIVER_KEY = {"Authorization": "Bearer md_demo"}
SEND = {"from": "a@example.com", "to": "b@example.com", "subject": "Hi", "html": "<p>x</p>"}
MAXCARE_EMAIL = "/maxcare/v3/emails/eml_a7c3f1e28b4d4a9eb5c6d7e8f9012345"
MAXCARE_KEY = {"Authorization": "Bearer mk_live_demo", "X-Organization-Id": "org_demo"}
LATENCY = 1.5  # seconds of the injected fault
STEP = 0.05


def _timed_send(server: MockServer) -> tuple[int, float]:
    """One MailDiver send on its own connection: its status and how long it took."""
    started = time.monotonic()
    status = requests.post(server.url("/maildiver/v1/emails"), json=SEND, headers=MAILDIVER_KEY,
                           timeout=10).status_code
    return status, time.monotonic() - started


def _journaled(server: MockServer, api: str) -> int:
    response = requests.get(server.url("/__mocksrv/requests"), params={"api": api}, timeout=10)
    assert response.status_code == 200
    return len(response.json()["requests"])


def test_latency_on_one_api_does_not_slow_another_and_holds_no_thread() -> None:
    server = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES))
    try:
        fault = requests.post(server.url("/__mocksrv/faults"),
                              json={"api": "maildiver", "latency_ms": int(LATENCY * 1000)}, timeout=10)
        assert fault.status_code in (200, 201), fault.text
        answers: list[tuple[int, float]] = []
        slow = threading.Thread(target=lambda: answers.append(_timed_send(server)))
        slow.start()
        # the pipeline journals the request before the latency is awaited: then it is in flight
        deadline = time.monotonic() + 5
        while _journaled(server, "maildiver") < 1 and time.monotonic() < deadline:
            time.sleep(STEP)
        assert _journaled(server, "maildiver") == 1
        assert slow.is_alive()

        started = time.monotonic()
        other = requests.get(server.url(MAXCARE_EMAIL), headers=MAXCARE_KEY, timeout=10)
        took = time.monotonic() - started
        assert other.status_code == 200, other.text
        assert other.json()["data"]["id"] == "eml_a7c3f1e28b4d4a9eb5c6d7e8f9012345"
        assert took < 0.75, f"MaxCare waited {took:.2f} s behind MailDiver's latency"
        assert slow.is_alive()  # answered while the slow one was still waiting

        slow.join(10)
        assert not slow.is_alive()
        assert len(answers) == 1
        status, slow_took = answers[0]
        assert status == 201
        assert slow_took >= LATENCY - 0.1  # the fault did apply

        # many slow requests at once take about one latency, not one each: no thread sits in them
        count = 12
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=count) as pool:
            results = list(pool.map(lambda _: _timed_send(server), range(count)))
        elapsed = time.monotonic() - started
        assert [status for status, _ in results] == [201] * count
        assert all(took >= LATENCY - 0.1 for _, took in results), results
        assert elapsed < 2 * LATENCY, f"{count} requests with {LATENCY} s latency took {elapsed:.2f} s in all"
    finally:
        server.stop()


def _children(pid: int) -> list[int]:
    """The PIDs whose parent is ``pid`` (the kernel's list, else a scan of /proc)."""
    listed = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(child) for child in listed.read_text().split()]
    except OSError:
        pass
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, ...
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _refused(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def test_one_process_serves_and_nothing_outlives_a_kill() -> None:
    """No worker process: what holds the port and the state is the process the user started."""
    server = MockServer("--specs", str(SPECS))
    assert server.process is not None
    try:
        pid = server.process.pid
        parts = urlsplit(server.base_url)
        host, port = parts.hostname, parts.port
        assert host is not None and port is not None
        assert requests.get(server.url("/__mocksrv/health"), timeout=10).status_code == 200
        assert _children(pid) == [], f"mocksrv serve {pid} started child processes"

        os.kill(pid, signal.SIGKILL)  # the process this test started, by its PID
        server.process.wait(5)
        deadline = time.monotonic() + 5
        while not _refused(host, port) and time.monotonic() < deadline:
            time.sleep(STEP)
        assert _refused(host, port), f"{host}:{port} still accepts connections"
    finally:
        server.stop()


def _parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of one HTTP/1.1 response with a Content-Length."""
    head, separator, body = answer.partition(b"\r\n\r\n")
    assert separator, f"no complete response head: {answer[:300]!r}"
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = body[:int(headers["content-length"])]
    return int(status_line.split()[1]), headers, body


def _stored_sends(server: MockServer) -> int:
    response = requests.get(server.url("/__mocksrv/apis/maildiver/records/emails"), timeout=10)
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


def _send_head(extra: bytes) -> bytes:
    return (b"POST /maildiver/v1/emails HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer md_demo\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n" + extra + b"\r\n")


def test_a_json_body_cut_short_by_the_client_is_a_400_problem_and_nothing_is_stored(bundled: MockServer) -> None:
    body = json.dumps(SEND).encode()
    promised = len(body) + 200
    before = _stored_sends(bundled)
    answer = raw_exchange(bundled, _send_head(b"Content-Length: %d\r\n" % promised) + body, close_write=True)
    status, headers, payload = _parse(answer)
    assert status == 400, answer[:500]
    assert headers.get("content-type", "").startswith("application/problem+json"), headers
    problem = json.loads(payload)
    assert "Content-Length" in problem["detail"] and str(promised) in problem["detail"], problem
    assert _stored_sends(bundled) == before  # nothing stored from half a body
    assert requests.get(bundled.url("/__mocksrv/health"), timeout=10).status_code == 200


def test_a_chunked_json_body_is_accepted(bundled: MockServer) -> None:
    body = json.dumps(SEND).encode()
    middle = len(body) // 2
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:middle], body[middle:])) + b"0\r\n\r\n"
    before = _stored_sends(bundled)
    answer = raw_exchange(bundled, _send_head(b"Transfer-Encoding: chunked\r\n") + chunks)
    status, _, payload = _parse(answer)
    assert status == 201, answer[:500]
    assert "id" in json.loads(payload)
    assert _stored_sends(bundled) == before + 1


class _Headers(dict):  # type: ignore[type-arg]
    """RSGI's header mapping: ``get`` and ``items``."""


class _Scope:
    method, path, query_string, scheme, http_version = "POST", "/maildiver/v1/emails", "", "http", "1.1"
    server, client = "127.0.0.1:4010", "127.0.0.1:50000"
    headers = _Headers({"content-type": "application/json", "content-length": "2"})


class _Protocol:
    def __init__(self) -> None:
        self.sent: list[tuple[int, list[tuple[str, str]], bytes]] = []

    async def __call__(self) -> bytes:
        return b"{}"

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.sent.append((status, headers, body))


def test_a_bug_in_the_front_is_a_500_problem_not_a_bare_error() -> None:
    """Unit: whatever raises inside the RSGI app, the client gets problem+json and the server goes on."""
    import asyncio
    import json

    from mocksrv.serving.rsgi import RsgiApp

    class Broken:
        max_body_bytes = 1024

        def reply(self, environ: dict[str, object]) -> None:
            raise RuntimeError("boom")

    stopped: list[bool] = []
    front = RsgiApp(object(), Broken(), admin_threads=1, grace=1.0,  # type: ignore[arg-type]
                  on_listening=lambda: None, on_stop=lambda: stopped.append(True))
    protocol = _Protocol()

    async def one_request() -> None:
        front.__rsgi_init__(asyncio.get_running_loop())
        await front.__rsgi__(_Scope(), protocol)
        await front.stop()

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(one_request())
    finally:
        loop.close()
    [(status, headers, body)] = protocol.sent
    assert status == 500
    assert ("Content-Type", "application/problem+json") in headers
    assert "failed to answer" in json.loads(body)["detail"]
    assert front.in_flight == 0 and stopped == [True]


def test_one_front_behind_two_listeners_sets_up_once_and_says_serving_once() -> None:
    """`--tls-port`: granian calls __rsgi_init__ once per listener; the second must not replace the first's pool,
    and clients are told where to go only when the last listener is bound."""
    import asyncio

    from mocksrv.serving.rsgi import RsgiApp

    said: list[int] = []
    front = RsgiApp(object(), object(), admin_threads=1, grace=1.0, listeners=2,  # type: ignore[arg-type]
                    on_listening=lambda: said.append(front._started), on_stop=lambda: None)

    async def two_inits() -> None:
        loop = asyncio.get_running_loop()
        front.__rsgi_init__(loop)
        pool = front._admin
        await asyncio.sleep(0)
        assert said == []  # one listener of two: not yet
        front.__rsgi_init__(loop)
        assert front._admin is pool
        await asyncio.sleep(0)
        assert said == [2]
        await front.stop()

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(two_inits())
    finally:
        loop.close()
