"""Run the RSGI front under granian, in this process, until SIGTERM or SIGINT.

`mocksrv serve` builds everything (specs, fixtures, store) first, so every error is
reported before anything listens. Then granian's embedded server runs on this process's
uvloop: HTTP parsing and socket I/O in granian's Rust thread, every request answered on
the loop. One process holds all state, so a record created by one request is seen by the
next and rate limits count every request; and no second process shares (and copies, page
by page, as it touches them) the records and compiled specs (docs/decisions.md).

On SIGTERM/SIGINT granian stops accepting, then `RsgiApp.stop` finishes the requests already
received and closes the store.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
import signal
import socket
import sys
import typing as t

if t.TYPE_CHECKING:
    from mocksrv.serving.rsgi import RsgiApp

# granian logs into our queue; its one warning on every start ("embedded is experimental") is
# a decision we took and wrote down, not news for the user
GRANIAN_LOGGING = {
    "filters": {"not_experimental": {"()": "mocksrv.serving.lifecycle.NotExperimental"}},
    "loggers": {"_granian": {"handlers": [], "propagate": True, "filters": ["not_experimental"]}},
}


class NotExperimental(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "experimental" not in record.getMessage()


def free_port(host: str, port: int) -> int:
    """The port to listen on: ``port`` if it is free, any free one for 0.

    :raise OSError: the port is taken (or the address is not ours).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, port))
        return int(probe.getsockname()[1])


def release_freed_memory() -> None:
    """Give the memory that loading used and freed back to the system.

    Parsing a large fixture file builds every record as Python objects before each becomes its
    JSON text; glibc keeps the freed heap for reuse unless asked (100k records: ~10 MiB).
    """
    gc.collect()
    gc.freeze()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
            libc.malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (musl has no malloc_trim): nothing to give back
            pass


def serve(front: RsgiApp, host: str, port: int, backlog: int = 1024) -> None:
    """Serve until a stop signal; returns once in-flight requests are answered and the store is closed."""
    import uvloop
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server.embed import Server

    async def until_stopped() -> None:
        server = Server(front, address=host, port=port, interface=Interfaces.RSGI, websockets=False,
                        backlog=backlog, log_level=LogLevels.warning, log_dictconfig=GRANIAN_LOGGING)
        loop = asyncio.get_running_loop()
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(number, server.stop)
        await server.serve()
        await front.stop()

    uvloop.run(until_stopped())
