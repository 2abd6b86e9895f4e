"""Run the RSGI front under granian: one supervisor process and one worker process.

`mocksrv serve` builds everything (specs, fixtures, store) before the fork, so the worker
starts serving at once and every error is reported before anything listens. The worker
holds all state; there is exactly one, so a record created by one request is seen by the
next and rate limits count every request (docs/performance.md).

The supervisor forwards SIGTERM/SIGINT to the worker, which stops accepting, finishes the
requests already received (`Front.__rsgi_del__`), closes the store and exits; then the
supervisor exits 0. If the supervisor dies (even by SIGKILL), the kernel kills the worker
too (``PR_SET_PDEATHSIG``), so no orphan keeps the port or the ``--db`` file.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import signal
import socket
import sys
import typing as t

PR_SET_PDEATHSIG = 1
GRANIAN_LOGGING = {"loggers": {"_granian": {"handlers": [], "propagate": True}}}  # into our log queue


def free_port(host: str, port: int) -> int:
    """The port to listen on: ``port`` if it is free, any free one for 0.

    :raise OSError: the port is taken (or the address is not ours).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, port))
        return int(probe.getsockname()[1])


def serve(front: t.Any, host: str, port: int, backlog: int = 1024) -> None:
    """Serve until a stop signal; returns once the worker has drained and exited.

    :raise SystemExit: with status 1 if the worker died unexpectedly.
    """
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    server = Granian(
        target="mocksrv", address=host, port=port, interface=Interfaces.RSGI, workers=1, websockets=False,
        backlog=backlog, log_level=LogLevels.warning, log_dictconfig=GRANIAN_LOGGING)
    # objects built so far stay untouched by the worker's garbage collector, so the fork shares their pages
    gc.freeze()
    server.serve(target_loader=lambda *args, **kwargs: front, wrap_loader=False)


def die_with(parent_pid: int) -> None:
    """In the worker: be killed when the supervisor goes, however it goes (Linux; elsewhere only a
    supervisor that is stopped, not killed, takes its worker along)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # it went before prctl took effect
        os._exit(1)
