"""Run the RSGI front under granian, in this process, until SIGTERM or SIGINT.

`mocksrv serve` builds everything (specs, fixtures, store, certificates) first, so every error
is reported before anything listens. Then granian's embedded server runs on this process's
uvloop, one per listener (HTTP, HTTPS, or both side by side on two ports, one app behind both):
HTTP parsing and socket I/O in granian's Rust thread, every request answered on
the loop. One process holds all state, so a record created by one request is seen by the
next and rate limits count every request; and no second process shares (and copies, page
by page, as it touches them) the records and compiled specs (docs/decisions.md). With a
shared store, ``--workers N`` runs this same server in N forked processes (workers.py).

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
from contextlib import ExitStack
from dataclasses import dataclass

if t.TYPE_CHECKING:
    from mocksrv.serving.rsgi import RsgiApp
    from mocksrv.serving.tls import Certificate

# granian logs into our queue; its one warning on every start ("embedded is experimental") is
# a decision we took and wrote down, not news for the user
GRANIAN_LOGGING = {
    "filters": {"not_experimental": {"()": "mocksrv.serving.lifecycle.NotExperimental"}},
    "loggers": {"_granian": {"handlers": [], "propagate": True, "filters": ["not_experimental"]}},
}


class NotExperimental(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "experimental" not in record.getMessage()


@dataclass(frozen=True)
class Listener:
    """One address granian listens on: plain HTTP, or HTTPS with ``tls``."""

    host: str
    port: int
    tls: Certificate | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"


def free_port(host: str, port: int) -> int:
    """The port to listen on: ``port`` if it is free, any free one for 0.

    :raise OSError: the port is taken (or the address is not ours).
    """
    return free_ports(host, [port])[0]


def free_ports(host: str, ports: t.Sequence[int]) -> list[int]:
    """The ports to listen on, each ``port`` if it is free, a free one for each 0 (never twice the same).

    :raise OSError: a port is taken (or the address is not ours); its ``filename`` is ``host:port``.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with ExitStack() as probes:  # all held at once, so two 0s cannot be given the same port
        found = []
        for port in ports:
            probe = probes.enter_context(socket.socket(family, socket.SOCK_STREAM))
            try:
                probe.bind((host, port))
            except OSError as error:
                raise OSError(error.errno, error.strerror, f"{host}:{port}") from error
            found.append(int(probe.getsockname()[1]))
        return found


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


def serve(front: RsgiApp, listeners: t.Sequence[Listener], backlog: int = 1024) -> None:
    """Serve until a stop signal; returns once in-flight requests are answered and the store is closed.

    Each listener is its own granian server on this loop, all calling ``front``; when one stops (a signal,
    or its worker failed) all stop, so the process never goes on serving one port of two.
    """
    import uvloop
    from granian.constants import Interfaces
    from granian.constants import SSLProtocols
    from granian.log import LogLevels
    from granian.server.embed import Server

    async def until_stopped() -> None:
        servers = [
            Server(front, address=listener.host, port=listener.port, interface=Interfaces.RSGI, websockets=False,
                   backlog=backlog, log_level=LogLevels.warning, log_dictconfig=GRANIAN_LOGGING,
                   ssl_cert=listener.tls.cert_file if listener.tls else None,
                   ssl_key=listener.tls.key_file if listener.tls else None,
                   # TLS 1.2 too: older clients (Java 8, .NET Framework, old curl/OpenSSL) reach a local mock;
                   # granian's TLS (rustls) offers only AEAD suites with forward secrecy on 1.2 (docs/decisions.md)
                   ssl_protocol_min=SSLProtocols.tls12)
            for listener in listeners]

        def stop_all() -> None:
            for server in servers:
                server.stop()  # type: ignore[no-untyped-call]

        loop = asyncio.get_running_loop()
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(number, stop_all)
        running = [loop.create_task(server.serve()) for server in servers]
        try:
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            stop_all()
            await asyncio.gather(*running)
        finally:
            await front.stop()

    uvloop.run(until_stopped())
