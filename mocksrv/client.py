"""A small client for the admin API (docs/admin-api.md) and a ``mocksrv serve`` child process, for test suites
and scripts that drive a mock from Python.

Only the standard library is used (``urllib.request``), so a project that imports this needs no new dependency::

    with MockServerProcess(specs=["specs"], fixtures="fixtures") as server:
        mock = server.client
        mock.scenario("rate_limited")
        fault_id = mock.fault(api="maildiver", status=503, times=1)
        mock.clock.advance(60)
        invalid = mock.requests(valid=False)

Every admin error raises :class:`MocksrvError` with the status and the problem's ``detail`` and ``errors``.

``MockServerProcess(..., tls=True)`` serves HTTPS with the local CA's certificate; ``server.ca_file`` is the CA
file to trust (``requests.get(url, verify=server.ca_file)``), and ``server.client`` trusts it already.
"""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import sys
import threading
import typing as t
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path
from types import TracebackType

SERVING = re.compile(r"serving \d+ APIs? on (https?://[^\s)]+)")
LOCAL_CA = re.compile(r"signed by the local CA (.+)$")  # `serve --tls` says so before it listens
ADMIN = "/__mocksrv"
# The journal's query parameters (docs/admin-api.md), with snake_case spellings accepted for Python callers
REQUEST_FILTERS = {"api": "api", "operationId": "operationId", "operation_id": "operationId", "method": "method",
                   "path": "path", "status": "status", "valid": "valid", "since": "since", "limit": "limit"}


class MocksrvError(Exception):
    """An admin call that was not answered 2xx (or not answered at all: ``status`` 0)."""

    def __init__(self, status: int, detail: str, errors: list[str] | None = None, body: t.Any = None) -> None:
        self.status = status
        self.detail = detail
        self.errors = list(errors or [])
        self.body = body
        lines = [f"mocksrv admin API: {status} {detail}".rstrip(), *(f"  {e}" for e in self.errors)]
        super().__init__("\n".join(lines))


class Clock:
    """The server's virtual clock: every time-dependent behaviour (rate limits, delivery, bulk sends) reads it."""

    def __init__(self, client: MocksrvClient) -> None:
        self._client = client

    def state(self) -> dict[str, t.Any]:
        """``{"now": ISO 8601, "epoch": seconds, "frozen": bool}``."""
        return t.cast(dict[str, t.Any], self._client.call("GET", "/clock"))

    def now(self) -> datetime:
        return datetime.fromisoformat(str(self.state()["now"]).replace("Z", "+00:00"))

    def advance(self, seconds: float) -> datetime:
        return self._move({"advance_seconds": seconds})

    def set(self, iso: str | datetime) -> datetime:
        """Jump to a time; a naive datetime or a string without a time zone is refused by the server."""
        return self._move({"set": iso.isoformat() if isinstance(iso, datetime) else iso})

    def freeze(self) -> datetime:
        return self._move({"frozen": True})

    def unfreeze(self) -> datetime:
        return self._move({"frozen": False})

    def _move(self, change: dict[str, t.Any]) -> datetime:
        moved = self._client.call("POST", "/clock", change)
        return datetime.fromisoformat(str(moved["now"]).replace("Z", "+00:00"))


