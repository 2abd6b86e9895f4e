"""What granian's RSGI scope says, in the two forms the app needs: the engine's `MockRequest` for a
mocked API (`ScopeSource`), and a PEP 3333 environ for the admin API and the console (`wsgi_environ`).

A mocked-API request is read straight from the scope: building an environ and a Werkzeug request
for it, then reading its headers back through the environ, was about a sixth of a refusal's time
(docs/performance.md, step 31). It reads what Werkzeug reads from `wsgi_environ` of the same scope:
the path as Werkzeug decodes it, the query, the headers under the names an environ gives back (a
repeated header joined with ", ", a Cookie with "; "), the cookies and the content type. A form body that is not plain
multipart is still parsed by Werkzeug, from an environ made for it; tests/test_scope_request.py
holds the two readings side by side.
"""

from __future__ import annotations

import io
import sys
import typing as t
from urllib.parse import parse_qsl

from werkzeug.datastructures import Headers
from werkzeug.datastructures import ImmutableHeadersMixin
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequestKeyError
from werkzeug.http import parse_cookie
from werkzeug.wrappers import Request

from mocksrv.exchange import NO_ITEMS
from mocksrv.exchange import MockRequest
from mocksrv.wire.reading import RAW_BODY
from mocksrv.wire.reading import Forms
from mocksrv.wire.reading import body_too_large
from mocksrv.wire.reading import content_type_parts
from mocksrv.wire.reading import read_form

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment


class ScopeSource:
    """A mocked-API request from an RSGI scope and the body the server read (`wire.reading.RequestSource`).

    ``path`` is the path to answer (the scope's, or what is left of it under a session); ``length``
    is set when the body was over the limit and left unread: its size, for the 413.
    """

    def __init__(self, scope: t.Any, path: str, body: bytes, length: int | None, max_body_bytes: int) -> None:
        self.scope = scope
        self.method = scope.method.upper()
        self.path = _as_werkzeug_path(path)
        self.body = body
        self.length = length
        self.max_body_bytes = max_body_bytes
        self.headers = _headers(scope, body, length)
        self._head: MockRequest | None = None
        self._werkzeug: Request | None = None  # made only for a form that is not plain multipart

    def read(self) -> MockRequest:
        if self.length is not None:
            raise body_too_large(self.max_body_bytes)
        head = self.unread()
        form, files = read_form(head.mimetype, content_type_parts(head.content_type)[1].get("boundary"), self.body,
                                self._werkzeug_forms)
        return MockRequest(method=head.method, path=head.path, query=head.query, headers=head.headers,
                           cookies=head.cookies, body=self.body, mimetype=head.mimetype,
                           content_type=head.content_type, files=files, form=form)

    def unread(self) -> MockRequest:
        if self._head is None:
            headers = self.headers
            content_type = headers.get("Content-Type") or ""
            cookie = headers.get("Cookie")
            query = self.scope.query_string
            self._head = MockRequest(
                method=self.method, path=self.path,
                query=MultiDict(parse_qsl(_as_werkzeug_query(query), keep_blank_values=True,
                                          errors="werkzeug.url_quote")) if query else NO_ITEMS,
                headers=headers, cookies=parse_cookie(cookie, cls=MultiDict) if cookie else NO_ITEMS, body=b"",
                mimetype=content_type_parts(content_type)[0], content_type=content_type)
        return self._head

    def header(self, name: str) -> str | None:
        value: str | None = self.headers.get(name)
        return value

    def close(self) -> None:
        if self._werkzeug is not None:
            self._werkzeug.close()

    def _werkzeug_forms(self) -> Forms:
        self._werkzeug = request = Request(wsgi_environ(self.scope, self.body, self.length))
        request.max_content_length = self.max_body_bytes
        return MultiDict(request.form), MultiDict(request.files)


def _as_werkzeug_path(path: str) -> str:
    """The path as Werkzeug gives it from `wsgi_environ`: one leading slash, bytes that are not UTF-8 as U+FFFD."""
    if not path.isascii():
        path = path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "/" + path.lstrip("/")


