"""CORS on the mocked APIs (issue 23): preflights, headers a page can read, --no-cors, --cors-origin.

The browser test loads a page from another loopback origin in Debian's chromium and calls a
mocked API from its script, as a front end in development does.
"""

from __future__ import annotations

import http.server
import threading
import typing as t
from pathlib import Path

import pytest

from conftest import FIXTURES
from conftest import SPECS
from conftest import MockServer
from mocksrv import Options
from mocksrv import create_app

if t.TYPE_CHECKING:
    from playwright.sync_api import Browser

APP = "http://localhost:3000"
SEND = "/maildiver/v1/emails"
MAIL = {"from": "Team <team@example.com>", "to": "ada@example.com", "subject": "Hi", "html": "<p>Hi</p>"}
PREFLIGHT = {"Origin": APP, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}
OWN_OPTIONS = """
openapi: 3.0.3
info: {title: Own options, version: "1"}
paths:
  /things:
    get: {responses: {"200": {description: ok}}}
    options: {responses: {"200": {description: the spec's own OPTIONS, headers: {Allow: {schema: {type: string}}}}}}
"""


def client(scenario: str = "default", **options: t.Any) -> t.Any:
    return create_app(Options(specs=[SPECS], fixtures=FIXTURES, scenario=scenario, **options)).test_client()


def test_a_preflight_is_answered_with_what_the_browser_asked_for() -> None:
    mock = client()
    answer = mock.options(SEND, headers=PREFLIGHT)
    assert answer.status_code == 204 and answer.data == b""
    assert answer.headers["Access-Control-Allow-Origin"] == APP
    assert answer.headers["Access-Control-Allow-Methods"] == "POST"  # what the spec declares for the path
    assert answer.headers["Access-Control-Allow-Headers"] == "authorization, content-type"
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    assert answer.headers["Access-Control-Max-Age"] == "7200"
    item = mock.options("/maxcare/v3/emails/eml_a7c3f1e28b4d4a9eb5c6d7e8f9012345",
                        headers={**PREFLIGHT, "Access-Control-Request-Method": "GET"})
    assert item.status_code == 204 and item.headers["Access-Control-Allow-Methods"] == "GET"


def test_preflights_are_journaled_as_such_and_never_rate_limited() -> None:
    mock = client("rate_limited")  # 3 requests a minute per key
    for _ in range(5):
        assert mock.options(SEND, headers=PREFLIGHT).status_code == 204
    for _ in range(3):
        assert mock.post(SEND, json=MAIL, headers={"Authorization": "Bearer md_demo"}).status_code == 201
    entries = mock.get("/__mocksrv/requests", query_string={"method": "OPTIONS"}).json["requests"]
    assert len(entries) == 5
    assert all(e["preflight"] and e["valid"] and e["api"] == "maildiver" and e["operationId"] is None
               for e in entries)


