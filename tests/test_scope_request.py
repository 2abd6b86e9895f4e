"""The server reads a mocked-API request straight from granian's RSGI scope (`ScopeSource`); the WSGI
face reads it through Werkzeug from an environ (`WerkzeugSource`). For the same request both must give
the pipeline the same `MockRequest`: path, query, headers (names, order, repeats), cookies, content
type, body, form fields and files, and the same error when the body cannot be read.

Property: for any scope (header names with ``_`` and any case, repeated headers, cookies, queries with
escapes, paths with repeated slashes and bytes that are not UTF-8, HTTP/2's authority,
chunked bodies), the two readings agree. Cases: forms through both parsers, bodies over the limit.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from dataclasses import field

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from mocksrv.errors import InvalidRequest
from mocksrv.errors import MockError
from mocksrv.errors import PayloadTooLarge
from mocksrv.exchange import MockRequest
from mocksrv.serving.scope import RequestHeaders
from mocksrv.serving.scope import ScopeSource
from mocksrv.serving.scope import wsgi_environ
from mocksrv.wire.reading import WerkzeugSource

LIMIT = 1000


class _Headers:
    """RSGI's header mapping: ``items`` gives every pair, a repeated name more than once."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def items(self) -> list[tuple[str, str]]:
        return list(self.pairs)

    def get(self, name: str, default: str | None = None) -> str | None:
        return next((v for k, v in self.pairs if k == name), default)


@dataclass
class Scope:
    path: str = "/api/emails"
    method: str = "POST"
    query_string: str = ""
    headers: _Headers = field(default_factory=lambda: _Headers([]))
    authority: str | None = None
    server: str = "127.0.0.1:4010"
    client: str = "127.0.0.1:50000"
    scheme: str = "http"
    http_version: str = "1.1"


def both(scope: Scope, body: bytes = b"", length: int | None = None) -> tuple[t.Any, t.Any]:
    """What each reader gives (a `MockRequest`, or the error it raised), as comparable values."""
    werkzeug = WerkzeugSource(wsgi_environ(scope, body, length), LIMIT)
    direct = ScopeSource(scope, scope.path, body, length, LIMIT)
    try:
        return _seen(werkzeug), _seen(direct)
    finally:
        werkzeug.close()
        direct.close()


def _seen(source: t.Any) -> t.Any:
    try:
        request: MockRequest = source.read()
    except MockError as error:
        unread = source.unread()
        return type(error).__name__, str(error), unread.path, list(unread.headers.items()), unread.query
    return (request.method, request.path, list(request.query.items(multi=True)), list(request.headers.items()),
            list(request.cookies.items(multi=True)), request.body, request.mimetype, request.content_type,
            list(request.form.items(multi=True)),
            [(name, f.filename, f.mimetype, f.read()) for name, f in request.files.items(multi=True)],
            source.method, source.path)


TOKEN = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=12)
VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=20).map(str.strip)
HEADERS = st.lists(st.tuples(st.one_of(TOKEN, st.sampled_from(
    ["content-type", "cookie", "host", "transfer-encoding", "content-length", "authorization", "x_api_key"])),
    VALUE), max_size=8)
# granian refuses a request target that is not ASCII (400) and hands the query over undecoded
QUERY = st.one_of(st.just(""), st.from_regex(r"([a-z%0-9+]{0,5}(=[a-zA-Z0-9%+;]{0,6}(%C3%A9|%FF)?)?&?){1,4}",
                                             fullmatch=True))
PATH = st.one_of(st.just("/api/emails"), st.from_regex(r"/{1,3}[a-z0-9é%]{0,8}(/[a-z0-9]{0,5}){0,3}", fullmatch=True),
                 st.just("/api/\udcff\udcfe"))


@settings(max_examples=300, deadline=None)
@given(path=PATH, query=QUERY, headers=HEADERS, body=st.binary(max_size=40), authority=st.one_of(
    st.none(), st.just("example.test:4010")), method=st.sampled_from(["GET", "POST", "delete"]))
def test_the_two_readings_agree(path: str, query: str, headers: list[tuple[str, str]], body: bytes,
                                authority: str | None, method: str) -> None:
    # a declared length is what the server read (it refuses a body that ends short before reading it)
    headers = [(k, str(len(body)) if k == "content-length" else v) for k, v in headers]
    scope = Scope(path=path, method=method, query_string=query, headers=_Headers(headers), authority=authority)
    through_werkzeug, from_scope = both(scope, body)
    assert from_scope == through_werkzeug


