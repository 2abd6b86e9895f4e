"""The journal on its own: what an entry keeps of a request, and what it costs to keep."""

from __future__ import annotations

import gc
import io
import json
import tracemalloc
import typing as t
import uuid
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import Headers
from werkzeug.datastructures import MultiDict

from conftest import RedisServer
from conftest import require_redis_server
from mocksrv.errors import InvalidRequest
from mocksrv.errors import MockError
from mocksrv.errors import NotFound
from mocksrv.errors import UndeclaredPath
from mocksrv.errors import Violation
from mocksrv.exchange import CredentialNames
from mocksrv.exchange import MockRequest
from mocksrv.exchange import MockResponse
from mocksrv.state.journal import BODY_CAP
from mocksrv.state.journal import Body
from mocksrv.state.journal import Entry
from mocksrv.state.journal import Journal
from mocksrv.state.journal import mask

SEND = {"from": "a@example.com", "to": "b@example.com", "subject": "Hi", "html": "<p>x</p>"}


def _request(body: bytes, mimetype: str = "application/json") -> MockRequest:
    headers = Headers([("Host", "127.0.0.1:4010"), ("Authorization", "Bearer md_live_0123456789"),
                       ("Content-Type", mimetype), ("Content-Length", str(len(body)))])
    return MockRequest(method="POST", path="/maildiver/v1/emails", query=MultiDict(), headers=headers,
                       cookies=MultiDict(), body=body, mimetype=mimetype, content_type=mimetype)


def _record(journal: Journal, request: MockRequest, response_body: bytes = b'{"id":"em_1"}') -> Entry:
    response = MockResponse(201, [("Content-Type", "application/json"), ("Content-Length", str(len(response_body)))],
                            response_body, "application/json")
    return journal.record(request, response, api="maildiver", operation_id="sendEmail", error=None,
                          time=1.0, real_time=2.0, duration_ms=0.4)


def test_bodies_read_back_decoded_and_credentials_masked() -> None:
    journal = Journal()
    entry = _record(journal, _request(json.dumps(SEND).encode()))
    assert entry.body == SEND
    assert entry.response_body == {"id": "em_1"}
    assert entry.headers["Authorization"] == "Bearer md_l…"
    assert entry.headers["Host"] == "127.0.0.1:4010"  # only credentials are masked
    assert entry.response_headers["Content-Type"] == "application/json"
    as_dict = entry.as_dict()
    assert as_dict["body"] == SEND and as_dict["response"]["body"] == {"id": "em_1"}
    text = _record(journal, _request(b"not json {", "application/json"))
    assert text.body == "not json {"  # kept as text, not dropped
    assert _record(journal, _request(b"", "text/plain")).body is None


def test_a_large_body_keeps_its_head_and_size_only() -> None:
    journal = Journal()
    size = 4 * BODY_CAP
    gc.collect()
    tracemalloc.start()
    try:
        request = _request(b'{"html": "' + b"x" * size + b'"}')
        before = tracemalloc.get_traced_memory()[0]
        entry = _record(journal, request)
        del request  # the caller lets go of the request; the journal must not hold the whole body
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < BODY_CAP + 16 * 1024, f"the entry keeps {kept} bytes of a {size}-byte body"
    body = entry.body
    assert body["truncated"] is True and body["size"] == size + 12
    assert body["head"].startswith('{"html": "xxx') and len(body["head"]) == BODY_CAP


def _fresh(text: str) -> str:
    """An equal string that is another object, as a server parses each request's headers anew."""
    return "".join(list(text))


def test_an_entry_costs_well_under_a_kilobyte() -> None:
    # 10 000 entries are kept by default; at ~3 kB each (bodies decoded as they came in) that was 30 MB;
    # the header strings every request repeats are held once, not once per entry
    journal = Journal(limit=1000)
    body = json.dumps(SEND).encode()
    requests = [_request(body) for _ in range(1000)]  # made outside the measurement: the caller owns them
    for request in requests:
        request.headers = Headers([(_fresh(k), _fresh(v)) for k, v in request.headers.items()])
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for request in requests:
            _record(journal, request)
        gc.collect()
        per_entry = (tracemalloc.get_traced_memory()[0] - before) / 1000
    finally:
        tracemalloc.stop()
    assert per_entry < 700, f"{per_entry:.0f} bytes per journal entry"