def test_every_answer_to_a_page_carries_the_origin_and_exposes_its_headers() -> None:
    mock = client("rate_limited")
    key = {"Authorization": "Bearer md_demo", "Origin": APP}
    sent = mock.post(SEND, json=MAIL, headers=key)
    assert sent.status_code == 201 and sent.headers["Access-Control-Allow-Origin"] == APP
    exposed = {name.strip() for name in sent.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= exposed
    assert "Content-Type" not in exposed  # safelisted: readable anyway
    for _ in range(2):
        mock.post(SEND, json=MAIL, headers=key)
    limited = mock.post(SEND, json=MAIL, headers=key)
    assert limited.status_code == 429 and limited.headers["Access-Control-Allow-Origin"] == APP
    assert "Retry-After" in limited.headers["Access-Control-Expose-Headers"]
    unauthorized = mock.post(SEND, json=MAIL, headers={"Origin": APP})
    assert unauthorized.status_code == 403  # MailDiver answers a missing key 403
    assert unauthorized.headers["Access-Control-Allow-Origin"] == APP
    assert mock.post("/__mocksrv/faults", json={"api": "maildiver", "status": 503}).status_code == 201
    fault = mock.post(SEND, json=MAIL, headers=key)
    assert fault.status_code == 503 and fault.headers["Access-Control-Allow-Origin"] == APP
    missing = mock.get("/maildiver/v1/nothing-here", headers={"Origin": APP})
    assert missing.status_code == 404 and missing.headers["Access-Control-Allow-Origin"] == APP


def test_clients_without_an_origin_get_no_cors_headers() -> None:
    sent = client().post(SEND, json=MAIL, headers={"Authorization": "Bearer md_demo"})
    assert sent.status_code == 201
    assert not [name for name in sent.headers.keys() if name.startswith("Access-Control-")]


def test_the_admin_api_and_the_console_stay_locked_down() -> None:
    mock = client()
    for path in ("/__mocksrv/health", "/__mocksrv/requests", "/__mocksrv/ui/apis"):
        answer = mock.get(path, headers={"Origin": APP})
        assert "Access-Control-Allow-Origin" not in answer.headers, path
    assert "Access-Control-Allow-Origin" not in mock.options("/__mocksrv/reset", headers=PREFLIGHT).headers


def test_a_spec_that_declares_options_answers_it_itself(tmp_path: Path) -> None:
    spec = tmp_path / "own.yaml"
    spec.write_text(OWN_OPTIONS)
    mock = create_app(Options(specs=[spec], fixtures=None, strict=True)).test_client()
    answer = mock.options("/own/things", headers=PREFLIGHT)
    assert answer.status_code == 200  # the spec's response, not our 204
    assert answer.headers["Access-Control-Allow-Origin"] == APP  # and a page may still read it


def test_no_cors_turns_it_all_off() -> None:
    mock = client(cors=False)
    assert mock.options(SEND, headers=PREFLIGHT).status_code == 405  # POST is all the spec declares
    sent = mock.post(SEND, json=MAIL, headers={"Authorization": "Bearer md_demo", "Origin": APP})
    assert sent.status_code == 201 and "Access-Control-Allow-Origin" not in sent.headers


def test_cors_origin_allows_only_the_origins_named() -> None:
    mock = client(cors_origins=[APP])
    assert mock.options(SEND, headers=PREFLIGHT).headers["Access-Control-Allow-Origin"] == APP
    other = mock.options(SEND, headers={**PREFLIGHT, "Origin": "http://evil.example"})
    assert other.status_code == 204 and "Access-Control-Allow-Origin" not in other.headers  # the browser refuses
    sent = mock.post(SEND, json=MAIL, headers={"Authorization": "Bearer md_demo", "Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in sent.headers


# -- a real browser --------------------------------------------------------------------------------

PAGE = """<!doctype html><meta charset=utf-8><title>app</title><pre id=out>waiting</pre>
<script>
fetch(new URLSearchParams(location.search).get("api") + "/maildiver/v1/emails", {
  method: "POST",
  headers: {"Authorization": "Bearer md_demo", "Content-Type": "application/json"},
  body: JSON.stringify({from: "Team <team@example.com>", to: "ada@example.com", subject: "Hi", html: "<p>Hi</p>"}),
}).then(async r => {
  document.getElementById("out").textContent =
    `${r.status} ${r.headers.get("X-RateLimit-Remaining")} ${(await r.json()).id ? "id" : "no id"}`;
}).catch(e => { document.getElementById("out").textContent = "failed: " + e.message; });
</script>"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: t.Any) -> None:
        return


@pytest.fixture()
def app_origin(tmp_path: Path) -> t.Iterator[str]:
    """The front end: a page served from another loopback origin (its own port)."""
    (tmp_path / "index.html").write_text(PAGE)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: _Quiet(*a, directory=str(tmp_path)))  # type: ignore[misc]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run_page(browser: Browser, origin: str, api: str) -> str:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{origin}/index.html?api={api}")
        page.wait_for_function("document.getElementById('out').textContent !== 'waiting'", timeout=10_000)
        return str(page.text_content("#out"))
    finally:
        context.close()


@pytest.mark.parametrize("cors", [True, False])
def test_a_page_on_another_origin_calls_the_mock(browser: Browser, app_origin: str, cors: bool) -> None:
    server = MockServer("--specs", str(SPECS), "--fixtures", str(FIXTURES), "--scenario", "rate_limited",
                        *([] if cors else ["--no-cors"]))
    try:
        shown = run_page(browser, app_origin, server.base_url)
    finally:
        server.stop()
    if cors:
        assert shown == "201 2 id"  # the body and X-RateLimit-Remaining, read by the page's script
    else:
        assert shown.startswith("failed: ")  # the browser refuses: no preflight answer, no CORS headers
