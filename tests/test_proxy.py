"""The validating proxy over real HTTP: a mocksrv in front of an upstream (another mocksrv standing in
for the vendor's sandbox, or a deliberately wrong server of the test's own), checking both sides
(docs/proxy.md)."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import typing as t
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from conftest import ROOT
from conftest import SPECS
from conftest import MockServer
from conftest import free_loopback_port

MAILDIVER = SPECS / "maildiver.yaml"
KEY = {"Authorization": "Bearer md_demo"}
SEND = {"from": "Team <team@example.com>", "to": "ada@example.com", "subject": "Hi", "html": "<p>Hi</p>"}


def base_url(server: MockServer, api: str) -> str:
    apis = requests.get(server.url("/__mocksrv/apis"), timeout=10).json()["apis"]
    return str(next(a["base_url"] for a in apis if a["id"] == api))


def journal(server: MockServer, **filters: t.Any) -> list[dict[str, t.Any]]:
    return t.cast(list[dict[str, t.Any]],
                  requests.get(server.url("/__mocksrv/requests"), params=filters, timeout=10).json()["requests"])


@pytest.fixture(scope="module")
def sandbox() -> t.Iterator[MockServer]:
    """The "real" API: a mocksrv of its own, with the bundled scenario's keys."""
    server = MockServer("--specs", str(SPECS), "--strict")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def front(sandbox: MockServer) -> t.Iterator[MockServer]:
    server = MockServer("--specs", str(MAILDIVER), "--upstream", f"maildiver={base_url(sandbox, 'maildiver')}")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh(request: pytest.FixtureRequest) -> None:
    for name in ("sandbox", "front"):
        if name in request.fixturenames:
            server = request.getfixturevalue(name)
            assert requests.post(server.url("/__mocksrv/reset"), timeout=10).status_code == 200


def test_a_valid_request_goes_to_the_upstream_and_its_answer_comes_back(sandbox: MockServer,
                                                                          front: MockServer) -> None:
    sent = requests.post(front.url("/maildiver/v1/emails?dry=1"), json=SEND, headers={**KEY, "X-Trace": "t-1"},
                         timeout=10)
    assert sent.status_code == 201, sent.text
    [arrived] = journal(sandbox, api="maildiver")
    assert arrived["body"] == SEND and arrived["query"] == {"dry": ["1"]}  # body and query as sent
    assert arrived["headers"]["X-Trace"] == "t-1" and arrived["headers"]["Authorization"].startswith("Bearer")
    assert sent.json() == arrived["response"]["body"]  # the upstream's answer, as it gave it
    entry = journal(front, method="POST")[0]
    assert entry["valid"] is True
    assert entry["upstream"]["forwarded"] and entry["upstream"]["status"] == 201 and entry["upstream"]["conforms"]
    assert entry["upstream"]["url"] == base_url(sandbox, "maildiver") + "/emails?dry=1"


def test_forward_mode_sends_an_invalid_request_on_and_says_so(sandbox: MockServer, front: MockServer) -> None:
    answer = requests.post(front.url("/maildiver/v1/emails"), json={**SEND, "to": 7}, headers=KEY, timeout=10)
    assert answer.status_code == 400  # the upstream's own refusal
    assert journal(sandbox, api="maildiver")[0]["valid"] is False  # it got there
    entry = journal(front)[0]
    assert entry["valid"] is False and entry["errors"] and entry["upstream"]["status"] == 400


def test_enforce_mode_answers_an_invalid_request_itself(sandbox: MockServer) -> None:
    strict = MockServer("--specs", str(MAILDIVER), "--upstream", f"maildiver={base_url(sandbox, 'maildiver')}",
                        "--upstream-mode", "enforce")
    try:
        answer = requests.post(strict.url("/maildiver/v1/emails"), json={**SEND, "to": 7}, headers=KEY, timeout=10)
        assert answer.status_code == 400 and "to" in answer.text
        assert journal(sandbox, api="maildiver") == []  # it never left
        refused = journal(strict)[0]
        assert refused["valid"] is False and refused["upstream"]["forwarded"] is False
        good = requests.post(strict.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10)
        assert good.status_code == 201 and len(journal(sandbox, api="maildiver")) == 1
    finally:
        strict.stop()


