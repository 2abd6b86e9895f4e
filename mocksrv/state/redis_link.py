"""The commands every request sends to Redis, on a connection of the calling thread's own.

A request on the Redis store makes two to six round trips (the world's version, the records it reads
and writes, its journal entry), so what each costs on our side is most of what Redis adds to a
request. Through redis-py's client a command checks a connection out of the pool (a lock, and a
``poll`` of the socket to see it has no stale data), passes a retry wrapper with no retries, and a
script call goes through ``Script.__call__``: together about twice the CPU of the command itself
(docs/performance.md, "Scale-out on Redis"). Here each thread keeps one redis-py ``Connection``
made from the client's own pool settings (so ``rediss://``, timeouts and the database are the same)
and sends on it directly, each command packed by hiredis. The client stays for everything else (lists,
transactions, scans).

A caller may put an expectation on its thread's next command (`expect`): that a field of a hash still
holds a text it read before (a request's world version). The check travels in the same round trip (a read
first in the pipeline; a script's first lines), and when it fails the command is not made (a script) or
its replies are dropped (reads) and `RecordChanged` is raised.

A connection belongs to the process that opened it: a worker forked by ``--workers`` after the
parent built the app opens its own instead of speaking on the parent's socket. A lost connection is
dropped (by redis-py) and the error raised; the next command connects again: what the pool does, with
the same no-retry policy, so a write is never sent twice.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
import typing as t
from dataclasses import dataclass
from dataclasses import field

import hiredis
import redis

from mocksrv.errors import RecordChanged

# what a script sent under an expectation answers when the expectation fails
_CHANGED = "MOCKSRV_CHANGED"
# the expectation's check, before the script's own lines: the last key is the hash, the last two
# arguments the field and the text it must hold ('' for none)
_CHECK = f"""
if (redis.call('HGET', KEYS[#KEYS], ARGV[#ARGV - 1]) or '') ~= ARGV[#ARGV] then
  return redis.error_reply('{_CHANGED} the record expected has changed')
end
"""


@dataclass(frozen=True)
class LuaScript:
    """A Lua script by its source and the SHA1 Redis caches it under."""

    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode(), usedforsecurity=False).hexdigest())

    @functools.cached_property
    def checked(self) -> LuaScript:
        """This script after an expectation's check (`RedisLink.expect`): one more key and two more arguments."""
        return LuaScript(_CHECK + self.source)


@dataclass(frozen=True)
class Expectation:
    """That field ``field`` of hash ``key`` holds ``text`` ("": the field is absent)."""

    key: str
    field: str
    text: str


class RedisLink:
    """One connection per thread and process to the Redis of ``pool``.

    :raise redis.RedisError: as redis-py raises it (the caller turns it into a `StoreError`).
    """

    def __init__(self, pool: redis.ConnectionPool) -> None:
        self._pool = pool
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[t.Any] = []  # redis-py Connections (untyped there)

    def expect(self, expectation: Expectation | None) -> None:
        """Check ``expectation`` with this thread's next command, script or `confirm` (None: check nothing).
        Commands and pipelines under an expectation must only read: their replies are dropped when it fails."""
        self._local.expected = expectation

    def confirm(self) -> None:
        """Check the expectation on this thread now, in a round trip of its own (before a call that cannot carry it)."""
        expected = self._taken()
        if expected is not None:
            self._checked(expected, [])

    def command(self, *args: t.Any) -> t.Any:
        """Send one command and return its reply."""
        expected = self._taken()
        if expected is not None:
            return self._checked(expected, [args])[0]
        return self._send(*args)

    def pipeline(self, commands: t.Sequence[t.Sequence[t.Any]]) -> list[t.Any]:
        """Send several commands at once and return their replies, in one round trip."""
        expected = self._taken()
        if expected is not None:
            return self._checked(expected, commands)
        return self._pipelined(commands)

    def run(self, script: LuaScript, keys: t.Sequence[str], args: t.Sequence[t.Any]) -> t.Any:
        """Run ``script`` by its SHA1; once more with its source if this Redis has not cached it yet
        (a new or restarted server, or ``SCRIPT FLUSH``)."""
        expected = self._taken()
        if expected is not None:
            script, keys, args = script.checked, [*keys, expected.key], [*args, expected.field, expected.text]
        try:
            try:
                return self._send("EVALSHA", script.sha, len(keys), *keys, *args)
            except redis.exceptions.NoScriptError:
                return self._send("EVAL", script.source, len(keys), *keys, *args)
        except redis.ResponseError as error:
            if expected is not None and _CHANGED in str(error):  # as the script words it, whatever Redis puts first
                raise RecordChanged(f"{expected.key} {expected.field}") from None
            raise

    def _taken(self) -> Expectation | None:
        """The expectation on this thread, which the command about to be sent checks (only that one)."""
        expected: Expectation | None = getattr(self._local, "expected", None)
        if expected is not None:
            self._local.expected = None
        return expected

    def _checked(self, expected: Expectation, commands: t.Sequence[t.Sequence[t.Any]]) -> list[t.Any]:
        """The replies to ``commands``, read in the round trip that checks ``expected``."""
        seen, *replies = self._pipelined([("HGET", expected.key, expected.field), *commands])
        if (seen or "") != expected.text:
            raise RecordChanged(f"{expected.key} {expected.field}")
        return replies

    def _send(self, *args: t.Any) -> t.Any:
        connection = self._connection()
        connection.send_packed_command([_packed([args])])  # a lost connection: redis-py drops the socket, raises
        return connection.read_response()

    def _pipelined(self, commands: t.Sequence[t.Sequence[t.Any]]) -> list[t.Any]:
        if not commands:
            return []
        connection = self._connection()
        connection.send_packed_command([_packed(commands)])
        replies, refused = [], None
        for _ in commands:  # every reply is read, or the next command would get this one's
            try:
                replies.append(connection.read_response())
            except redis.ResponseError as error:
                refused = refused or error
        if refused is not None:
            raise refused
        return replies

    def close(self) -> None:
        """Close the connections opened (redis-py shuts a socket down only in the process that opened it, so a
        forked worker closing its copies leaves its parent's connections working)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.disconnect()

    def _connection(self) -> t.Any:
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == os.getpid():
            return held[1]
        connection = self._pool.connection_class(**self._pool.connection_kwargs)
        self._local.held = (os.getpid(), connection)
        with self._lock:
            self._opened.append(connection)
        return connection


def _packed(commands: t.Iterable[t.Sequence[t.Any]]) -> bytes:
    """Commands in Redis's protocol, packed by hiredis: the same bytes as redis-py's packer, which checks and
    encodes each argument in Python first (7 µs for a journal append, against 0.9)."""
    try:
        return b"".join(hiredis.pack_command(tuple(command)) for command in commands)
    except TypeError as error:  # as redis-py says it: an argument that is not str, bytes, int or float
        raise redis.DataError(str(error)) from None
