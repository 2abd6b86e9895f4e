"""The mocked APIs' dispatcher: a request (from any `RequestSource`) → `MockRequest` → pipeline → response.

`ApiDispatcher` sits in front of Flask: a request for a mocked API goes straight to the pipeline
(Flask's request context and URL matching cost as much as a third of a request), anything
under ``/__mocksrv`` goes on to Flask (admin API and console). One log line per request:
method, path, status, milliseconds.
"""

from __future__ import annotations

import contextlib
import logging
import time
import typing as t

from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response

from mocksrv.engine.pipeline import Answer
from mocksrv.engine.pipeline import Pipeline
from mocksrv.engine.pipeline import to_response
from mocksrv.engine.responses import json_text
from mocksrv.engine.responses import problem
from mocksrv.engine.sessions import Sessions
from mocksrv.engine.sessions import split_session
from mocksrv.errors import MockError
from mocksrv.errors import NotFound
from mocksrv.errors import RecordChanged
from mocksrv.errors import StoreError
from mocksrv.errors import state_unavailable
from mocksrv.exchange import MockRequest
from mocksrv.exchange import MockResponse
from mocksrv.wire.reading import RequestSource
from mocksrv.wire.reading import WerkzeugSource

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

REQUEST_LOG = "mocksrv.requests"  # one line per mocked request; `serve --quiet` turns it off
log = logging.getLogger(REQUEST_LOG)
ADMIN_PREFIX = "/__mocksrv"
DROPPED_LENGTH = "1024"  # a dropped answer promises this many bytes and sends none


class ApiDispatcher:
    """WSGI middleware: mocked API requests to the pipeline, ``/__mocksrv…`` to the wrapped (Flask) app.

    `mocksrv serve` calls `reply_to` from its RSGI front (rsgi.py), reading the request straight from
    granian's scope; this WSGI face (`reply`, `__call__`) serves Flask's test client and anyone embedding
    mocksrv in a WSGI server.
    """

    def __init__(self, admin_app: WSGIApplication, pipeline: Pipeline, max_body_bytes: int,
                 sessions: Sessions | None = None) -> None:
        self.admin_app = admin_app
        self.pipeline = pipeline
        self.max_body_bytes = max_body_bytes
        self.sessions = sessions

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

    def proxied(self, path: str) -> bool:
        """Whether a request to ``path`` goes on to an upstream (it waits on the network: not on the event loop)."""
        upstreams = self.pipeline.proxied_apis()
        if not upstreams:
            return False
        scoped = split_session(path)
        path = scoped[1] if scoped is not None else path
        return any(path == api.mount or path.startswith(api.mount.rstrip("/") + "/")
                   for api in self.pipeline.apis if api.id in upstreams)

    def reply(self, environ: WSGIEnvironment) -> Answer:
        """The answer to a mocked-API request from a WSGI environ; see `reply_to`."""
        here = environ.get("PATH_INFO", "")
        return self.reply_to(here, lambda path: WerkzeugSource(
            environ if path == here else {**environ, "PATH_INFO": path}, self.max_body_bytes))

    def reply_to(self, path: str, source_for: t.Callable[[str], RequestSource]) -> Answer:
        """The pipeline's answer to one mocked-API request for ``path``, journaled and logged; never raises.

        ``source_for`` reads the request, given the path to answer: ``path`` itself, or what is left of
        it under a session (``/@<session>/<api mount>…``, answered by that session's world).
        """
        pipeline = self.pipeline
        scoped = split_session(path)
        if scoped is not None:
            session = self.sessions.get(scoped[0]) if self.sessions is not None else None
            if session is None:
                gone = NotFound(f"no session {scoped[0]!r}: it was never made, was deleted, or expired unused")
                return Answer(to_response(problem(gone)), None, gone)
            path = scoped[1]
            pipeline = session.pipeline
        source = source_for(path)
        try:
            outcome = answer(source, pipeline)
        except HTTPException as error:
            outcome = Answer(error_response(error), None)
        except Exception:  # a bug: the client gets a 500 problem, the log gets the traceback
            log.exception("%s %s failed", source.method, _logged_target(source, pipeline))
            outcome = Answer(error_response(InternalError()), None)
        finally:
            source.close()  # the uploaded files' spooled temporary files, at once rather than when collected
        if outcome.preflight_of is None:  # every answer a browser page may read, errors and faults too
            pipeline.cors.decorate(source.header("Origin"), outcome.response)
        return outcome


def _logged_target(source: RequestSource, pipeline: Pipeline) -> str:
    """The failed request's path and query for the log line, credentials masked."""
    try:
        return pipeline.state.journal.target(source.path, source.unread().query)
    except Exception:  # the query could not even be read: the path alone
        return source.path


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


def store_unavailable(error: StoreError) -> Response:
    """An admin or console call while the shared store (Redis) is lost: 503, saying so; the next call retries."""
    log.warning("admin call without the shared store: %s", error)
    reply = problem(state_unavailable(error))
    return Response(reply.body, status=reply.status, content_type=reply.media_type)


def answer(source: RequestSource, pipeline: Pipeline) -> Answer:
    """Run one mocked-API request through the pipeline, journal it, log it.

    With a shared store the request's first store call checks that the world is the one this process
    follows (`MockState.current`); if another replica changed it, nothing was done: the world is followed
    and the request runs again."""
    started = time.perf_counter()
    real_time = time.time()
    try:
        mock_request: MockRequest | None = source.read()
        unreadable = None
    except MockError as error:  # the request could not even be read
        mock_request, unreadable = None, Answer(to_response(problem(error)), None, error)
    state = pipeline.state
    journaled = mock_request or source.unread()  # what was read of it, for the journal and the log

    def once() -> Answer:
        outcome = unreadable or pipeline.handle(t.cast(MockRequest, mock_request))
        duration = (time.perf_counter() - started) * 1000 + outcome.delay * 1000
        state.journal.record(
            journaled, outcome.response,
            api=outcome.match.api.id if outcome.match else outcome.error.api_id if outcome.error
            else outcome.preflight_of,
            operation_id=outcome.match.operation.key if outcome.match else None,
            error=outcome.error, time=state.clock.now(), real_time=real_time, duration_ms=duration,
            preflight=outcome.preflight_of is not None, deliveries=outcome.deliveries, upstream=outcome.upstream)
        if log.isEnabledFor(logging.INFO):  # not under --quiet
            status = "dropped (fault)" if outcome.drop else outcome.response.status
            log.info("%s %s %s %.1fms", source.method, state.journal.target(source.path, journaled.query), status,
                     duration)
        return outcome

    try:
        with state.current():
            return once()
    except RecordChanged:  # another replica changed the world since this one followed it
        with contextlib.suppress(StoreError):  # the store gone: the request itself finds that and says so
            state.refresh()
        return once()
