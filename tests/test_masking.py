"""No credential leaves the server: whatever a spec's security schemes name (a custom header,
a query parameter, a cookie, HTTP basic) is masked in the journal, the admin API, the console
and the log, on a spec of our own (tests/data/features/keys.yaml)."""

from __future__ import annotations

import base64
import typing as t

import pytest
import requests
from werkzeug.datastructures import Headers
from werkzeug.datastructures import MultiDict

from conftest import DATA
from conftest import MockServer
from mocksrv.engine.security import credential_names
from mocksrv.exchange import MockRequest
from mocksrv.exchange import MockResponse
from mocksrv.openapi.specs import load_spec
from mocksrv.state.journal import Journal

KEYS = DATA / "features" / "keys.yaml"
SECRETS = {"header": "hdr-5ecret-0123456789", "query": "qry-5ecret-0123456789", "cookie": "ck-5ecret-0123456789",
           "basic": "bas-5ecret-0123456789"}


@pytest.fixture(scope="module")
def served() -> t.Iterator[tuple[MockServer, list[requests.Response]]]:
    server = MockServer("--specs", str(KEYS), "--strict")
    base = server.url("/keys/v1")
    basic = base64.b64encode(f"ada:{SECRETS['basic']}".encode()).decode()
    answers = [
        requests.get(f"{base}/by-header?page=2", headers={"X-Key": SECRETS["header"]}, timeout=10),
        requests.get(f"{base}/by-query?page=3&api_key={SECRETS['query']}", timeout=10),
        requests.get(f"{base}/by-cookie", cookies={"session_token": SECRETS["cookie"], "theme": "dark"}, timeout=10),
        requests.get(f"{base}/by-basic", headers={"Authorization": f"Basic {basic}"}, timeout=10),
        requests.get(f"{base}/nowhere?api_key={SECRETS['query']}", timeout=10),  # no operation: masked all the same
    ]
    yield server, answers
    server.stop()


def test_the_requests_were_answered(served: tuple[MockServer, list[requests.Response]]) -> None:
    assert [answer.status_code for answer in served[1]] == [200, 200, 200, 200, 404]


@pytest.mark.parametrize("place", ["/__mocksrv/requests", "/__mocksrv/ui/requests"])
def test_no_secret_in_the_journal_or_the_console(served: tuple[MockServer, list[requests.Response]],
                                                 place: str) -> None:
    server = served[0]
    text = requests.get(server.url(place), timeout=10).text
    ids = [entry["id"] for entry in requests.get(server.url("/__mocksrv/requests"), timeout=10).json()["requests"]]
    text += "".join(requests.get(server.url(f"/__mocksrv/ui/requests/{n}"), timeout=10).text for n in ids)
    for secret in [*SECRETS.values(), base64.b64encode(f"ada:{SECRETS['basic']}".encode()).decode()]:
        assert secret not in text


def test_the_rest_of_the_request_stays_readable(served: tuple[MockServer, list[requests.Response]]) -> None:
    entries = requests.get(served[0].url("/__mocksrv/requests"), timeout=10).json()["requests"]
    by_path = {entry["path"].rsplit("/", 1)[-1]: entry for entry in entries}
    assert by_path["by-header"]["query"] == {"page": ["2"]}
    assert by_path["by-header"]["headers"]["X-Key"] == "hdr-…"
    assert by_path["by-query"]["query"] == {"page": ["3"], "api_key": ["qry-…"]}
    assert by_path["by-basic"]["headers"]["Authorization"] == "Basic YWRh…"
    assert by_path["nowhere"]["query"] == {"api_key": ["qry-…"]}


def test_no_secret_in_the_log(served: tuple[MockServer, list[requests.Response]]) -> None:
    server = served[0]
    server.log_line("/nowhere")  # the last request's line has been written
    log = "\n".join(server.lines)
    assert "GET /keys/v1/by-query?page=3&api_key=qry-%E2%80%A6 200" in log
    for secret in SECRETS.values():
        assert secret not in log


def test_the_credential_names_come_from_the_specs_security_schemes() -> None:
    names = credential_names([load_spec(KEYS)])
    assert {"x-key", "authorization", "cookie"} <= names.headers
    assert names.query == frozenset({"api_key"})
    assert names.cookies == frozenset({"session_token"})


def test_the_journal_masks_what_it_is_told_and_keeps_the_rest() -> None:
    journal = Journal(secrets=credential_names([load_spec(KEYS)]))
    request = MockRequest(method="GET", path="/keys/v1/by-query", query=MultiDict([("api_key", "abcdefghijk"),
                                                                                  ("page", "1")]),
                          headers=Headers({"X-Key": "zyxwvutsrq", "X-Trace": "t-1"}), cookies=MultiDict(),
                          body=b"", mimetype="", content_type="")
    entry = journal.record(request, MockResponse(200, [], b"", None), api="keys", operation_id="byQuery",
                           error=None, time=0.0, real_time=0.0, duration_ms=1.0).as_dict()
    assert entry["query"] == {"api_key": ["abcd…"], "page": ["1"]}
    assert entry["headers"] == {"X-Key": "zyxw…", "X-Trace": "t-1"}
