"""The ``mocksrv`` pytest plugin: one mock server per test session, a clean state per test, and contract mode
that fails a test whose requests broke the spec. Loaded automatically (``pytest11`` entry point) once mocksrv is
installed; see docs/pytest-plugin.md.

Configuration (``pytest.ini``/``setup.cfg``/``pyproject.toml``; relative paths are taken from the ini file's folder)::

    [pytest]
    mocksrv_specs = ../../specs          # spec files or folders, one per line or space-separated
    mocksrv_fixtures = ../../fixtures    # folder of scenario files
    mocksrv_scenario = default           # scenario each test starts from
    mocksrv_args = --strict --seed 7     # passed to `mocksrv serve`
    mocksrv_contract = true              # fail tests that sent requests the spec rejects
    mocksrv_tls = true                   # serve HTTPS (`--tls`); the fixture's ``ca_file`` is the CA to trust

    mocksrv_url = http://127.0.0.1:4010  # attach to a server already running (or --mocksrv-url, MOCKSRV_URL)
    mocksrv_sessions = true              # a session of its own per test (false: reset the server's world)

The server starts the first time a test asks for the ``mocksrv`` fixture (never if none does) and stops at the
end of the pytest session; under pytest-xdist each worker starts its own. With ``mocksrv_url`` nothing is
started: the tests use that server, which many jobs can share. Each test gets a session of its own on the
server (docs/admin-api.md, "Sessions"): its own records, keys, rate-limit counters, rules, faults, journal and
clock, from the test's scenario, deleted after the test; nothing is reset, so tests in parallel never see each
other. With ``mocksrv_sessions = false`` each test resets the server's own world instead (one test at a time
per server). The fixture offers ``base_url(api)``,
``scenario(name_or_dict)``, ``records(api, collection)``, ``put_record(...)``, ``requests(**filters)``,
``fault(**spec)``, ``rule(**spec)``, ``clock.advance(seconds)``, ``subscribe(api, receiver, events, secret)``,
``deliveries(**filters)``, ``ca_file`` (with ``mocksrv_tls``) and the full :class:`MocksrvClient` as ``client``.
The ``webhook_receiver`` fixture is a loopback HTTP server the test owns: ``wait_for(count, event=…)`` waits for
webhooks, each ``verified(secret)`` checks its Standard Webhooks signature (docs/webhooks.md).

``@pytest.mark.mocksrv(scenario="rate_limited")`` starts a test from another scenario;
``@pytest.mark.mocksrv(contract=False)`` lets it send requests that break the spec on purpose.

Contract mode: after the test body runs, the journal is asked for the test's invalid requests (``valid: false``:
a body, parameter or content type the spec rejects). If there are any, a passing test is turned into a failure
listing each one (method, path, field, message); a test that failed anyway gets them as an extra report section.
"""

from __future__ import annotations

import os
import time
import typing as t
from datetime import datetime
from pathlib import Path

import pytest

from mocksrv.client import Clock
from mocksrv.client import MockServerProcess
from mocksrv.client import MocksrvClient
from mocksrv.client import MocksrvError
from mocksrv.receiver import WebhookReceiver

MARKER = "mocksrv"
USED = pytest.StashKey["Mocksrv"]()
START_SCENARIO = pytest.StashKey[str]()
# journal entries shown per failing test: enough to see the pattern, not a wall of text
SHOWN = 20


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("mocksrv").addoption(
        "--mocksrv-url", dest="mocksrv_url", default=None,
        help="use the mocksrv server running at this URL instead of starting one (also ini mocksrv_url, "
             "env MOCKSRV_URL; its admin token from MOCKSRV_ADMIN_TOKEN)")
    parser.addini("mocksrv_url", "mocksrv: the URL of a running server to use instead of starting one", default="")
    parser.addini("mocksrv_sessions", "mocksrv: a session of its own per test (false: reset the server's world)",
                  type="bool", default=True)
    parser.addini("mocksrv_specs", "mocksrv: spec files or folders to serve (default: ./specs)", type="paths")
    parser.addini("mocksrv_fixtures", "mocksrv: folder of scenario files", type="paths")
    parser.addini("mocksrv_scenario", "mocksrv: scenario each test starts from (default: default)", type="string",
                  default="")
    parser.addini("mocksrv_args", "mocksrv: extra `mocksrv serve` arguments", type="args")
    parser.addini("mocksrv_contract", "mocksrv: fail tests whose requests the spec rejects", type="bool",
                  default=True)
    parser.addini("mocksrv_tls", "mocksrv: serve HTTPS with the local CA's certificate (`mocksrv serve --tls`)",
                  type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(scenario=None, contract=True): start the test from another mocksrv scenario; "
        "contract=False lets it send requests that break the spec on purpose")


