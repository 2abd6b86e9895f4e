"""The store on Redis (``mocksrv serve --store redis://HOST:PORT/DB``): the same records, sequences and
rate-limit windows as the embedded store, kept where several mocksrv processes can share them
(issue 22; docs/scale-out.md).

Per collection (``<api>/<collection>``, a "table"), a hash holds each record's JSON text by id and a
sorted set its insertion order (a replace keeps the place, as in the embedded store); a string holds
the highest integer id seen, so `next_id` never hands out a number twice. Every write that must be
atomic across processes is one Lua script (create-if-absent, delete, next id, a window hit); an
update reads, merges and writes under WATCH, retried when another process got there first. All keys
start with ``mocksrv:<namespace>:``, so one Redis can hold several worlds.

Lists read the whole collection and filter here (what the embedded store's TinyDB queries do too):
fine for the thousands of records a test world holds; docs/performance.md has the numbers.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import threading
import typing as t
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from types import TracebackType

import redis

from mocksrv.errors import StoreError
from mocksrv.errors import StoreUnavailable
from mocksrv.state.packing import as_json
from mocksrv.state.packing import strict_json
from mocksrv.state.redis_link import Expectation
from mocksrv.state.redis_link import LuaScript
from mocksrv.state.redis_link import RedisLink
from mocksrv.state.store import Created
from mocksrv.state.store import Numbered
from mocksrv.state.store import Record
from mocksrv.state.store import RecordId
from mocksrv.state.store import SeedRecord
from mocksrv.state.store import create_in_steps
from mocksrv.state.store import matches_where
from mocksrv.state.store import record_key
from mocksrv.state.store import record_text
from mocksrv.state.store import seed_tables
from mocksrv.state.store import sort_key
from mocksrv.state.store import table_name

# a record written (created or replaced): its text by id, its place in the order if new, its table
# listed, and the sequence kept above an integer id
_PUT_RECORD = """
local function put(records, order, counter, tables, high, id, text, table, integer)
  redis.call('HSET', records, id, text)
  if redis.call('ZSCORE', order, id) == false then
    redis.call('ZADD', order, redis.call('INCR', counter), id)
  end
  redis.call('SADD', tables, table)
  if integer ~= '' and tonumber(integer) > tonumber(redis.call('GET', high) or '0') then
    redis.call('SET', high, integer)
  end