THINGS = """
openapi: 3.0.3
info: {title: Things, version: "1"}
paths:
  /things/{id}:
    get:
      operationId: getThing
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: one thing
          headers: {X-Rate: {required: true, schema: {type: integer}}}
          content:
            application/json:
              schema:
                type: object
                additionalProperties: false
                required: [id]
                properties: {id: {type: string}, size: {type: integer}}
        "404":
          description: none
          content: {application/json: {schema: {type: object, properties: {message: {type: string}}}}}
        "502":
          description: the upstream failed
          content: {application/json: {schema: {type: object, properties: {message: {type: string}}}}}
        "504":
          description: the upstream was too slow
          content: {application/json: {schema: {type: object, properties: {message: {type: string}}}}}
"""

# what the wrong upstream answers per thing id: status, headers, body
WRONG: dict[str, tuple[int, dict[str, str], bytes]] = {
    "ok": (200, {"X-Rate": "5"}, b'{"id": "ok", "size": 1}'),
    "no-id": (200, {"X-Rate": "5"}, b'{"size": "big"}'),  # a required field missing, a wrong type
    "extra": (200, {"X-Rate": "5"}, b'{"id": "extra", "colour": "red"}'),  # a field the spec closes out
    "teapot": (418, {}, b'{"message": "short and stout"}'),  # a status the spec does not have
    "no-header": (200, {}, b'{"id": "no-header"}'),  # a required header missing
}


