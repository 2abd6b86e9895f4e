"""Run the WSGI server until SIGTERM/SIGINT, then drain: finish in-flight requests, stop.

On a stop signal the listening socket closes at once (new connections are refused), the
requests already received are answered (up to ``grace`` seconds), the worker threads end,
and the store is closed. Every write was already fsynced before its answer, so nothing
acknowledged can be lost either way.
"""

from __future__ import annotations

import logging
import signal
import time
import typing as t

log = logging.getLogger(__name__)


def run_until_stopped(server: t.Any, on_stopped: t.Callable[[], None], grace: float = 10.0) -> None:
    """Serve until a stop signal, then drain in-flight requests and call ``on_stopped``."""
    import waitress.wasyncore as wasyncore

    stopping: list[str] = []

    def stop(signum: int, frame: t.Any) -> None:
        # only note it: raising here could land inside a handler, where the event loop swallows it
        stopping.append(signal.Signals(signum).name)
        server.pull_trigger()  # wake the loop now rather than at its next timeout

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stopping:
            wasyncore.loop(timeout=server.adj.asyncore_loop_timeout, map=server._map, use_poll=True, count=1)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.warning("%s: draining in-flight requests (up to %.0f s)", stopping[0], grace)
    _drain(server, grace)
    on_stopped()


def _drain(server: t.Any, grace: float) -> None:
    import waitress.wasyncore as wasyncore

    # stop accepting: the listening socket goes, the channels and the wake-up trigger stay
    wasyncore.dispatcher.close(server)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _busy(server):
        wasyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)
    server.task_dispatcher.shutdown(cancel_pending=False, timeout=max(0.0, deadline - time.monotonic()))


def _busy(server: t.Any) -> bool:
    """Any connection with a request being handled or an answer not yet sent."""
    for channel in list(server._map.values()):
        if getattr(channel, "requests", None) or getattr(channel, "total_outbufs_len", 0):
            return True
    return False
