"""Shared test helpers: a real mocksrv process on a free loopback port, and spec-side checks."""

from __future__ import annotations

import copy
import json
import os
import re
import socket
import time
import typing as t
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from openapi_core import Config
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest
from openapi_core.contrib.requests import RequestsOpenAPIResponse

from mocksrv import Options
from mocksrv import create_app
from mocksrv.client import MockServerProcess

if t.TYPE_CHECKING:
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
FIXTURES = ROOT / "fixtures"
DATA = Path(__file__).resolve().parent / "data"
# openapi-core 0.23 reads a fixed list of JSON media types; the +json ones specs use too
JSON_TYPES = Config(extra_media_type_deserializers={
    media: lambda value, **_: json.loads(value)
    for media in ("application/problem+json", "application/hal+json", "application/merge-patch+json")})
SERVING = re.compile(r"serving \d+ APIs? on (https?://[^\s)]+)")


class MockServer(MockServerProcess):
    """``mocksrv serve`` on a free loopback port, started at once; stopped by its own PID only."""

    def __init__(self, *args: str, timeout: float = 30.0) -> None:
        super().__init__(args=list(args), cwd=ROOT, timeout=timeout)
        self.start()

    def url(self, path: str) -> str:
        return self.base_url + path

    def log_line(self, contains: str, timeout: float = 5.0) -> str:
        """The first log line containing ``contains``; stderr is read by a thread, so wait a little."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in self.lines if contains in line), None)
            if found is not None or time.monotonic() >= deadline:
                assert found is not None, f"no log line contains {contains!r}:\n" + "\n".join(self.lines[-20:])
                return found
            time.sleep(0.02)


def inline_client(folder: Path, name: str, document: str, **options: t.Any) -> t.Any:
    """``document`` written to ``folder/name.yaml`` (the file name is the API id) and served in this
    process: Flask's test client, with ``options`` (``strict=True`` …)."""
    spec = folder / f"{name}.yaml"
    spec.write_text(document)
    return create_app(Options(specs=[spec], **options)).test_client()