def _entry(journal: Journal, *, method: str = "GET", path: str = "/a/v1/x", api: str | None = "a",
           operation_id: str | None = "op", status: int = 200, error: MockError | None = None,
           time: float = 1.0, query: list[tuple[str, str]] | None = None) -> Entry:
    request = MockRequest(method=method, path=path, query=MultiDict(query or []), headers=Headers(),
                          cookies=MultiDict(), body=b"", mimetype="", content_type="")
    return journal.record(request, MockResponse(status, [], b"", None), api=api, operation_id=operation_id,
                          error=error, time=time, real_time=time + 100, duration_ms=1.23456)


def test_an_entry_as_the_admin_api_shows_it() -> None:
    entry = _entry(Journal(), query=[("tag", "a"), ("tag", "b"), ("page", "2")])
    assert entry.as_dict() == {
        "id": 1, "time": 1.0, "real_time": 101.0, "api": "a", "operationId": "op", "method": "GET",
        "path": "/a/v1/x", "query": {"tag": ["a", "b"], "page": ["2"]}, "headers": {}, "body": None,
        "valid": True, "errors": (), "response": {"status": 200, "headers": {}, "body": None},
        "duration_ms": 1.235, "preflight": False,
    }


def test_a_request_that_breaks_the_contract_is_invalid_with_its_reasons() -> None:
    journal = Journal()
    listed = _entry(journal, status=400, error=InvalidRequest("two problems", violations=[
        Violation("body", "to", "to field is required"), Violation("query", "page", "page must be an integer")]))
    assert (listed.valid, list(listed.as_dict()["errors"])) == (False, [
        {"location": "body", "field": "to", "message": "to field is required"},
        {"location": "query", "field": "page", "message": "page must be an integer"}])
    undeclared = _entry(journal, status=404, error=UndeclaredPath("no operation of API 'a' matches the path /y"))
    assert (undeclared.valid, list(undeclared.as_dict()["errors"])) == (False, [
        {"location": "", "field": "", "message": "no operation of API 'a' matches the path /y"}])
    missing = _entry(journal, status=404, error=NotFound("x 'y' not found"))  # the contract allows it
    assert (missing.valid, list(missing.as_dict()["errors"])) == (True, [])


def _redis_journal(url: str, limit: int) -> Journal:
    from mocksrv.state.redis_journal import RedisEntries
    from mocksrv.state.redis_store import RedisStore

    return Journal(limit, kept=RedisEntries(RedisStore(url, namespace=uuid.uuid4().hex), limit))


@pytest.fixture(params=["memory", "redis"])
def new_journal(request: pytest.FixtureRequest) -> t.Callable[[int], Journal]:
    """A journal kept in this process, or on Redis as replicas share it: the same behaviour."""
    if request.param == "memory":
        return lambda limit: Journal(limit)
    url = request.getfixturevalue("redis_server").url
    return lambda limit: _redis_journal(url, limit)


def test_filters_newest_first(new_journal: t.Callable[[int], Journal]) -> None:
    journal = new_journal(100)
    _entry(journal, method="GET", path="/a/v1/x", api="a", operation_id="getX", status=200, time=10)
    _entry(journal, method="POST", path="/a/v1/y", api="a", operation_id="postY", status=201, time=20)
    _entry(journal, method="GET", path="/b/v1/x", api="b", operation_id="getX", status=404, time=30,
           error=UndeclaredPath("no"))

    def ids(**filters: t.Any) -> list[int]:
        return [entry.id for entry in journal.entries(**filters)]

    assert ids() == [3, 2, 1]
    assert ids(api="a") == [2, 1]
    assert ids(operation_id="getX") == [3, 1]
    assert ids(method="post") == [2]
    assert ids(path="/v1/x") == [3, 1]
    assert ids(status=201) == [2]
    assert ids(valid=False) == [3] and ids(valid=True) == [2, 1]
    assert ids(since=20) == [3, 2]
    assert ids(limit=2) == [3, 2] and ids(limit=0) == []
    assert ids(api="a", method="GET") == [1]


