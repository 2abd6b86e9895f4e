"""Keep a file of JSON lines durable: replay on open, fsynced appends, compaction by atomic replace.

`EmbeddedStore` keeps ``--db`` in an `AppendLog`, one line per mutation (the entries are the
store's: ``put``, ``del``, ``seq``, ``load``; `mocksrv.state.store`). This module knows
lines, not entries::

    log = AppendLog(Path("store.jsonl"))
    log.replay(apply)                # every complete line, in order, as a JSON value
    log.append(b'{"op":"del","t":"a/b","id":"7"}\\n')   # durable when it returns
    if log.outgrown(live_records):
        log.compact(snapshot)        # one line that stands for all the lines before it

Each line is written, flushed and fsynced before `append` returns, so a write that returned
survives a crash. A crash mid-write can only leave a torn last line (no newline, or bad JSON);
`replay` ignores it and truncates it away. A bad line anywhere else is corruption and raises
`StoreError` naming the file and the line. `compact` writes the snapshot to a temporary file in
the same folder, fsyncs it, moves it over the log with ``os.replace`` and fsyncs the folder, so
the file is always either the old log or the new snapshot. The owner compacts on open and
whenever the log has more than 2 × live records + 1000 lines (`outgrown`), which keeps the
amortised cost of a write O(1). A file must be open in one `AppendLog` (one process) at a time.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import typing as t
from collections.abc import Callable
from pathlib import Path

from mocksrv.errors import StoreError

__all__ = ["LOG_FACTOR", "LOG_SLACK", "AppendLog"]

log = logging.getLogger(__name__)

# a log is outgrown when it is longer than LOG_FACTOR × live records + LOG_SLACK lines
LOG_FACTOR = 2
LOG_SLACK = 1000


class AppendLog:
    """One append-only file of JSON lines.

    :raise StoreError: the folder does not exist (the file is created, folders are not).
    """

    def __init__(self, path: Path) -> None:
        if not path.parent.is_dir():
            raise StoreError(f"{path}: the folder {path.parent} does not exist (mocksrv creates the file, not folders)")
        self.path = path
        self.lines = 0
        self._file: t.BinaryIO | None = None
        self._size = 0

    def replay(self, apply: Callable[[t.Any], None]) -> None:
        """Apply every complete entry in order; cut a torn last line away.

        :raise StoreError: a line other than the last is not a valid entry (not JSON, or
            ``apply`` refused it with `KeyError`, `TypeError`, `ValueError` or `AttributeError`).
        """
        good_size = 0  # bytes up to the end of the last good line
        pending: tuple[int, Exception] | None = None  # a bad line; torn if nothing follows it
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            handle = None
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot read the store: {exc}") from exc
        if handle is not None:
            with handle:
                for number, line in enumerate(handle, start=1):
                    if pending is not None:
                        raise StoreError(f"{self.path}:{pending[0]}: corrupt log line: {pending[1]}")
                    if not line.endswith(b"\n"):
                        # a write that never finished, so it was never acknowledged
                        pending = (number, ValueError("no line end"))
                        continue
                    try:
                        entry = json.loads(line)
                    except ValueError as exc:
                        pending = (number, exc)
                        continue
                    try:
                        apply(entry)
                    except (KeyError, TypeError, ValueError, AttributeError) as exc:
                        raise StoreError(f"{self.path}:{number}: invalid log entry: {exc!r}") from exc
                    good_size += len(line)
                    self.lines += 1
        if pending is not None:
            log.warning("%s:%d: ignoring a torn last line (a write interrupted by a crash)", self.path, pending[0])
            try:
                os.truncate(self.path, good_size)
            except OSError as exc:
                raise StoreError(f"{self.path}: cannot truncate a torn last line: {exc}") from exc
        self._size = good_size

    def append(self, line: bytes) -> None:
        """Write one entry (ending in a newline) and make it durable before returning.

        :raise StoreError: the write failed; the log is left as it was.
        """
        handle = self._open()
        try:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        except OSError as exc:
            self._undo_partial(exc)
            raise StoreError(f"{self.path}: write failed: {exc}") from exc
        self._size += len(line)
        self.lines += 1

    def outgrown(self, live: int) -> bool:
        """Whether the log is long enough, for ``live`` records, to be worth compacting."""
        return self.lines > LOG_FACTOR * live + LOG_SLACK

    def compact(self, snapshot: bytes) -> None:
        """Replace the log with ``snapshot`` (one line) atomically.

        :raise StoreError: the snapshot could not be written; the old log is still in place.
        """
        folder = self.path.parent
        try:
            fd, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.", suffix=".tmp")
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot write a snapshot: {exc}") from exc
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(snapshot)
                out.flush()
                os.fsync(out.fileno())
            # close first: Windows cannot replace a file that is still open
            self.close()
            os.replace(temp, self.path)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise StoreError(f"{self.path}: compaction failed: {exc}") from exc
        try:
            fsync_dir(folder)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot make the snapshot durable: {exc}") from exc
        self.lines = 1
        self._size = len(snapshot)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open(self) -> t.BinaryIO:
        if self._file is None:
            self._file = self.path.open("ab")
        return self._file

    def _undo_partial(self, cause: OSError) -> None:
        # A half-written line followed by later appends would read as corruption on the next
        # open, so cut the file back to the last complete line.
        try:
            self.close()
            os.truncate(self.path, self._size)
        except OSError as exc:
            raise StoreError(f"{self.path}: write failed ({cause}) and the log could not be repaired: {exc}") from exc


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; Windows cannot open a directory)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