end
"""
# KEYS: hash, order zset, order counter, tables set, high; ARGV: id, json, table name, integer id or "",
# "1" to write only a new record (create)
_PUT = LuaScript(_PUT_RECORD + """
if ARGV[5] == '1' and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
put(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
return 1
""")
# KEYS: as _PUT's; ARGV: the number drawn, then id, json, table name, integer id or "", the sequence's
# start. {0, the number due} if the sequence is not where the caller thought; else the number is drawn
# and {1, n} if the id is taken, {2, n} once created
_CREATE_NUMBERED = LuaScript(_PUT_RECORD + """
local due = math.max(tonumber(redis.call('GET', KEYS[5]) or '0') + 1, tonumber(ARGV[6]))
if tonumber(ARGV[1]) ~= due then return {0, due} end
redis.call('SET', KEYS[5], due)
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then return {1, due} end
put(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
return {2, due}
""")
# KEYS: hash, order zset; ARGV: id
_DELETE = LuaScript("""
local gone = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return gone
""")
# KEYS: high; ARGV: start
_NEXT_ID = LuaScript("""
local value = math.max(tonumber(redis.call('GET', KEYS[1]) or '0') + 1, tonumber(ARGV[1]))
redis.call('SET', KEYS[1], value)
return value
""")
# KEYS: window hash, windows set; ARGV: window number, limit
_HIT = LuaScript("""
redis.call('SADD', KEYS[2], KEYS[1])
local seen = redis.call('HMGET', KEYS[1], 'w', 'n')
local hits = 0
if seen[1] == ARGV[1] then hits = tonumber(seen[2]) end
if hits >= tonumber(ARGV[2]) then return {0, 0} end
hits = hits + 1
redis.call('HSET', KEYS[1], 'w', ARGV[1], 'n', hits)
return {1, tonumber(ARGV[2]) - hits}
""")


GUESSES = 3  # create_numbered: missed guesses (other processes drawing meanwhile) before the two-step way


class RedisStore:
    """`state.store.Store` on a Redis server.

    :param url: ``redis://HOST:PORT/DB`` (``rediss://`` for TLS), as redis-py reads it.
    :param namespace: what every key starts with after ``mocksrv:``; one world per namespace.
    :raise StoreError: Redis cannot be reached (one line, with the URL).
    """

    shared = True  # every process on the same Redis and namespace

    def __init__(self, url: str, namespace: str = "main", *, client: redis.Redis | None = None,
                 link: RedisLink | None = None) -> None:
        self.url = url
        self._prefix = f"mocksrv:{namespace}:"
        self._closed = False
        self._lock = threading.Lock()
        self._owns_client = client is None
        try:
            self._redis = client or redis.Redis.from_url(url, decode_responses=True, socket_timeout=5.0,
                                                         socket_connect_timeout=5.0)
            self._redis.ping()
        except (redis.RedisError, ValueError) as error:
            raise StoreUnavailable(f"cannot reach Redis at {url}: {error}") from None
        self._owns_link = link is None
        self._link = link or RedisLink(self._redis.connection_pool)
        self._due: dict[str, int] = {}  # per table, the number this process expects its sequence to give next

    # -- keys ------------------------------------------------------------------------------

    def _keys(self, name: str) -> tuple[str, str]:
        return f"{self._prefix}t:{name}", f"{self._prefix}o:{name}"

    def _high(self, name: str) -> str:
        return f"{self._prefix}h:{name}"

    def _write_keys(self, name: str) -> list[str]:
        """The keys a record write touches, in the order the write scripts take them."""
        return [*self._keys(name), f"{self._prefix}order", self._tables, self._high(name)]

    @property
    def _tables(self) -> str:
        return f"{self._prefix}tables"

    # -- records ---------------------------------------------------------------------------

    def get(self, api: str, collection: str, record_id: RecordId) -> Record | None:
        self._check_open()
        records_key = self._keys(table_name(api, collection))[0]
        return _record(self._linked(self._link.command, "HGET", records_key, record_key(record_id)))

    def get_many(self, api: str, wanted: Sequence[tuple[str, RecordId]]) -> builtins.list[Record | None]:
        self._check_open()
        texts = self._linked(self._link.pipeline, [("HGET", self._keys(table_name(api, collection))[0],
                                                 record_key(record_id)) for collection, record_id in wanted])
        return [_record(text) for text in texts]

    def put(self, api: str, collection: str, record_id: RecordId, record: Mapping[str, t.Any]) -> None:
        self._write(table_name(api, collection), record_key(record_id), record, only_new=False)

    def create(self, api: str, collection: str, record_id: RecordId, record: Mapping[str, t.Any]) -> bool:
        return self._write(table_name(api, collection), record_key(record_id), record, only_new=True)

    def update(self, api: str, collection: str, record_id: RecordId, changes: Mapping[str, t.Any]) -> Record | None:
        self._check_open()
        name, key = table_name(api, collection), record_key(record_id)
        changes_text = record_text(changes, f"changes to {name}/{key}")
        records = self._keys(name)[0]

        def merge(pipe: t.Any) -> Record | None:
            current = pipe.hget(records, key)
            if current is None:
                return None
            merged = {**json.loads(current), **json.loads(changes_text)}
            pipe.multi()
            pipe.hset(records, key, strict_json(merged))
            return t.cast(Record, merged)

        return t.cast(Record | None, self.call(self._redis.transaction, merge, records, value_from_callable=True))

    def delete(self, api: str, collection: str, record_id: RecordId) -> bool:
        return bool(self.run(_DELETE, self._keys(table_name(api, collection)), [record_key(record_id)]))

    def list(self, api: str, collection: str, *, where: Mapping[str, t.Any] | None = None,
             match: Callable[[Mapping[str, t.Any]], bool] | None = None, sort: str | None = None,
             descending: bool = False, offset: int = 0, limit: int | None = None
             ) -> tuple[builtins.list[Record], int]:
        if offset < 0 or (limit is not None and limit < 0):
            raise ValueError("offset and limit must not be negative")
        self._check_open()
        records_key, order_key = self._keys(table_name(api, collection))
        pipe = self._redis.pipeline(transaction=True)
        pipe.zrange(order_key, 0, -1)
        pipe.hgetall(records_key)
        order, texts = self.call(pipe.execute)
        found = [json.loads(texts[key]) for key in order if key in texts]
        if where or match is not None:
            found = [r for r in found if matches_where(r, where) and (match is None or match(r))]
        if sort is not None:
            present = [r for r in found if r.get(sort) is not None]
            absent = [r for r in found if r.get(sort) is None]
            present.sort(key=lambda r: sort_key(r[sort]), reverse=descending)
            found = present + absent
        end = None if limit is None else offset + limit
        return found[offset:end], len(found)

    def count(self, api: str, collection: str) -> int:
        self._check_open()
        return int(self.call(self._redis.hlen, self._keys(table_name(api, collection))[0]))

    def collections(self, api: str) -> builtins.list[str]:
        prefix = table_name(api, "")
        return sorted(name[len(prefix):] for name in self._live_tables() if name.startswith(prefix))

    def apis_with(self, collection: str) -> builtins.list[str]:
        suffix = "/" + collection
        return sorted(name[:-len(suffix)] for name in self._live_tables() if name.endswith(suffix))

    def next_id(self, api: str, collection: str, start: int = 1) -> int:
        return int(self.run(_NEXT_ID, [self._high(table_name(api, collection))], [start]))

    def create_numbered(self, api: str, collection: str, build: Numbered, *, attempts: int,
                        start: int = 1) -> Created | None:
        """One round trip where `next_id` and `create` take two: the record is made from the number this
        process expects the sequence to give next, and a script draws that number and creates the record
        only if the sequence is there (else it says where it is, and the record is made again). Exact
        whoever else draws; one create whose guesses miss more than ``GUESSES`` times falls back to the two steps."""
        self._check_open()  # before any record is made
        name = table_name(api, collection)
        keys = self._write_keys(name)
        number, draws, missed = self._due.get(name, start), 0, 0
        while draws < attempts:
            record_id, record = build(number)
            key = record_key(record_id)
            outcome, due = self.run(_CREATE_NUMBERED, keys, [number, key, record_text(record, f"record {name}/{key}"),
                                                             name, _integer(key), start])
            if outcome == 0:  # another process drew, or the sequences were reset
                missed += 1
                if missed > GUESSES:
                    return create_in_steps(self, api, collection, build, attempts - draws, start)
                number = int(due)
                continue
            draws += 1
            number = self._due[name] = int(due) + 1
            if outcome == 2:
                return record_id, record
        return None

    def replace_all(self, data: Mapping[str, Mapping[str, Sequence[tuple[RecordId, SeedRecord]]]]) -> None:
        """Drop every record and sequence and load ``data`` in one transaction.

        :raise StoreError: a record is not JSON or an id repeats; nothing is changed.
        """
        self._check_open()
        loaded = seed_tables(data, lambda record, what: as_json(record) if isinstance(record, bytes)
                             else record_text(record, what))
        old = self.call(self._redis.smembers, self._tables)
        pipe = self._redis.pipeline(transaction=True)
        for name in old:
            pipe.delete(*self._keys(name), self._high(name))
        pipe.delete(self._tables)
        for name, table in loaded.items():
            records_key, order_key = self._keys(name)
            if table:
                pipe.hset(records_key, mapping=t.cast(t.Any, table))
                pipe.zadd(order_key, {key: place for place, key in enumerate(table)})
                pipe.sadd(self._tables, name)
                high = max((int(key) for key in table if key.isascii() and key.isdigit()), default=0)
                if high:
                    pipe.set(self._high(name), high)
        self.call(pipe.execute)

    def is_empty(self) -> bool:
        return not self._live_tables()

    # -- counters --------------------------------------------------------------------------

    def window_hit(self, key: str, window: int, limit: int) -> tuple[bool, int]:
        """One hit in fixed window ``window``, counted exactly across every process sharing the Redis."""
        allowed, remaining = self.run(_HIT, [f"{self._prefix}w:{key}", f"{self._prefix}windows"], [window, limit])
        return bool(allowed), int(remaining)

    def window_count(self, key: str, window: int) -> int:
        self._check_open()
        current, hits = self._linked(self._link.command, "HMGET", f"{self._prefix}w:{key}", "w", "n")
        return int(hits) if current == str(window) else 0

    def reset_counters(self) -> None:
        self._check_open()
        windows = self.call(self._redis.smembers, f"{self._prefix}windows")
        if windows:
            self.call(self._redis.delete, *windows, f"{self._prefix}windows")

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                if self._owns_link:
                    self._link.close()
                if self._owns_client:
                    self._redis.close()

    def __enter__(self) -> RedisStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- for the other state kept on this Redis (state.redis_journal) ---------------------

    def key(self, name: str) -> str:
        """The Redis key for ``name`` in this store's namespace."""
        return self._prefix + name

    def run(self, script: LuaScript, keys: Sequence[str], args: Sequence[t.Any]) -> t.Any:
        """Run a Lua script on this thread's own connection (`redis_link`); errors as `call` gives them."""
        self._check_open()
        return self._linked(self._link.run, script, keys, args)

    @contextlib.contextmanager
    def expecting(self, api: str, collection: str, record_id: RecordId,
                  record: Mapping[str, t.Any] | None) -> t.Iterator[None]:
        """Until the block ends, this thread's next call first checks that the record is still ``record`` (None:
        absent), in the same round trip as the call's own; if it is not, the call is not made (its reads are
        dropped) and `RecordChanged` raised. For a request that decides from a record another process may
        change (its world's version) without a round trip of its own to read it."""
        name = table_name(api, collection)
        key = record_key(record_id)
        text = "" if record is None else record_text(record, f"record {name}/{key}")
        self._link.expect(Expectation(self._keys(name)[0], key, text))
        try:
            yield
        finally:
            self._link.expect(None)

    def confirm_expected(self) -> None:
        self._linked(self._link.confirm)

    @property
    def client(self) -> redis.Redis:
        return self._redis

    def sibling(self, namespace: str) -> RedisStore:
        """Another world on the same Redis, over this store's connections (a session's, the sessions' list)."""
        return RedisStore(self.url, namespace, client=self._redis, link=self._link)

    def drop(self) -> None:
        """Delete every key of this store's world (a session that is deleted)."""
        self._check_open()
        for batch in _batched(self.call(lambda: list(self._redis.scan_iter(match=f"{self._prefix}*", count=500)))):
            self.call(self._redis.delete, *batch)

    # -- internals -------------------------------------------------------------------------

    def _write(self, name: str, key: str, record: Mapping[str, t.Any], *, only_new: bool) -> bool:
        self._check_open()  # before the record is encoded: a closed store says so, whatever the record
        text = record_text(record, f"record {name}/{key}")
        return bool(self.run(_PUT, self._write_keys(name), [key, text, name, _integer(key), "1" if only_new else "0"]))

    def _live_tables(self) -> builtins.list[str]:
        self._check_open()
        names = sorted(self.call(self._redis.smembers, self._tables))
        if not names:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for name in names:
            pipe.hlen(self._keys(name)[0])
        sizes = self.call(pipe.execute)
        return [name for name, size in zip(names, sizes, strict=True) if size]

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")

    def call(self, method: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Run one call through redis-py's client (after checking an expectation, which it cannot carry); a
        lost connection is a `StoreError` saying so (one line)."""
        self.confirm_expected()
        return self._linked(method, *args, **kwargs)

    def _linked(self, method: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Run one call on this thread's connection (`redis_link`), which carries an expectation itself."""
        try:
            return method(*args, **kwargs)
        except redis.RedisError as error:
            raise StoreError(f"Redis at {self.url}: {error}") from None


def _record(text: str | None) -> Record | None:
    return None if text is None else t.cast(Record, json.loads(text))


def _integer(key: str) -> str:
    """An id that is an integer, for the script that keeps the sequence above it; else ""."""
    return key if key.isascii() and key.isdigit() else ""


def _batched(keys: builtins.list[str], size: int = 500) -> t.Iterator[builtins.list[str]]:
    for start in range(0, len(keys), size):
        yield keys[start:start + size]