class WrongUpstream:
    """An HTTP server on a free loopback port answering `WRONG`, and ``slow`` after two seconds."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.rsplit("/", 1)[-1]
                if name == "slow":
                    time.sleep(2)
                status, headers, body = WRONG.get(name, (404, {}, b'{"message": "none"}'))
                self.send_response(status)
                for header, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(header, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: t.Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/v2"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def wrong(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[tuple[MockServer, WrongUpstream]]:
    spec = tmp_path_factory.mktemp("things") / "things.yaml"
    spec.write_text(THINGS)
    upstream = WrongUpstream()
    server = MockServer("--specs", str(spec), "--upstream", f"things={upstream.url}", "--upstream-timeout", "0.5")
    yield server, upstream
    server.stop()
    upstream.stop()


def test_answers_that_break_the_spec_are_passed_on_unchanged_and_counted_as_drift(
        wrong: tuple[MockServer, WrongUpstream]) -> None:
    server, _ = wrong
    requests.post(server.url("/__mocksrv/reset"), timeout=10)
    for name in ("ok", "ok", "no-id", "extra", "teapot", "no-header", "missing"):
        answer = requests.get(server.url(f"/things/things/{name}"), timeout=10)
        status, _, body = WRONG.get(name, (404, {}, b'{"message": "none"}'))
        assert answer.status_code == status and answer.content == body  # never rewritten
    report = requests.get(server.url("/__mocksrv/apis/things/drift"), timeout=10).json()
    assert report["upstream"] == wrong[1].url and report["answers"] == 7 and report["nonconforming"] == 4
    operation = report["operations"]["getThing"]
    assert operation["statuses"] == {"200": 5, "404": 1, "418": 1}
    kinds = {d["kind"]: d for d in operation["differences"]}
    assert set(kinds) == {"missing required field", "wrong type", "undeclared field", "undocumented status",
                          "missing required header"}
    assert kinds["missing required field"]["count"] == 1 and "id" in kinds["missing required field"]["example"]
    assert kinds["undocumented status"]["status"] == 418
    entry = journal(server, path="/things/things/teapot")[0]
    assert entry["upstream"]["conforms"] is False and entry["upstream"]["problems"]


def test_an_upstream_too_slow_or_gone_is_a_504_or_502_in_the_api_s_format(
        wrong: tuple[MockServer, WrongUpstream], tmp_path: Path) -> None:
    server, _ = wrong
    slow = requests.get(server.url("/things/things/slow"), timeout=10)
    assert slow.status_code == 504 and "did not answer within 0.5 s" in slow.json()["message"]
    spec = tmp_path / "things.yaml"
    spec.write_text(THINGS)
    gone = MockServer("--specs", str(spec), "--upstream", f"things=http://127.0.0.1:{free_loopback_port()}")
    try:
        answer = requests.get(gone.url("/things/things/ok"), timeout=10)
        assert answer.status_code == 502 and "connection refused" in answer.json()["message"]
        assert journal(gone)[0]["upstream"]["forwarded"] is False
    finally:
        gone.stop()



@pytest.mark.parametrize("flag, says", [
    ("nope=http://127.0.0.1:9", "--upstream names no API served here: nope"),
    ("maildiver", "--upstream 'maildiver': write API=URL"),
    ("maildiver=ftp://x", "upstream 'ftp://x' is not an http(s) URL with a host"),
])
def test_a_wrong_upstream_flag_is_one_line(flag: str, says: str) -> None:
    done = subprocess.run([sys.executable, "-m", "mocksrv", "serve", "--specs", str(MAILDIVER), "--port", "0",
                           "--upstream", flag], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_call_the_spec_lacks_goes_on_in_forward_mode_and_is_drift(sandbox: MockServer, front: MockServer) -> None:
    """The real API may have it: the app keeps working, the journal and the drift report say it."""
    answer = requests.get(front.url("/maildiver/v1/emails/e1"), headers=KEY, timeout=10)
    assert answer.status_code == 404 and "no operation of API" in answer.text  # the sandbox's own answer
    assert journal(sandbox, api="maildiver")[0]["path"] == "/maildiver/v1/emails/e1"
    entry = journal(front)[0]
    assert entry["valid"] is False and entry["upstream"]["forwarded"] is True
    [difference] = requests.get(front.url("/__mocksrv/apis/maildiver/drift"), timeout=10).json()[
        "operations"]["(no operation)"]["differences"]
    assert difference["kind"] == "undeclared operation"


def test_a_reset_empties_the_drift_report(front: MockServer) -> None:
    requests.post(front.url("/maildiver/v1/emails"), json=SEND, headers=KEY, timeout=10)
    assert requests.get(front.url("/__mocksrv/apis/maildiver/drift"), timeout=10).json()["answers"] == 1
    requests.post(front.url("/__mocksrv/reset"), timeout=10)
    report = requests.get(front.url("/__mocksrv/apis/maildiver/drift"), timeout=10).json()
    assert report["answers"] == 0 and report["operations"] == {}


def test_the_console_marks_both_sides_and_shows_the_drift(wrong: tuple[MockServer, WrongUpstream],
                                                          browser: t.Any) -> None:
    from playwright.sync_api import expect

    server, upstream = wrong
    requests.post(server.url("/__mocksrv/reset"), timeout=10)
    requests.get(server.url("/things/things/ok"), timeout=10)
    requests.get(server.url("/things/things/no-id"), timeout=10)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.base_url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto("/__mocksrv/ui/requests")
        rows = page.locator("table.requests tbody tr")
        expect(rows.nth(0)).to_contain_text("upstream breaks the spec")  # newest first: no-id
        expect(rows.nth(1)).to_contain_text("upstream conforms")
        rows.nth(0).get_by_role("link").click()
        expect(page.get_by_role("heading", name=re.compile("Upstream"))).to_contain_text("answer breaks the spec")
        expect(page.locator(".upstream-problems")).to_contain_text("id")
        expect(page.get_by_text(f"{upstream.url}/things/no-id")).to_be_visible()
        page.get_by_role("link", name="Drift").click()
        expect(page.get_by_role("heading", name=re.compile("^things"))).to_be_visible()
        table = page.locator("table.drift")
        expect(table).to_contain_text("getThing")
        expect(table).to_contain_text("missing required field")
        expect(table).to_contain_text("wrong type")
    finally:
        context.close()


def test_the_plugin_asserts_no_drift_naming_each_difference(wrong: tuple[MockServer, WrongUpstream]) -> None:
    from mocksrv.client import MocksrvClient
    from mocksrv.pytest_plugin import Mocksrv

    server, _ = wrong
    requests.post(server.url("/__mocksrv/reset"), timeout=10)
    checked = Mocksrv(MocksrvClient(server.base_url), contract=False)
    requests.get(server.url("/things/things/ok"), timeout=10)
    checked.assert_no_drift("things")  # a conforming answer: no drift
    requests.get(server.url("/things/things/extra"), timeout=10)
    with pytest.raises(AssertionError, match=r"broke its spec in 1 of 2 answers:\n  getThing: undeclared field x1"):
        checked.assert_no_drift("things")
