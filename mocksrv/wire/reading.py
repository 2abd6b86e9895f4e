"""A Werkzeug request read into the engine's `MockRequest`: the body under the size limit, form
bodies parsed (plain multipart by `multipart`, anything else by Werkzeug)."""

from __future__ import annotations

import typing as t

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request

from mocksrv.errors import InvalidRequest
from mocksrv.errors import PayloadTooLarge
from mocksrv.exchange import MockRequest
from mocksrv.wire.media import MULTIPART
from mocksrv.wire.media import is_form
from mocksrv.wire.multipart import parse_plain_form

# an environ key for the whole body when the server has read it already (under the size limit): read_request
# takes it as it is instead of reading it back through Werkzeug's limited stream
RAW_BODY = "mocksrv.body"


def read_request(request: Request) -> MockRequest:
    """Build the pipeline's view of a request.

    :raise 413: the body is over the configured limit.
    :raise 400: a form body that cannot be parsed.
    """
    body = request.environ.get(RAW_BODY)
    if body is None:
        try:
            body = request.get_data(cache=True)
        except RequestEntityTooLarge as exc:
            limit = request.max_content_length
            raise PayloadTooLarge(f"request body is larger than the limit of {limit} bytes") from exc
    form: MultiDict[str, str] = MultiDict()
    files: MultiDict[str, t.Any] = MultiDict()
    if is_form(request.mimetype) and body:
        boundary = request.mimetype_params.get("boundary")
        if request.mimetype == MULTIPART and not boundary:
            raise InvalidRequest("multipart/form-data body without a boundary parameter in Content-Type")
        plain = parse_plain_form(body, boundary) if boundary else None
        try:
            form, files = plain if plain is not None else (MultiDict(request.form), MultiDict(request.files))
        except RequestEntityTooLarge as exc:
            raise PayloadTooLarge("request body is larger than the configured limit") from exc
        except ValueError as exc:
            raise InvalidRequest(f"form body cannot be parsed: {exc}") from exc
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


def _cookies(request: Request) -> MultiDict[str, str]:
    # parsing an absent Cookie header still costs a few percent of a request
    return MultiDict(request.cookies) if "HTTP_COOKIE" in request.environ else MultiDict()


def unreadable_request(request: Request) -> MockRequest:
    """What the journal keeps of a request whose body could not be read (too large, broken form)."""
    return MockRequest(method=request.method, path=request.path, query=MultiDict(request.args),
                       headers=request.headers, cookies=_cookies(request), body=b"",
                       mimetype=request.mimetype or "", content_type=request.content_type or "")

