"""The request journal on Redis: one journal for every mocksrv process sharing the store (issue 22).

Each entry is one item of a capped stream (``XADD … MAXLEN``: past the journal's limit the oldest
go), its id handed out by the same Lua call from one counter, so ids grow across processes and
`mocksrv requests --follow` sees every replica's requests in order. A read walks the stream newest
first, a page at a time, so a filtered read with a small ``limit`` stops early.

While Redis is lost, a process journals its requests in its own memory (ids -1, -2, …, so they
never take a shared id) and shows them with the shared ones once Redis is back; they are not
copied into the stream.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import typing as t

from mocksrv.errors import StoreError
from mocksrv.state.journal import Entry
from mocksrv.state.journal import LocalEntries
from mocksrv.state.redis_link import LuaScript
from mocksrv.state.redis_store import RedisStore

log = logging.getLogger(__name__)
PAGE = 200  # entries read per round trip

# KEYS: stream, id counter; ARGV: the most entries kept, the entry's JSON
_APPEND = LuaScript("""
local id = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*', 'id', id, 'e', ARGV[2])
return id
""")


class RedisEntries:
    """`state.journal.EntryLog` on a Redis stream."""

    def __init__(self, store: RedisStore, limit: int) -> None:
        self._store = store
        self._limit = limit
        self._keys = [store.key("journal"), store.key("journal-ids")]
        self._offline = LocalEntries(limit, ids=itertools.count(-1, -1))

    def append(self, entry: Entry) -> None:
        try:
            entry.id = int(self._store.run(_APPEND, self._keys, [self._limit, entry.to_wire()]))
        except StoreError as error:
            log.warning("journaled in this process only: %s", error)
            self._offline.append(entry)

    def newest_first(self) -> t.Iterator[Entry]:
        """The shared entries, with this process's own from while Redis was lost merged in by time."""
        offline = list(self._offline.newest_first())
        if not offline:
            return self._shared()
        try:
            shared = list(self._shared())
        except StoreError:
            return iter(offline)
        return heapq.merge(shared, offline, key=lambda entry: -entry.real_time)

    def clear(self) -> None:
        self._offline.clear()
        self._store.call(self._store.client.delete, self._keys[0])

    def _shared(self) -> t.Iterator[Entry]:
        upper = "+"
        while True:
            page = self._store.call(self._store.client.xrevrange, self._keys[0], upper, "-", count=PAGE)
            for stream_id, fields in page:
                yield Entry.from_wire(int(fields["id"]), fields["e"])
                upper = f"({stream_id}"
            if len(page) < PAGE:
                return
