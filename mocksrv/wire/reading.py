"""An incoming request read into the engine's `MockRequest`: the body under the size limit, form
bodies parsed (plain multipart by `multipart`, anything else by Werkzeug).

The dispatcher reads every request through a `RequestSource`: `WerkzeugSource` for a WSGI environ
(Flask's test client, anyone embedding the WSGI app), `serving.scope.ScopeSource` for what granian
hands the server. Both give the same `MockRequest` for the same request; the form rules live here once.
"""

from __future__ import annotations

import functools
import typing as t

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.wrappers import Request

from mocksrv.errors import InvalidRequest
from mocksrv.errors import PayloadTooLarge
from mocksrv.exchange import NO_ITEMS
from mocksrv.exchange import MockRequest
from mocksrv.wire.media import MULTIPART
from mocksrv.wire.media import is_form
from mocksrv.wire.multipart import parse_plain_form

# an environ key for the whole body when the server has read it already (under the size limit): read_request
# takes it as it is instead of reading it back through Werkzeug's limited stream
RAW_BODY = "mocksrv.body"
Forms = tuple[MultiDict[str, str], MultiDict[str, t.Any]]


class RequestSource(t.Protocol):
    """One incoming mocked-API request, read when the dispatcher asks."""

    method: str
    path: str

    def read(self) -> MockRequest:
        """The whole request.

        :raise PayloadTooLarge: the body is over the configured limit.
        :raise InvalidRequest: a form body that cannot be parsed.
        """

    def unread(self) -> MockRequest:
        """The request without its body: what the journal keeps when `read` failed."""

    def header(self, name: str) -> str | None: ...

    def close(self) -> None:
        """Let go of what reading made (an upload's spooled temporary file)."""


class WerkzeugSource:
    """A request from a WSGI environ, read through Werkzeug."""

    def __init__(self, environ: t.Any, max_body_bytes: int) -> None:
        self.request = Request(environ)
        self.request.max_content_length = max_body_bytes
        self.method = self.request.method
        self.path = self.request.path

    def read(self) -> MockRequest:
        return read_request(self.request)

    def unread(self) -> MockRequest:
        return unreadable_request(self.request)

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    def close(self) -> None:
        self.request.close()


def read_request(request: Request) -> MockRequest:
    """Build the pipeline's view of a Werkzeug request.

    :raise 413: the body is over the configured limit.
    :raise 400: a form body that cannot be parsed.
    """
    body = request.environ.get(RAW_BODY)
    if body is None:
        try:
            body = request.get_data(cache=True)
        except RequestEntityTooLarge as exc:
            raise body_too_large(request.max_content_length) from exc
    form, files = read_form(request.mimetype, request.mimetype_params.get("boundary"), body,
                            lambda: (MultiDict(request.form), MultiDict(request.files)))
    return MockRequest(
        method=request.method,
        path=request.path,
        query=MultiDict(request.args),
        headers=request.headers,
        cookies=_cookies(request),
        body=body,
        mimetype=request.mimetype or "",
        content_type=request.content_type or "",
        files=files,
        form=form,
    )


def body_too_large(limit: int | None) -> PayloadTooLarge:
    """The 413 for a body over ``limit`` bytes, in the same words whichever source read it."""
    return PayloadTooLarge(f"request body is larger than the limit of {limit} bytes")


def read_form(mimetype: str, boundary: str | None, body: bytes, by_werkzeug: t.Callable[[], Forms]) -> Forms:
    """The fields and files of a form body (none for any other body); ``by_werkzeug`` parses what is not plain.

    :raise InvalidRequest: multipart without a boundary, or a form Werkzeug cannot parse.
    :raise PayloadTooLarge: a form over Werkzeug's limits.
    """
    if not (body and is_form(mimetype)):
        return NO_ITEMS, NO_ITEMS
    if mimetype == MULTIPART and not boundary:
        raise InvalidRequest("multipart/form-data body without a boundary parameter in Content-Type")
    plain = parse_plain_form(body, boundary) if boundary else None
    if plain is not None:
        return plain
    try:
        return by_werkzeug()
    except RequestEntityTooLarge as exc:
        raise PayloadTooLarge("request body is larger than the configured limit") from exc
    except ValueError as exc:
        raise InvalidRequest(f"form body cannot be parsed: {exc}") from exc


# Content-Type values repeat request after request: parsed once each
@functools.lru_cache(maxsize=1024)
def content_type_parts(value: str) -> tuple[str, dict[str, str]]:
    """``"Multipart/Form-Data; boundary=x"`` → ``("multipart/form-data", {"boundary": "x"})``, as Werkzeug parses it."""
    mimetype, params = parse_options_header(value)
    return mimetype.lower(), params


def _cookies(request: Request) -> MultiDict[str, str]:
    # parsing an absent Cookie header still costs a few percent of a request
    return MultiDict(request.cookies) if "HTTP_COOKIE" in request.environ else NO_ITEMS


def unreadable_request(request: Request) -> MockRequest:
    """What the journal keeps of a request whose body could not be read (too large, broken form)."""
    return MockRequest(method=request.method, path=request.path, query=MultiDict(request.args),
                       headers=request.headers, cookies=_cookies(request), body=b"",
                       mimetype=request.mimetype or "", content_type=request.content_type or "")
