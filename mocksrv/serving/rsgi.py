"""The RSGI application `mocksrv serve` runs under granian: HTTP parsing and socket I/O happen
in granian's Rust threads, Python sees one call per request on an asyncio loop.

Mocked-API requests run inline on the loop: the pipeline is CPU-bound and needs well under a
millisecond, and one thread avoids the GIL hand-offs that cost a thread pool a third of its
throughput (docs/performance.md). Waits never block the loop: an injected latency is an
``asyncio.sleep`` after the pipeline has answered. The admin API and the console are Flask
(WSGI), so they run in a small thread pool with a WSGI environ built from the RSGI scope.

One app may serve several listeners (HTTP and HTTPS side by side): granian calls
``__rsgi_init__`` once per listener, and only the first sets things up.

On shutdown (`stop`), requests already received finish first (up to ``grace`` seconds), then
``on_stop`` runs (the store is closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import typing as t
from concurrent.futures import ThreadPoolExecutor

from mocksrv.engine.pipeline import Answer
from mocksrv.engine.pipeline import to_response
from mocksrv.engine.responses import problem
from mocksrv.errors import InvalidRequest
from mocksrv.serving.scope import ScopeSource
from mocksrv.serving.scope import wsgi_environ
from mocksrv.serving.wsgi import DROPPED_LENGTH
from mocksrv.serving.wsgi import ApiDispatcher
from mocksrv.serving.wsgi import InternalError
from mocksrv.serving.wsgi import error_response
from mocksrv.serving.wsgi import is_admin_path

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

log = logging.getLogger(__name__)
PROXY_THREADS = 32  # proxied requests waiting on their upstreams at once; more queue


class RsgiApp:
    """The RSGI app: ``__rsgi__`` per request, ``__rsgi_init__`` when granian starts (once per listener),
    `stop` after every listener stopped."""

    def __init__(self, app: WSGIApplication, mock: ApiDispatcher, *, admin_threads: int, grace: float,
                 on_listening: t.Callable[[], None], on_stop: t.Callable[[], None], listeners: int = 1) -> None:
        self.app = app  # the whole WSGI app (Flask with ApiDispatcher in front), for /__mocksrv
        self.mock = mock
        self.admin_threads = admin_threads
        self.grace = grace
        self.on_listening = on_listening
        self.on_stop = on_stop
        self.listeners = listeners
        self.in_flight = 0
        self._started = 0  # listeners whose granian server has called __rsgi_init__
        self._idle: asyncio.Event | None = None
        self._admin: ThreadPoolExecutor | None = None
        self._proxy: ThreadPoolExecutor | None = None  # requests to upstreams wait on the network there
        self._loop: asyncio.AbstractEventLoop | None = None

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._started += 1
        if self._loop is None:  # the first listener: one loop, one admin pool, one in-flight count for all
            self._loop = loop
            self._idle = asyncio.Event()
            self._admin = ThreadPoolExecutor(max_workers=self.admin_threads, thread_name_prefix="mocksrv-admin")
            self._proxy = ThreadPoolExecutor(max_workers=PROXY_THREADS, thread_name_prefix="mocksrv-proxy")
        if self._started == self.listeners:
            # the loop runs this once the last listener is bound: only then may clients be told where to go
            loop.call_soon(self.on_listening)

    async def stop(self) -> None:
        """After granian stopped accepting: let the requests already received finish, then ``on_stop``."""
        log.warning("stopping: draining in-flight requests (%d, up to %.0f s)", self.in_flight, self.grace)
        if self.in_flight:
            assert self._idle is not None
            try:
                await asyncio.wait_for(self._idle.wait(), self.grace)
            except TimeoutError:
                log.warning("%d request(s) still in flight after %.0f s; stopping anyway", self.in_flight, self.grace)
        for pool in (self._admin, self._proxy):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=False)
        self.on_stop()

    async def __rsgi__(self, scope: t.Any, protocol: t.Any) -> None:
        self.in_flight += 1
        assert self._idle is not None
        self._idle.clear()
        try:
            await self._serve(scope, protocol)
        except _BodyCutShort as error:  # the client stopped sending (it may still be reading)
            log.info("%s %s 400 %s", scope.method, scope.path, error)
            reply = to_response(problem(InvalidRequest(str(error))))
            protocol.response_bytes(reply.status, reply.headers, reply.body)
        except Exception:  # a bug here: a 500 problem if nothing was sent yet, the traceback to the log
            log.exception("%s %s failed", scope.method, scope.path)
            reply = error_response(InternalError())
            with contextlib.suppress(Exception):
                protocol.response_bytes(reply.status, reply.headers, reply.body)
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()

    async def _serve(self, scope: t.Any, protocol: t.Any) -> None:
        body, length = await self._read_body(scope, protocol)
        if is_admin_path(scope.path):
            assert self._loop is not None
            environ = wsgi_environ(scope, body, length)
            status, headers, data = await self._loop.run_in_executor(self._admin, call_wsgi, self.app, environ)
            protocol.response_bytes(status, headers, data)
            return
        if self.mock.proxied(scope.path):
            assert self._loop is not None and self._proxy is not None
            outcome = await self._loop.run_in_executor(self._proxy, reply_from_scope, self.mock, scope, body, length)
        else:
            outcome = reply_from_scope(self.mock, scope, body, length)
        if outcome.delay:
            await asyncio.sleep(outcome.delay)
        if outcome.drop:
            # promise a body and break off: the client sees the connection close mid-response
            stream = protocol.response_stream(200, [("content-length", DROPPED_LENGTH)])
            await stream.send_bytes(b"\n")
            return
        response = outcome.response
        protocol.response_bytes(response.status, response.headers, response.body)

    async def _read_body(self, scope: t.Any, protocol: t.Any) -> tuple[bytes, int | None]:
        """The body, unless it is over the limit: then none, and the length it has (the pipeline answers 413)."""
        limit = self.mock.max_body_bytes
        declared = scope.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return b"", int(declared)
        if declared is not None:
            try:
                return await protocol(), None
            except Exception as error:  # granian's own protocol errors: the client stopped sending
                raise _BodyCutShort(f"the request body ended before the {declared} bytes its Content-Length "
                                    "promised") from error
        chunks: list[bytes] = []  # no Content-Length (chunked): stop reading once over the limit
        size = 0
        try:
            async for chunk in protocol:
                size += len(chunk)
                if size > limit:
                    return b"", size
                chunks.append(chunk)
        except Exception as error:
            raise _BodyCutShort("the chunked request body ended without its last chunk") from error
        return b"".join(chunks), None


class _BodyCutShort(Exception):
    """The client stopped sending before the body was complete."""


def reply_from_scope(mock: ApiDispatcher, scope: t.Any, body: bytes, length: int | None) -> Answer:
    """The mocked API's answer, the request read straight from the scope (no WSGI environ)."""
    return mock.reply_to(scope.path, lambda path: ScopeSource(scope, path, body, length, mock.max_body_bytes))


def call_wsgi(app: WSGIApplication, environ: WSGIEnvironment) -> tuple[int, list[tuple[str, str]], bytes]:
    """Run a WSGI app to completion: status, headers and the whole body."""
    started: list[t.Any] = []

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: t.Any = None) -> t.Callable[[bytes], object]:
        started[:] = [int(status[:3]), headers]
        return lambda data: None  # the legacy write() callable; Flask never uses it

    result = app(environ, start_response)
    try:
        data = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return started[0], started[1], data