def test_repeated_headers_join_under_one_name_and_cookies_as_one_cookie_header() -> None:
    scope = Scope(headers=_Headers([("x-trace", "a"), ("X_Trace", "b"), ("cookie", "a=1"), ("cookie", "b=2")]))
    through_werkzeug, from_scope = both(scope)
    assert from_scope == through_werkzeug
    assert ("X-Trace", "a, b") in from_scope[3]
    # HTTP/2 sends each cookie in a field of its own: they are one Cookie header again
    assert from_scope[4] == [("a", "1"), ("b", "2")]


def test_http2_authority_is_the_host_and_chunked_framing_becomes_a_length() -> None:
    scope = Scope(headers=_Headers([("transfer-encoding", "chunked"), ("content-type", "application/json")]),
                  authority="example.test", http_version="2")
    through_werkzeug, from_scope = both(scope, b'{"a": 1}')
    assert from_scope == through_werkzeug
    assert from_scope[3] == [("Content-Type", "application/json"), ("Host", "example.test"), ("Content-Length", "8")]


@pytest.mark.parametrize("content_type, body, fields", [
    ("multipart/form-data; boundary=xyz",  # plain: parsed by mocksrv's fast path
     b'--xyz\r\nContent-Disposition: form-data; name="to"\r\n\r\na@example.com\r\n--xyz--\r\n', [("to", "a@example.com")]),
    ("multipart/form-data; boundary=xyz",  # a preamble: not plain, parsed by Werkzeug
     b'hello\r\n--xyz\r\nContent-Disposition: form-data; name="to"\r\n\r\nb@example.com\r\n--xyz--\r\n',
     [("to", "b@example.com")]),
    ("application/x-www-form-urlencoded", b"to=c%40example.com&to=d", [("to", "c@example.com"), ("to", "d")]),
])
def test_forms_read_the_same_through_either_parser(content_type: str, body: bytes, fields: list[tuple[str, str]]
                                                   ) -> None:
    scope = Scope(headers=_Headers([("content-type", content_type), ("content-length", str(len(body)))]))
    through_werkzeug, from_scope = both(scope, body)
    assert from_scope == through_werkzeug
    assert from_scope[8] == fields


def test_a_file_reads_the_same() -> None:
    body = (b'--b\r\nContent-Disposition: form-data; name="logo"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'
            b'\x89PNG\r\n--b--\r\n')
    scope = Scope(headers=_Headers([("content-type", "multipart/form-data; boundary=b")]))
    through_werkzeug, from_scope = both(scope, body)
    assert from_scope == through_werkzeug
    assert from_scope[9] == [("logo", "a.png", "image/png", b"\x89PNG")]


@pytest.mark.parametrize("content_type, body, error", [
    ("multipart/form-data", b"--x\r\n", InvalidRequest),  # no boundary
    ("application/json", b"", PayloadTooLarge),  # over the limit: left unread, its length kept
])
def test_unreadable_bodies_fail_the_same_way(content_type: str, body: bytes, error: type[MockError]) -> None:
    length = None if body else LIMIT + 1
    scope = Scope(headers=_Headers([("content-type", content_type), ("content-length", str(length or len(body)))]))
    through_werkzeug, from_scope = both(scope, body, length)
    assert from_scope == through_werkzeug
    assert from_scope[0] == error.__name__


@settings(max_examples=200, deadline=None)
@given(pairs=st.dictionaries(TOKEN, VALUE, max_size=6).map(lambda d: list(d.items())), asked=TOKEN)
def test_request_headers_answer_as_werkzeugs_headers_do(pairs: list[tuple[str, str]], asked: str) -> None:
    pairs = [(name.title(), value) for name, value in dict((k.title(), v) for k, v in pairs).items()]
    fast, werkzeug = RequestHeaders(pairs), Headers(pairs)
    for name in (asked, asked.upper(), asked.lower(), *(k.swapcase() for k, _ in pairs)):
        assert fast.get(name) == werkzeug.get(name)
        assert fast.get(name, "none") == werkzeug.get(name, "none")
        assert fast.get(name, -1, type=int) == werkzeug.get(name, -1, type=int)
        assert (name in fast) == (name in werkzeug)
        assert fast.getlist(name) == werkzeug.getlist(name)
        if name in werkzeug:
            assert fast[name] == werkzeug[name]
        else:
            with pytest.raises(KeyError):
                fast[name]
    assert list(fast.items()) == list(werkzeug.items()) and len(fast) == len(werkzeug)
    if pairs:
        assert fast[0] == werkzeug[0]


def test_request_headers_are_read_only() -> None:
    headers = RequestHeaders([("Accept", "application/json")])
    with pytest.raises(TypeError):
        headers.add("Accept", "text/plain")
    with pytest.raises(TypeError):
        headers["Accept"] = "text/plain"
    assert headers.get("accept") == "application/json"