def _as_werkzeug_query(query: str) -> str:
    # Werkzeug reads QUERY_STRING as latin-1 text of the bytes and decodes them as UTF-8
    return query if query.isascii() else query.encode("latin-1", "replace").decode("utf-8", "replace")


def _separator(name: str) -> str:
    # HTTP/2 splits the Cookie header into one field per cookie; they rejoin with "; " (RFC 9113, 8.2.3)
    return "; " if name == "Cookie" else ", "


def _headers(scope: t.Any, body: bytes, length: int | None) -> RequestHeaders:
    """The request's headers as the app sees them (`ScopeSource`, and `wsgi_environ` for Werkzeug): names
    title-cased, as an environ gives them back (``_`` read as ``-``), a repeated header joined with ", " (cookies
    with "; "), Host from HTTP/2's :authority, no Transfer-Encoding (the body is a plain buffer now: a chunked
    framing header would make Werkzeug ignore its length), and the Content-Length of the body as read (a body
    left unread, over the limit, keeps the size it has, so Werkzeug answers 413; a request that came without a
    body keeps coming without one: the journal shows what was sent)."""
    joined: dict[str, str] = {}
    for name, value in scope.headers.items():
        key = name.replace("_", "-").title()
        joined[key] = f"{joined[key]}{_separator(key)}{value}" if key in joined else value
    authority = getattr(scope, "authority", None)
    if authority and "Host" not in joined:
        joined["Host"] = authority
    chunked = joined.pop("Transfer-Encoding", None) is not None
    if chunked or body or length is not None or "Content-Length" in joined:
        joined["Content-Length"] = str(length if length is not None else len(body))
    if not joined.get("Content-Type", True):  # an environ's empty CONTENT_TYPE is no header at all
        del joined["Content-Type"]
    return RequestHeaders(list(joined.items()))


class RequestHeaders(ImmutableHeadersMixin, Headers):  # type: ignore[misc]
    """A request's headers as Werkzeug's read-only `Headers`, looked up by name in a dict.

    Werkzeug's own lookup scans the list and builds an exception for every header a request does not
    have; the pipeline asks for half a dozen of those (Origin, Accept, Prefer …), about 15 % of a
    refusal. Names are unique here (`_headers` joined the repeats), so the first value is the value.
    """

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__()
        self._list.extend(pairs)  # Werkzeug's own storage: add() is closed on a read-only Headers
        self._index = {name.lower(): value for name, value in reversed(pairs)}

    def get(self, key: t.Any, default: t.Any = None, type: t.Any = None) -> t.Any:  # type: ignore[override]
        if not isinstance(key, str):
            return super().get(key, default, type)
        value = self._index.get(key.lower(), _ABSENT)
        if value is _ABSENT:
            return default
        if type is None:
            return value
        try:
            return type(value)
        except ValueError:
            return default

    def __getitem__(self, key: t.Any) -> t.Any:
        if not isinstance(key, str):
            return super().__getitem__(key)
        try:
            return self._index[key.lower()]
        except KeyError:
            raise BadRequestKeyError(key) from None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._index


_ABSENT: t.Any = object()


def wsgi_environ(scope: t.Any, body: bytes, length: int | None = None) -> WSGIEnvironment:
    """A PEP 3333 environ for an RSGI scope (paths as latin-1 strings of their UTF-8 bytes)."""
    host, _, port = scope.server.rpartition(":")
    environ: dict[str, t.Any] = {
        "REQUEST_METHOD": scope.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": scope.path.encode("utf-8", "surrogateescape").decode("latin-1"),
        "QUERY_STRING": scope.query_string,
        "SERVER_NAME": host,
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "REMOTE_ADDR": scope.client.rpartition(":")[0].strip("[]"),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in _headers(scope, body, length).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
    if length is None:  # read whole and under the limit: the pipeline takes it as it is
        environ[RAW_BODY] = body
    return environ
