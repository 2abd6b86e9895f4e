"""The mocked APIs' side of the WSGI app: Werkzeug request → `MockRequest` → pipeline → response.

`MockFirst` sits in front of Flask: a request for a mocked API goes straight to the pipeline
(Flask's request context and URL matching cost as much as a third of a request), anything
under ``/__mocksrv`` goes on to Flask (admin API and console). One log line per request:
method, path, status, milliseconds.
"""

from __future__ import annotations

import logging
import time
import typing as t

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from .datatypes import MockRequest
from .datatypes import MockResponse
from .errors import InvalidRequest
from .errors import MockError
from .errors import PayloadTooLarge
from .multipart import parse_plain_form
from .pipeline import Outcome
from .pipeline import Pipeline
from .pipeline import to_response
from .synth import json_text
from .synth import problem

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

log = logging.getLogger("mocksrv.requests")
ADMIN_PREFIX = "/__mocksrv"
DROPPED_LENGTH = "1024"  # a dropped answer promises this many bytes and sends none


class MockFirst:
    """WSGI middleware: mocked API requests to the pipeline, ``/__mocksrv…`` to the wrapped (Flask) app.

    `mocksrv serve` runs the same `reply` behind its RSGI front (front.py); this WSGI face
    serves Flask's test client and anyone embedding mocksrv in a WSGI server.
    """

    def __init__(self, admin_app: WSGIApplication, pipeline: Pipeline, max_body_bytes: int) -> None:
        self.admin_app = admin_app
        self.pipeline = pipeline
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        if is_admin_path(environ.get("PATH_INFO", "")):
            return self.admin_app(environ, start_response)
        outcome = self.reply(environ)
        if outcome.delay:
            time.sleep(outcome.delay)
        if outcome.drop:  # promise a body and send none: the server closes the connection mid-response
            start_response("200 OK", [("Content-Length", DROPPED_LENGTH)])
            return [b""]
        response = outcome.response
        headers = [*response.headers, ("Content-Length", str(len(response.body)))]
        start_response(status_line(response.status), headers)
        return [response.body]

    def reply(self, environ: WSGIEnvironment) -> Outcome:
        """The pipeline's answer to one mocked-API request, journaled and logged; never raises."""
        request = Request(environ)
        request.max_content_length = self.max_body_bytes
        try:
            return answer(request, self.pipeline)
        except HTTPException as error:
            return Outcome(error_response(error), None)
        except Exception:  # a bug: the client gets a 500 problem, the log gets the traceback
            target = self.pipeline.state.journal.target(request.path, request.args)
            log.exception("%s %s failed", request.method, target)
            return Outcome(error_response(InternalError()), None)
        finally:
            request.close()  # the uploaded files' spooled temporary files, at once rather than when collected


def is_admin_path(path: str) -> bool:
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


def status_line(status: int) -> str:
    return f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}"


class InternalError(HTTPException):
    code = 500
    name = "Internal Server Error"
    description = "mocksrv failed to answer this request; its log has the details"


def error_response(error: HTTPException) -> MockResponse:
    """Werkzeug's own errors (413 …) as problem+json, never an HTML page."""
    status = error.code or 500
    body = {"type": "about:blank", "title": error.name, "status": status, "detail": error.description}
    return MockResponse(status, [("Content-Type", "application/problem+json")], json_text(body).encode(),
                        "application/problem+json")


def http_error(error: HTTPException) -> Response:
    """`error_response` for Flask's error handler (admin API and console)."""
    reply = error_response(error)
    return Response(reply.body, status=reply.status, content_type=reply.media_type)


FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def read_request(request: Request) -> MockRequest:
    """Build the pipeline's view of a request.

    :raise 413: the body is over the configured limit.
    :raise 400: a form body that cannot be parsed.
    """
    try:
        body = request.get_data(cache=True)
    except RequestEntityTooLarge as exc:
        raise PayloadTooLarge(f"request body is larger than the limit of {request.max_content_length} bytes") from exc
    form: MultiDict[str, str] = MultiDict()
    files: MultiDict[str, t.Any] = MultiDict()
    if request.mimetype in FORM_TYPES and body:
        boundary = request.mimetype_params.get("boundary")
        if request.mimetype == "multipart/form-data" and not boundary:
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


def answer(request: Request, pipeline: Pipeline) -> Outcome:
    """Run one mocked-API request through the pipeline, journal it, log it."""
    started = time.perf_counter()
    real_time = time.time()
    mock_request: MockRequest | None = None
    try:
        mock_request = read_request(request)
        outcome = pipeline.handle(mock_request)
    except MockError as error:  # the request could not even be read
        outcome = Outcome(to_response(problem(error)), None, error)
    duration = (time.perf_counter() - started) * 1000 + outcome.delay * 1000
    state = pipeline.state
    state.journal.record(
        mock_request or _unreadable(request), outcome.response,
        api=outcome.match.api.id if outcome.match else outcome.error.api_id if outcome.error else None,
        operation_id=outcome.match.operation.key if outcome.match else None,
        error=outcome.error, time=state.clock.now(), real_time=real_time, duration_ms=duration)
    status = "dropped (fault)" if outcome.drop else outcome.response.status
    log.info("%s %s %s %.1fms", request.method, state.journal.target(request.path, request.args), status, duration)
    return outcome


def _cookies(request: Request) -> MultiDict[str, str]:
    # parsing an absent Cookie header still costs a few percent of a request
    return MultiDict(request.cookies) if "HTTP_COOKIE" in request.environ else MultiDict()


def _unreadable(request: Request) -> MockRequest:
    """What the journal keeps of a request whose body could not be read (too large, broken form)."""
    return MockRequest(method=request.method, path=request.path, query=MultiDict(request.args),
                       headers=request.headers, cookies=_cookies(request), body=b"",
                       mimetype=request.mimetype or "", content_type=request.content_type or "")

