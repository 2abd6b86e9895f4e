"""Flask glue for the mocked APIs: Werkzeug request → `MockRequest` → pipeline → response.

The only place that knows about Flask's request object on the mock side. One log line
per request: method, path, status, milliseconds.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request
from flask.blueprints import BlueprintSetupState
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import PathConverter

from .datatypes import MockRequest
from .errors import InvalidRequest
from .errors import MockError
from .errors import PayloadTooLarge
from .pipeline import Outcome
from .pipeline import Pipeline
from .pipeline import to_response
from .synth import problem

log = logging.getLogger("mocksrv.requests")
bp = Blueprint("mock", __name__)


class AnyPath(PathConverter):
    """Werkzeug's ``path`` stops at a newline; an API path parameter may hold an encoded one (``%0A``)."""

    regex = "[^/](?s:.*?)"


@bp.record_once
def _add_converter(setup: BlueprintSetupState) -> None:
    # recorded before the routes below, so the converter exists when they are added
    setup.app.url_map.converters.setdefault("anypath", AnyPath)
ALL_METHODS = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"]
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def pipeline() -> Pipeline:
    return current_app.extensions["mocksrv"].pipeline  # type: ignore[no-any-return]


def read_request() -> MockRequest:
    """Build the pipeline's view of the current request.

    :raise 413: the body is over the configured limit.
    :raise 400: a form body that cannot be parsed.
    """
    try:
        body = request.get_data(cache=True)
    except RequestEntityTooLarge as exc:
        raise PayloadTooLarge(f"request body is larger than the limit of {request.max_content_length} bytes") from exc
    form: MultiDict[str, str] = MultiDict()
    files: MultiDict[str, object] = MultiDict()
    if request.mimetype in FORM_TYPES and body:
        if request.mimetype == "multipart/form-data" and not request.mimetype_params.get("boundary"):
            raise InvalidRequest("multipart/form-data body without a boundary parameter in Content-Type")
        try:
            form, files = MultiDict(request.form), MultiDict(request.files)
        except RequestEntityTooLarge as exc:
            raise PayloadTooLarge("request body is larger than the configured limit") from exc
        except ValueError as exc:
            raise InvalidRequest(f"form body cannot be parsed: {exc}") from exc
    return MockRequest(
        method=request.method,
        path=request.path,
        query=MultiDict(request.args),
        headers=request.headers,
        cookies=MultiDict(request.cookies),
        body=body,
        mimetype=request.mimetype or "",
        content_type=request.content_type or "",
        files=files,
        form=form,
    )


@bp.route("/", defaults={"path": ""}, methods=ALL_METHODS)
@bp.route("/<anypath:path>", methods=ALL_METHODS)
def mock(path: str) -> Response:
    started = time.perf_counter()
    real_time = time.time()
    mock_request: MockRequest | None = None
    try:
        mock_request = read_request()
        outcome = pipeline().handle(mock_request)
    except MockError as error:  # the request could not even be read
        outcome = Outcome(to_response(problem(error)), None, error)
    duration = (time.perf_counter() - started) * 1000
    state = pipeline().state
    state.journal.record(
        mock_request or _unreadable(), outcome.response,
        api=outcome.match.api.id if outcome.match else None,
        operation_id=outcome.match.operation.key if outcome.match else None,
        error=outcome.error, time=state.clock.now(), real_time=real_time, duration_ms=duration)
    if outcome.drop:
        # promise a body and send none: the server closes the connection mid-response
        response = Response(b"", status=200)
        response.headers["Content-Length"] = "1024"
        log.info("%s %s dropped (fault) %.1fms", request.method, request.full_path.rstrip("?"), duration)
        return response
    response = Response(outcome.response.body, status=outcome.response.status)
    response.headers.clear()
    for name, value in outcome.response.headers:
        response.headers.add(name, value)
    log.info("%s %s %s %.1fms", request.method, request.full_path.rstrip("?"), response.status_code, duration)
    return response


def _unreadable() -> MockRequest:
    """What the journal keeps of a request whose body could not be read (too large, broken form)."""
    return MockRequest(method=request.method, path=request.path, query=MultiDict(request.args),
                       headers=request.headers, cookies=MultiDict(request.cookies), body=b"",
                       mimetype=request.mimetype or "", content_type=request.content_type or "")