def test_a_full_journal_lets_the_oldest_go_and_a_clear_keeps_counting(
        new_journal: t.Callable[[int], Journal]) -> None:
    journal = new_journal(2)
    for _ in range(3):
        _entry(journal)
    assert [entry.id for entry in journal.entries()] == [3, 2]
    journal.clear()
    assert journal.entries() == []
    assert _entry(journal).id == 4  # ids stay unique across a clear


@pytest.mark.parametrize("value, shown", [
    ("Bearer md_live_0123456789", "Bearer md_l…"), ("bearer abcdefghij", "bearer abcd…"),
    ("Basic YWRhOnNlY3JldA==", "Basic YWRh…"), ("Token 0123456789", "Token 0123…"),
    ("ApiKey 0123456789", "ApiKey 0123…"), ("Digest 0123456789", "Dige…"),
    ("Bearer abcdefghij klm", "Bearer abcd…"), ("123456789", "1234…"), ("12345678", "…"), ("short", "…"), ("", "…"), ("Bearer short", "Bearer …"),
])
def test_a_masked_value_keeps_at_most_a_short_prefix(value: str, shown: str) -> None:
    assert mask(value) == shown


def test_the_query_and_the_log_target_hide_the_names_they_are_told() -> None:
    journal = Journal(secrets=CredentialNames(query=frozenset({"key"})))
    query = MultiDict([("key", "0123456789"), ("page", "2"), ("key", "abcdefghijk")])
    assert list(journal.masked_query(query)) == [("key", "0123…"), ("key", "abcd…"), ("page", "2")]
    assert journal.target("/a/v1/x", query) == "/a/v1/x?key=0123%E2%80%A6&key=abcd%E2%80%A6&page=2"
    assert journal.target("/a/v1/x", MultiDict()) == "/a/v1/x"
    assert Journal().secrets == CredentialNames()


def test_uploaded_files_are_kept_as_name_type_and_size() -> None:
    upload = FileStorage(io.BytesIO(b"%PDF-1.4 hello"), filename="a.pdf", name="file", content_type="application/pdf")
    second = FileStorage(io.BytesIO(b"PNG"), filename="b.png", name="file", content_type="image/png")
    upload.stream.seek(3)  # wherever the reader left it, the size is the whole file's and the position stays
    request = MockRequest(method="POST", path="/a/v1/up", query=MultiDict(), headers=Headers(), cookies=MultiDict(),
                          body=b"", mimetype="multipart/form-data", content_type="multipart/form-data",
                          files=MultiDict([("file", upload), ("file", second)]), form=MultiDict([("note", "hi"), ("note", "there")]))
    entry = Journal().record(request, MockResponse(201, [], b"", None), api="a", operation_id="up", error=None,
                             time=0.0, real_time=0.0, duration_ms=0.0)
    assert entry.body == {"form": {"note": ["hi", "there"]},
                          "files": [{"field": "file", "filename": "a.pdf", "content_type": "application/pdf",
                                     "size": 14},
                                    {"field": "file", "filename": "b.png", "content_type": "image/png", "size": 3}]}
    assert upload.stream.tell() == 3


def test_text_bodies_stay_text_and_empty_bodies_are_one_shared_object() -> None:
    assert Body.of(b"", "application/json") is Body.of(b"", None)
    assert Body.of(b'{"a": 1}', "text/plain").decoded() == '{"a": 1}'  # not JSON by its media type
    assert Body.of(b'{"a": 1}', "application/problem+json").decoded() == {"a": 1}
    assert Body.of(b'{"a": 1}', None).decoded() == '{"a": 1}'
    assert Body.of(b"\xff\xfeok", "text/plain").decoded() == "\ufffd\ufffdok"
    exact = Body.of(b"x" * BODY_CAP, "text/plain")
    assert exact.decoded() == "x" * BODY_CAP and exact.size == BODY_CAP