class MocksrvClient:
    """The admin API of one running mocksrv, e.g. ``MocksrvClient("http://127.0.0.1:4010")``."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10.0,
                 ca_file: str | Path | None = None, session: str | None = None) -> None:
        """:param ca_file: a CA to trust for an ``https://`` server besides the system's (`serve --tls` prints it).
        :param session: act on this session's world (`new_session`) instead of the server's own."""
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.session = session
        self.ca_file = str(ca_file) if ca_file is not None else None
        self._tls = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        self.clock = Clock(self)
        self._mounts: dict[str, str] = {}

    def call(self, method: str, path: str, body: t.Any = None, query: dict[str, t.Any] | None = None, *,
             server: bool = False) -> t.Any:
        """One admin call (of this client's session, unless ``server``); the decoded JSON answer (None for 204)."""
        scope = f"/sessions/{_segment(self.session)}" if self.session and not server else ""
        url = self.base_url + ADMIN + scope + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        # the scheme is checked in __init__: only http(s) is ever opened
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self._tls) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise _error_from(error.code, error.read()) from None
        except (urllib.error.URLError, OSError) as error:
            raise MocksrvError(0, f"{method} {url} failed: {error}") from error
        return json.loads(raw) if raw else None

    # -- sessions: isolated worlds in the same server (docs/admin-api.md, "Sessions")

    def new_session(self, scenario: str | None = None, fixture: t.Mapping[str, t.Any] | None = None,
                    session_id: str | None = None) -> MocksrvClient:
        """A client of a new session of this server (the server's default scenario unless ``scenario`` or an
        inline ``fixture`` says otherwise)."""
        body = {k: v for k, v in (("scenario", scenario), ("fixture", fixture), ("id", session_id)) if v is not None}
        made = self.call("POST", "/sessions", body, server=True)
        return MocksrvClient(self.base_url, self.token, self.timeout, self.ca_file, session=str(made["id"]))

    def end_session(self) -> None:
        """Delete this client's session (its records, journal and counters go with it)."""
        if self.session:
            self.call("DELETE", f"/sessions/{_segment(self.session)}", server=True)

    @property
    def root(self) -> str:
        """Where this client's APIs are mounted under: the server, or the session's ``/@<id>`` on it."""
        return f"{self.base_url}/@{self.session}" if self.session else self.base_url

    # -- what is served

    def health(self) -> dict[str, t.Any]:
        return t.cast(dict[str, t.Any], self.call("GET", "/health"))

    def apis(self) -> list[dict[str, t.Any]]:
        """Each mounted API: ``id``, ``title``, ``base_url``, ``operations``, ..."""
        return t.cast(list[dict[str, t.Any]], self.call("GET", "/apis")["apis"])

    def base_url_of(self, api_id: str) -> str:
        """Where an API is mounted, e.g. ``http://127.0.0.1:4010/maxcare/v3``."""
        if api_id not in self._mounts:  # mounts never change while a server runs
            self._mounts = {api["id"]: api["base_url"] for api in self.apis()}
        if api_id not in self._mounts:
            raise MocksrvError(404, f"no API {api_id!r} (known: {', '.join(sorted(self._mounts))})")
        return self._mounts[api_id]

    # -- state

    def reset(self) -> str:
        """Back to the scenario's records, counters, rules, clock; empty journal, no faults. The scenario's name."""
        return str(self.call("POST", "/reset")["scenario"])

    def scenarios(self) -> dict[str, t.Any]:
        return t.cast(dict[str, t.Any], self.call("GET", "/scenarios"))

    def scenario(self, name_or_fixture: str | t.Mapping[str, t.Any], name: str | None = None) -> str:
        """Switch to a bundled scenario by name, or load one given in the fixture format (docs/fixtures.md) under
        ``name`` (generated when not given). The name of the scenario now in force."""
        if isinstance(name_or_fixture, str):
            body: dict[str, t.Any] = {"name": name_or_fixture}
        else:
            body = {"name": name or f"inline-{uuid.uuid4().hex[:12]}", "fixture": dict(name_or_fixture)}
        return str(self.call("PUT", "/scenario", body)["scenario"])

    def records(self, api: str, collection: str, limit: int | None = None,
                offset: int | None = None) -> list[dict[str, t.Any]]:
        path = f"/apis/{_segment(api)}/records/{_segment(collection)}"
        answer = self.call("GET", path, query={"limit": limit, "offset": offset})
        return t.cast(list[dict[str, t.Any]], answer["records"])

    def record(self, api: str, collection: str, record_id: str | int) -> dict[str, t.Any]:
        path = f"/apis/{_segment(api)}/records/{_segment(collection)}/{_segment(str(record_id))}"
        return t.cast(dict[str, t.Any], self.call("GET", path))

    def put_record(self, api: str, collection: str, record: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        """Store or replace one record (it needs the collection's id field)."""
        path = f"/apis/{_segment(api)}/records/{_segment(collection)}"
        return t.cast(dict[str, t.Any], self.call("POST", path, dict(record)))

    def delete_record(self, api: str, collection: str, record_id: str | int) -> None:
        self.call("DELETE", f"/apis/{_segment(api)}/records/{_segment(collection)}/{_segment(str(record_id))}")

    # -- request journal

    def requests(self, **filters: t.Any) -> list[dict[str, t.Any]]:
        """Journal entries, newest first; filters: api, operationId, method, path, status, valid, since, limit."""
        unknown = set(filters) - set(REQUEST_FILTERS)
        if unknown:
            raise TypeError(f"unknown journal filter(s) {sorted(unknown)}; use {sorted(set(REQUEST_FILTERS.values()))}")
        query = {REQUEST_FILTERS[k]: (str(v).lower() if isinstance(v, bool) else v) for k, v in filters.items()}
        return t.cast(list[dict[str, t.Any]], self.call("GET", "/requests", query=query)["requests"])

    def clear_requests(self) -> None:
        self.call("DELETE", "/requests")

    # -- faults and rules

    def fault(self, **spec: t.Any) -> int:
        """``api``, ``operationId``, ``latency_ms`` (ms or ``{"min", "max"}``), ``status``, ``drop``, ``times``;
        the new fault's id."""
        return int(self.call("POST", "/faults", _operation_id(spec))["id"])

    def faults(self) -> list[dict[str, t.Any]]:
        return t.cast(list[dict[str, t.Any]], self.call("GET", "/faults")["faults"])

    def remove_fault(self, fault_id: int) -> None:
        self.call("DELETE", f"/faults/{int(fault_id)}")

    def clear_faults(self) -> None:
        self.call("DELETE", "/faults")

    def rule(self, **spec: t.Any) -> int:
        """``api``, ``operation``, ``match``, ``then``, ``times`` (docs/admin-api.md); the new rule's id."""
        return int(self.call("POST", "/rules", spec)["id"])

    def drift(self, api: str) -> dict[str, t.Any]:
        """With ``--upstream``: how the real API's answers differ from its spec, per operation (docs/proxy.md)."""
        return t.cast(dict[str, t.Any], self.call("GET", f"/apis/{_segment(api)}/drift"))

    # -- webhooks (docs/webhooks.md)

    def subscribe(self, api: str, url: str, events: t.Sequence[str] | None = None, secret: str | None = None,
                  **faults: t.Any) -> dict[str, t.Any]:
        """Subscribe ``url`` to the API's webhooks (``events``: all when None); ``delay_seconds``, ``drop``
        as faults. The subscription, with its id and secret."""
        body = {"url": url, "events": list(events) if events is not None else None, "secret": secret, **faults}
        return t.cast(dict[str, t.Any], self.call("POST", f"/apis/{_segment(api)}/webhooks", body))

    def webhooks(self, api: str) -> list[dict[str, t.Any]]:
        return t.cast(list[dict[str, t.Any]], self.call("GET", f"/apis/{_segment(api)}/webhooks")["webhooks"])

    def unsubscribe(self, api: str, subscription_id: str) -> None:
        self.call("DELETE", f"/apis/{_segment(api)}/webhooks/{_segment(subscription_id)}")

    def fire(self, api: str, event: str, payload: t.Any = None, delay_seconds: float | None = None
             ) -> list[dict[str, t.Any]]:
        """Emit one event now (or after ``delay_seconds`` on the clock); the deliveries it made."""
        body: dict[str, t.Any] = {"event": event}
        if payload is not None:
            body["payload"] = payload
        if delay_seconds is not None:
            body["delay_seconds"] = delay_seconds
        return t.cast(list[dict[str, t.Any]],
                      self.call("POST", f"/apis/{_segment(api)}/webhooks/events", body)["deliveries"])

    def deliveries(self, **filters: t.Any) -> list[dict[str, t.Any]]:
        """Webhook and callback deliveries, newest first; filters: api, state, event."""
        return t.cast(list[dict[str, t.Any]], self.call("GET", "/webhooks/deliveries", query=filters)["deliveries"])

    def rules(self) -> list[dict[str, t.Any]]:
        return t.cast(list[dict[str, t.Any]], self.call("GET", "/rules")["rules"])

    def remove_rule(self, rule_id: int) -> None:
        self.call("DELETE", f"/rules/{int(rule_id)}")


class MockServerProcess:
    """``mocksrv serve`` as a child process on a free loopback port; stopped by its own PID only.

    ``specs`` and ``fixtures`` are paths (relative ones to ``cwd``); ``args`` are passed through
    (``["--strict", "--seed", "7"]``). ``tls=True`` serves HTTPS (``--tls``): ``base_url`` is ``https://…`` and
    ``ca_file`` the local CA that signed the certificate (the folder: ``--tls-dir`` in ``args``, else
    ``MOCKSRV_TLS_DIR``, else the user's data folder). Usable as a context manager.
    """

    def __init__(self, specs: t.Sequence[str | Path] = (), fixtures: str | Path | None = None,
                 scenario: str | None = None, args: t.Sequence[str] = (), *, cwd: str | Path | None = None,
                 token: str | None = None, python: str = sys.executable, timeout: float = 30.0,
                 tls: bool = False) -> None:
        self.command = [python, "-m", "mocksrv", "serve", "--host", "127.0.0.1", "--port", "0"]
        for spec in specs:
            self.command += ["--specs", str(spec)]
        if fixtures is not None:
            self.command += ["--fixtures", str(fixtures)]
        if scenario:
            self.command += ["--scenario", scenario]
        if token:
            self.command += ["--admin-token", token]
        if tls:
            self.command += ["--tls"]
        self.command += list(args)
        self.cwd = cwd
        self.token = token
        self.timeout = timeout
        self.lines: list[str] = []
        self.base_url = ""
        self.ca_file: str | None = None  # the local CA to trust, once a --tls server has said which
        self.process: subprocess.Popen[str] | None = None
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None

    @property
    def client(self) -> MocksrvClient:
        if not self.base_url:
            raise RuntimeError("the server is not running; call start() first")
        return MocksrvClient(self.base_url, token=self.token, ca_file=self.ca_file)

    def start(self) -> MockServerProcess:
        if self.process is not None:
            return self
        self.process = subprocess.Popen(self.command, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # the stderr pipe must keep being read, or a chatty server blocks once the pipe buffer is full
        self._reader = threading.Thread(target=self._drain, name="mocksrv-stderr", daemon=True)
        self._reader.start()
        if not self._ready.wait(self.timeout) or not self.base_url:
            self.stop()
            raise RuntimeError(f"mocksrv did not start ({' '.join(self.command)}):\n" + "\n".join(self.lines[-30:]))
        return self

    def _drain(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            ca = LOCAL_CA.search(line.rstrip("\n"))
            if ca and not self.ca_file:
                self.ca_file = ca.group(1)
            found = SERVING.search(line)
            if found and not self.base_url:
                self.base_url = found.group(1)
                self._ready.set()
        self._ready.set()  # the process ended: start() stops waiting

    def stop(self, timeout: float = 10.0) -> None:
        process = self.process
        if process is None:
            return
        stop_process(process, timeout)
        if self._reader is not None:
            self._reader.join(timeout)
        if process.stderr is not None:
            process.stderr.close()

    def __enter__(self) -> MockServerProcess:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _operation_id(spec: dict[str, t.Any]) -> dict[str, t.Any]:
    """``operation_id=`` is the Python spelling of the admin API's ``operationId``."""
    if "operation_id" in spec:
        spec = {**{k: v for k, v in spec.items() if k != "operation_id"}, "operationId": spec["operation_id"]}
    return spec


def _error_from(status: int, raw: bytes) -> MocksrvError:
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    if isinstance(body, dict):
        errors = body.get("errors")
        return MocksrvError(status, str(body.get("detail") or body.get("title") or ""),
                            [str(e) for e in errors] if isinstance(errors, list) else None, body)
    return MocksrvError(status, str(body or ""), None, body)


def stop_process(process: subprocess.Popen[t.Any], timeout: float = 10.0) -> None:
    """SIGTERM to this PID (a process we started), SIGKILL if it is still there after ``timeout``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