class Mocksrv:
    """What a test gets from the ``mocksrv`` fixture: the server of the session, reset for this test."""

    def __init__(self, client: MocksrvClient, contract: bool) -> None:
        self.client = client
        self.contract = contract
        # the root the test's APIs hang under: its session's /@<id> on the server (the server itself
        # without sessions); the server's own URL is ``server_url``
        self.url = client.root
        self.server_url = client.base_url
        # with mocksrv_tls: the local CA file to trust, e.g. requests.get(url, verify=mocksrv.ca_file); else None
        self.ca_file = client.ca_file

    @property
    def clock(self) -> Clock:
        return self.client.clock

    def base_url(self, api: str) -> str:
        return self.client.base_url_of(api)

    def scenario(self, name_or_fixture: str | t.Mapping[str, t.Any]) -> str:
        return self.client.scenario(name_or_fixture)

    def reset(self) -> str:
        return self.client.reset()

    def records(self, api: str, collection: str) -> list[dict[str, t.Any]]:
        return self.client.records(api, collection)

    def put_record(self, api: str, collection: str, record: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        return self.client.put_record(api, collection, record)

    def requests(self, **filters: t.Any) -> list[dict[str, t.Any]]:
        return self.client.requests(**filters)

    def fault(self, **spec: t.Any) -> int:
        return self.client.fault(**spec)

    def rule(self, **spec: t.Any) -> int:
        return self.client.rule(**spec)

    def now(self) -> datetime:
        return self.client.clock.now()

    def subscribe(self, api: str, receiver: WebhookReceiver | str, events: t.Sequence[str] | None = None,
                  secret: str | None = None, **faults: t.Any) -> dict[str, t.Any]:
        """Send the API's webhooks to ``receiver`` (the ``webhook_receiver`` fixture, or a URL)."""
        url = receiver.url if isinstance(receiver, WebhookReceiver) else receiver
        return self.client.subscribe(api, url, events, secret, **faults)

    def deliveries(self, at_least: int = 0, timeout: float = 5.0, **filters: t.Any) -> list[dict[str, t.Any]]:
        """The deliveries matching ``filters``; with ``at_least``, wait (up to ``timeout`` seconds) until
        that many match: a receiver has the request a moment before mocksrv has recorded its answer."""
        deadline = time.monotonic() + timeout
        found = self.client.deliveries(**filters)
        while len(found) < at_least and time.monotonic() < deadline:
            time.sleep(0.05)
            found = self.client.deliveries(**filters)
        return found

    def assert_no_drift(self, api: str) -> None:
        """Fail, naming each difference, when an answer of ``api``'s upstream broke its spec (docs/proxy.md)."""
        report = self.client.drift(api)
        lines = [f"  {name}: {d['kind']} x{d['count']} (e.g. {d['example']})"
                 for name, operation in report["operations"].items() for d in operation["differences"]]
        if lines:
            raise AssertionError(f"{api}'s upstream broke its spec in {report['nonconforming']} of "
                                 f"{report['answers']} answers:\n" + "\n".join(lines))

    def contract_violations(self) -> list[dict[str, t.Any]]:
        """This test's requests that the spec rejected, oldest first."""
        return list(reversed(self.client.requests(valid=False)))


def _ini_path(config: pytest.Config, name: str) -> list[Path]:
    return list(t.cast(list[Path], config.getini(name)))


class RunningServer:
    """A server started outside pytest (``mocksrv_url``): used, never stopped."""

    def __init__(self, url: str) -> None:
        self.base_url = url.rstrip("/")
        self.token = os.environ.get("MOCKSRV_ADMIN_TOKEN") or None

    @property
    def client(self) -> MocksrvClient:
        return MocksrvClient(self.base_url, token=self.token)


def _attach_url(config: pytest.Config) -> str:
    return str(config.getoption("mocksrv_url", None) or config.getini("mocksrv_url") or os.environ.get("MOCKSRV_URL")
               or "")


@pytest.fixture(scope="session")
def mocksrv_server(pytestconfig: pytest.Config) -> t.Iterator[MockServerProcess | RunningServer]:
    """The server the tests use: the one at ``mocksrv_url``, else a ``mocksrv serve`` process of this pytest
    session (of this worker, under pytest-xdist), started only when a test needs it."""
    url = _attach_url(pytestconfig)
    if url:
        attached = RunningServer(url)
        try:
            pytestconfig.stash[START_SCENARIO] = str(attached.client.scenarios()["current"])
        except MocksrvError as error:
            raise pytest.UsageError(f"mocksrv_url {url}: no mocksrv answers there ({error})") from None
        yield attached
        return
    fixtures = _ini_path(pytestconfig, "mocksrv_fixtures")
    args = [str(a) for a in t.cast(list[str], pytestconfig.getini("mocksrv_args"))]
    scenario = str(pytestconfig.getini("mocksrv_scenario") or "") or None
    server = MockServerProcess(specs=_ini_path(pytestconfig, "mocksrv_specs"),
                               fixtures=fixtures[0] if fixtures else None, scenario=scenario, args=args,
                               cwd=pytestconfig.rootpath, tls=bool(pytestconfig.getini("mocksrv_tls")))
    server.start()
    # what each test goes back to when neither a marker nor the ini names a scenario
    pytestconfig.stash[START_SCENARIO] = str(server.client.scenarios()["current"])
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mocksrv(request: pytest.FixtureRequest, mocksrv_server: MockServerProcess | RunningServer) -> t.Iterator[Mocksrv]:
    """A world of the test's own on the server (a session), or the server's world reset for it."""
    config = request.config
    options: dict[str, t.Any] = {}
    for marker in reversed(list(request.node.iter_markers(MARKER))):  # the closest marker wins
        options.update(marker.kwargs)
    unknown = set(options) - {"scenario", "contract"}
    if unknown:
        raise pytest.UsageError(f"@pytest.mark.mocksrv takes scenario= and contract=, not {sorted(unknown)}")
    server = mocksrv_server.client
    scenario = options.get("scenario") or str(config.getini("mocksrv_scenario") or "") or config.stash[START_SCENARIO]
    contract = bool(options.get("contract", config.getini("mocksrv_contract")))
    if not config.getini("mocksrv_sessions"):
        if str(server.scenarios()["current"]) != scenario:
            server.scenario(scenario)
        server.reset()
        handle = Mocksrv(server, contract)
        request.node.stash[USED] = handle
        yield handle
        return
    client = server.new_session(scenario=scenario)
    handle = Mocksrv(client, contract)
    request.node.stash[USED] = handle
    yield handle  # contract mode reads the session's journal when the call's report is made, before this ends
    client.end_session()


@pytest.fixture
def webhook_receiver() -> t.Iterator[WebhookReceiver]:
    """A loopback HTTP server of the test's own that keeps every webhook mocksrv sends it (`mocksrv.receiver`)."""
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> t.Generator[None, t.Any, t.Any]:
    """Contract mode: the call phase's report fails when the test sent requests the spec rejects."""
    report = t.cast(pytest.TestReport, (yield))
    handle = item.stash.get(USED, None)
    if call.when != "call" or handle is None or not handle.contract or report.skipped:
        return report
    try:
        violations = handle.contract_violations()
    except MocksrvError as error:
        violations = [{"method": "?", "path": "?", "errors": [{"message": f"could not read the journal: {error}"}]}]
    if not violations:
        return report
    text = describe(violations)
    if report.passed:
        report.outcome = "failed"
        report.longrepr = text
    else:
        report.sections.append(("mocksrv contract", text))
    return report


def describe(violations: list[dict[str, t.Any]]) -> str:
    """One block per invalid request: method, path, status answered, then each problem (location, field, message)."""
    lines = [f"mocksrv contract: {len(violations)} request(s) broke the spec "
             "(use @pytest.mark.mocksrv(contract=False) if that is the point of the test)"]
    for entry in violations[:SHOWN]:
        status = (entry.get("response") or {}).get("status", "?")
        lines.append(f"  {entry.get('method')} {entry.get('path')} -> {status}")
        for problem in entry.get("errors") or []:
            field, location = problem.get("field"), problem.get("location")
            where = f"{field} ({location})" if field and location else str(field or location or "")
            lines.append(f"    {where + ': ' if where else ''}{problem.get('message', '')}")
    if len(violations) > SHOWN:
        lines.append(f"  ... and {len(violations) - SHOWN} more")
    return "\n".join(lines)