def test_an_entry_read_back_from_its_wire_form_is_the_same_entry() -> None:
    """How a journal shared on Redis keeps an entry: every field comes back, bodies byte for byte."""
    journal = Journal(secrets=CredentialNames(query=frozenset({"key"})))
    upload = FileStorage(io.BytesIO(b"%PDF"), filename="a.pdf", name="file", content_type="application/pdf")
    entries = [
        _record(journal, _request(json.dumps(SEND).encode())),
        _record(journal, _request(b"\xff\x00" + b"x" * (BODY_CAP + 5), "application/octet-stream"), b"\x00\x01"),
        _entry(journal, status=400, query=[("key", "0123456789"), ("page", "2")], error=InvalidRequest(
            "bad", violations=[Violation("query", "page", "page must be an integer")])),
        journal.record(MockRequest(method="POST", path="/a/v1/up", query=MultiDict(), headers=Headers(),
                                   cookies=MultiDict(), body=b"", mimetype="multipart/form-data",
                                   content_type="multipart/form-data", files=MultiDict([("file", upload)]),
                                   form=MultiDict([("note", "hi")])),
                       MockResponse(201, [("X-Id", "1")], b"", None), api="a", operation_id="up", error=None,
                       time=3.5, real_time=4.5, duration_ms=2.0, preflight=True, deliveries=("wh_1", "wh_2"),
                       upstream={"url": "https://api.example.com/x", "status": 200, "conforms": True}),
    ]
    for entry in entries:
        back = Entry.from_wire(entry.id, entry.to_wire())
        assert back == entry
        assert back.as_dict() == entry.as_dict()
    proxied = Entry.from_wire(9, entries[-1].to_wire())
    assert proxied.preflight is True and proxied.deliveries == ("wh_1", "wh_2")  # kept by record, and read back
    assert proxied.as_dict()["upstream"] == {"url": "https://api.example.com/x", "status": 200, "conforms": True}
    assert "upstream" not in Entry.from_wire(9, entries[0].to_wire()).as_dict()  # only a proxied entry has one
    assert proxied.response_content is Body.of(b"", None)  # an empty body read back is the one shared object


def test_find_gives_the_entry_by_its_id_or_none() -> None:
    journal = Journal()
    first, second = _entry(journal), _entry(journal, path="/a/v1/y")
    assert journal.find(second.id) is second and journal.find(first.id) is first
    assert journal.find(99) is None


def test_a_shared_journal_reads_past_its_page_size_in_order(redis_server: RedisServer) -> None:
    from mocksrv.state.redis_journal import PAGE

    journal = _redis_journal(redis_server.url, 1000)
    made = [_entry(journal, time=float(n)).id for n in range(PAGE * 2 + 7)]
    assert made == sorted(made) and len(set(made)) == len(made)  # ids grow, none repeats
    assert [entry.id for entry in journal.entries()] == made[::-1]
    assert [entry.time for entry in journal.entries(since=PAGE * 2 + 5)] == [PAGE * 2 + 6, PAGE * 2 + 5]


def test_a_shared_journal_keeps_journaling_here_while_redis_is_lost(tmp_path: Path) -> None:
    require_redis_server()
    server = RedisServer(tmp_path / "first")
    journal = _redis_journal(server.url, 100)
    try:
        shared = _entry(journal, path="/a/v1/before", time=1)
        server.stop()
        offline = [_entry(journal, path="/a/v1/lost", time=2), _entry(journal, path="/a/v1/lost", time=3)]
        assert [entry.id for entry in offline] == [-1, -2]  # never a shared id
        assert [entry.id for entry in journal.entries()] == [-2, -1]
        server = RedisServer(tmp_path / "again", port=server.port)  # back, empty
        back = _entry(journal, path="/a/v1/after", time=4)
        assert [entry.path for entry in journal.entries()] == ["/a/v1/after", "/a/v1/lost", "/a/v1/lost"]
        assert journal.find(-1) == offline[0] and journal.find(back.id) == back
        assert shared not in journal.entries()  # it went with the Redis that was lost
    finally:
        server.stop()
