"""`mocksrv serve --workers N`: N forked processes serve the same port(s); the parent supervises them.

The parent builds everything once (specs, fixtures, the connection to the shared store, certificates)
and checks the ports are free, so every start-up error is still one line before anything listens. Then
it forks: each worker inherits the built app (its pages shared copy-on-write; `release_freed_memory`
froze the objects, so the collector does not write to them) and runs the embedded granian server of
lifecycle.py on the same port(s). granian binds every listener with SO_REUSEPORT, so the kernel spreads
new connections over the workers' sockets; the parent itself listens on nothing.

The parent forks with no thread of its own running (a lock a thread held would stay held in the child),
then waits: a worker says on a pipe once it listens, and when all have, ``on_ready`` runs (the start-up
line). SIGTERM or SIGINT to the parent goes on to every worker, which drains as one process does (and
the kernel sends a worker SIGTERM should the parent be killed outright); a worker that ends on its own
(a crash, the OOM killer) is said in one line and the others are stopped (docs/decisions.md: a smaller
server that looks healthy is worse than a stopped one a supervisor restarts).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import selectors
import signal
import sys
import time
import traceback
import typing as t
from contextlib import suppress

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
PR_SET_PDEATHSIG = 1  # linux/prctl.h
READY_BYTES = 2  # a worker's number on the readiness pipe

# in the worker: its number (1…N) and the call that tells the parent it listens; serves until stopped
Work = t.Callable[[int, t.Callable[[], None]], None]


def run_workers(count: int, work: Work, on_ready: t.Callable[[], None], stop_within: float) -> int:
    """Fork ``count`` workers, each running ``work``, and supervise them until all have ended.

    :param on_ready: runs in the parent once every worker listens.
    :param stop_within: seconds a worker may take to stop once told (its drain); then it is killed.
    :return: the parent's exit status: 0 after a stop signal, 1 when a worker ended on its own or
        had to be killed.
    """
    ready_read, ready_write = os.pipe()
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    received: list[int] = []
    handled = (*STOP_SIGNALS, signal.SIGCHLD)
    # blocked while forking: a signal then would find the parent without its handlers, or a child with them
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, handled)
    previous = {number: signal.signal(number, lambda number, _: received.append(number)) for number in handled}
    previous_wakeup = signal.set_wakeup_fd(wake_write)
    workers: dict[int, int] = {}  # pid -> worker number
    parent = os.getpid()
    try:
        for number in range(1, count + 1):
            pid = os.fork()
            if pid == 0:
                _stop_with_parent(parent)
                signal.set_wakeup_fd(-1)
                for signum, handler in previous.items():
                    signal.signal(signum, handler or signal.SIG_DFL)  # None: not set from Python
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                for inherited in (ready_read, wake_read, wake_write):
                    os.close(inherited)
                _be_worker(number, work, ready_write)
            workers[pid] = number
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    os.close(ready_write)
    try:
        return _Supervisor(workers, ready_read, wake_read, on_ready, stop_within).run(received)
    finally:
        signal.set_wakeup_fd(previous_wakeup)
        for signum, handler in previous.items():
            signal.signal(signum, handler or signal.SIG_DFL)
        for descriptor in (ready_read, wake_read, wake_write):
            os.close(descriptor)


def _stop_with_parent(parent: int) -> None:
    """Have the kernel send this worker SIGTERM when its parent dies (a SIGKILL leaves it no time to say so),
    so no worker goes on serving the port alone; Linux only (prctl PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


def _be_worker(number: int, work: Work, ready_write: int) -> t.NoReturn:
    """Serve as worker ``number``, then end this process without running the parent's exit handlers."""
    def ready() -> None:
        os.write(ready_write, number.to_bytes(READY_BYTES, "big"))  # one write: never split on the pipe

    status = 1
    try:
        work(number, ready)
        status = 0
    except SystemExit as ending:
        status = ending.code if isinstance(ending.code, int) else 1
    except BaseException:  # anything: a worker must never return into the parent's code
        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(status)


class _Supervisor:
    """The parent's loop: readiness from the pipe, signals through the wake-up descriptor, children reaped."""

    def __init__(self, workers: dict[int, int], ready_read: int, wake_read: int, on_ready: t.Callable[[], None],
                 stop_within: float) -> None:
        self.workers = workers
        self.count = len(workers)
        self.ready_read = ready_read
        self.wake_read = wake_read
        self.on_ready = on_ready
        self.stop_within = stop_within
        self.listening: set[int] = set()
        self.selector = selectors.DefaultSelector()
        self.deadline: float | None = None  # set once the workers were told to stop
        self.status = 0

    def run(self, received: list[int]) -> int:
        with self.selector:
            self.selector.register(self.ready_read, selectors.EVENT_READ)
            self.selector.register(self.wake_read, selectors.EVENT_READ)
            while self.workers:
                timeout = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
                for key, _ in self.selector.select(timeout):
                    if key.fd == self.ready_read:
                        self._note_ready()
                    else:
                        with suppress(BlockingIOError):
                            os.read(self.wake_read, 512)
                while received:
                    if received.pop(0) in STOP_SIGNALS:
                        self._stop_all()
                self._reap()
                if self.deadline is not None and time.monotonic() >= self.deadline and self.workers:
                    self._kill_the_rest()
        return self.status

    def _note_ready(self) -> None:
        announced = len(self.listening) == self.count
        said = os.read(self.ready_read, 128 * READY_BYTES)  # whole numbers: every write is READY_BYTES long
        if not said:  # every worker closed its end: they are ending, and will be reaped
            self.selector.unregister(self.ready_read)
        self.listening.update(int.from_bytes(said[at:at + READY_BYTES], "big")
                              for at in range(0, len(said), READY_BYTES))
        if not announced and len(self.listening) == self.count and self.deadline is None:
            self.on_ready()

    def _reap(self) -> None:
        for pid, number in list(self.workers.items()):
            done, code = os.waitpid(pid, os.WNOHANG)
            if done == 0:
                continue
            del self.workers[pid]
            if self.deadline is not None and code != 0:
                self.status = 1
                _say(f"worker {number} (pid {pid}) {_ending(code)} while stopping")
            elif self.deadline is None:  # nobody asked it to stop
                self.status = 1
                when = "" if number in self.listening else " before it was listening"
                _say(f"worker {number} (pid {pid}) {_ending(code)}{when}; stopping the other workers")
                self._stop_all()

    def _stop_all(self) -> None:
        if self.deadline is not None:
            return
        self.deadline = time.monotonic() + self.stop_within
        for pid in self.workers:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def _kill_the_rest(self) -> None:
        self.status = 1
        _say(f"{len(self.workers)} worker(s) still running {self.stop_within:.0f} s after SIGTERM; killing them")
        for pid in self.workers:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in list(self.workers):
            os.waitpid(pid, 0)
            del self.workers[pid]


def _ending(status: int) -> str:
    """How a process ended, from its wait status: ``exited with status 1``, ``was killed by SIGKILL``."""
    code = os.waitstatus_to_exitcode(status)
    if code >= 0:
        return f"exited with status {code}"
    try:
        return f"was killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"was killed by signal {-code}"


def _say(line: str) -> None:
    print(f"mocksrv: {line}", file=sys.stderr, flush=True)
