"""The journal on its own: what an entry keeps of a request, and what it costs to keep."""

from __future__ import annotations

import gc
import json
import tracemalloc

from werkzeug.datastructures import Headers
from werkzeug.datastructures import MultiDict

from mocksrv.datatypes import MockRequest
from mocksrv.datatypes import MockResponse
from mocksrv.journal import BODY_CAP
from mocksrv.journal import Entry
from mocksrv.journal import Journal

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