def raw_exchange(server: MockServer, data: bytes, *, close_write: bool = False) -> bytes:
    """Send bytes as they are (no client fixing the framing); the answer, read until it is complete
    (head and Content-Length body), the server closes, or 10 s pass.

    :param close_write: half-close after sending, as a client that stops sending mid-body does.
    """
    parts = urlsplit(server.base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(data)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while not _complete(received) and (chunk := sock.recv(65536)):
                received += chunk
        except TimeoutError:
            pass
        return received


def _complete(answer: bytes) -> bool:
    head, separator, body = answer.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    return bool(separator) and length is not None and len(body) >= int(length.group(1))


@pytest.fixture(scope="session", autouse=True)
def tls_home(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Path]:
    """Where every server of this session keeps its local CA (`serve --tls`): a temporary folder, never the
    user's data folder. Set before any server starts (autouse, session) and inherited by every child process."""
    folder = tmp_path_factory.mktemp("tls-home")
    before = os.environ.get("MOCKSRV_TLS_DIR")
    os.environ["MOCKSRV_TLS_DIR"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("MOCKSRV_TLS_DIR", None)
    else:
        os.environ["MOCKSRV_TLS_DIR"] = before


@pytest.fixture(scope="session")
def server() -> t.Iterator[MockServer]:
    """The bundled specs without fixtures (open mode, nothing stored), strict mode."""
    mock = MockServer("--specs", str(SPECS), "--strict")
    yield mock
    mock.stop()


@pytest.fixture(scope="module")
def module_server() -> t.Iterator[MockServer]:
    """A bundled, strict server of the test module's own: its tests may move the clock or switch scenarios."""
    mock = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--strict")
    yield mock
    mock.stop()


def restore(server: MockServer, scenario: str = "default") -> None:
    """Back to a scenario's records, counters, journal and clock."""
    assert requests.put(server.url("/__mocksrv/scenario"), json={"name": scenario}, timeout=10).status_code == 200
    assert requests.post(server.url("/__mocksrv/reset"), timeout=10).status_code == 200


@pytest.fixture(scope="session")
def bundled() -> t.Iterator[MockServer]:
    """What `make run` serves: the bundled specs with the default scenario, strict mode."""
    mock = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--strict")
    yield mock
    mock.stop()


class SpecChecker:
    """Validates real HTTP exchanges with openapi-core, independently of mocksrv's own code."""

    def __init__(self, spec_file: Path, base_url: str) -> None:
        document = yaml.safe_load(spec_file.read_text())
        self.document = document
        servers = document.get("servers") or [{"url": "/"}]
        server_url = servers[0]["url"]
        for name, variable in (servers[0].get("variables") or {}).items():
            server_url = server_url.replace("{" + name + "}", str(variable.get("default", "")))
        base_path = re.sub(r"^[a-z]+://[^/]+|^//[^/]+", "", server_url).rstrip("/")
        mounted = copy.deepcopy(document)
        mounted["servers"] = [{"url": f"{base_url}/{spec_file.stem}{base_path}"}]
        self.openapi = OpenAPI.from_dict(mounted, base_uri=spec_file.resolve().as_uri(), config=JSON_TYPES)
        self.prefix = f"{base_url}/{spec_file.stem}{base_path}"

    def response_errors(self, response: requests.Response) -> list[str]:
        prepared = response.request
        request = RequestsOpenAPIRequest(prepared)  # type: ignore[arg-type]
        result = self.openapi.unmarshal_response(request, RequestsOpenAPIResponse(response))
        return [f"{e!r}: {getattr(e, '__cause__', '')}" for e in result.errors]

    def assert_valid(self, response: requests.Response) -> None:
        errors = self.response_errors(response)
        assert not errors, f"{response.status_code} {response.text[:500]} -> {errors}"


@pytest.fixture(scope="session")
def checkers(server: MockServer) -> dict[str, SpecChecker]:
    return {path.stem: SpecChecker(path, server.base_url) for path in sorted(SPECS.glob("*.yaml"))}


@pytest.fixture(scope="session")
def bundled_checkers(bundled: MockServer) -> dict[str, SpecChecker]:
    return {path.stem: SpecChecker(path, bundled.base_url) for path in sorted(SPECS.glob("*.yaml"))}


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> t.Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("MOCKSRV_REQUIRE_BROWSER"):  # CI sets it: a missing browser must fail, not skip
            pytest.fail("MOCKSRV_REQUIRE_BROWSER is set but /usr/bin/chromium is missing")
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


REDIS_SERVER = Path("/usr/bin/redis-server")


def free_loopback_port() -> int:
    """A loopback port nothing listens on now (what a test binds next, or leaves unbound on purpose)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def require_redis_server() -> None:
    """Skip the test when Debian's redis-server is not installed; fail it where CI says it must be."""
    if not REDIS_SERVER.exists():
        if os.environ.get("MOCKSRV_REQUIRE_REDIS"):  # CI sets it: a missing server must fail, not skip
            pytest.fail("MOCKSRV_REQUIRE_REDIS is set but /usr/bin/redis-server is missing")
        pytest.skip("needs Debian's redis-server (apt-get install -y redis-server; .ci/run does)")


class RedisServer:
    """Debian's redis-server on a free loopback port with a folder of its own; stopped by its PID."""

    def __init__(self, folder: Path, *extra: str, port: int | None = None) -> None:
        import subprocess

        self.port = port or free_loopback_port()
        self.folder = folder
        self.extra = extra
        folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(folder),
             "--save", "", "--appendonly", "no", "--protected-mode", "yes", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                assert time.monotonic() < deadline and self.process.poll() is None, "redis-server did not start"
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        from mocksrv.client import stop_process

        stop_process(self.process)

    def kill(self) -> None:
        """SIGKILL to its PID: no shutdown save, no last AOF flush, as in a crash."""
        self.process.kill()
        self.process.wait(10)

    def restarted(self) -> RedisServer:
        """A new redis-server on the same folder, port and options: it loads what the last one left on disk."""
        return RedisServer(self.folder, *self.extra, port=self.port)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[RedisServer]:
    require_redis_server()
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()
