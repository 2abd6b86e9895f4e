"""Keep the mock server's state: JSON records in collections per API, plus volatile counters.

`Store` is what the rest of mocksrv asks of a store; two implementations keep it: `EmbeddedStore`
here (the default: in this process, TinyDB, optionally a log file) and `state.redis_store.RedisStore`
(``--store redis://…``, shared by several processes). This is the only module that imports tinydb.

TinyDB holds the records and answers the queries, through its public extension points only:
the records live in `PackedStorage` (a TinyDB ``Storage``: a dict per table, packed records in,
decoded records out), a ``Table`` subclass sets ``document_id_class`` so document ids are our
record keys, and ``list``'s ``where`` is a TinyDB ``Query`` (``==``, ``one_of``) run by
``Table.search`` with ``match`` added to it; counts and the collections holding records come
from TinyDB's tables too. Where TinyDB's API would cost more, the store uses the storage's
dicts itself, each place measured (docs/performance.md, "TinyDB's place in the embedded
store"): writes (every ``Table`` write rebuilds the whole table, O(n); here a write changes
the dict in place, O(1)), a read by id (``Table.get``: 1.4–1.6×), the page of an unfiltered
listing (TinyDB has no paging, and ``all()`` decodes every record) and the records a sort
needs (``all()`` wraps each in a ``Document``: 1.2–1.5×).

A record at rest is packed (`PackedRecord`, `mocksrv.state.packing`): compact UTF-8 JSON with
the keys a collection's records share factored out, decoded on every read: a fraction of the
memory of a dict of Python objects (the sizes are measured in `mocksrv.state.packing`, the
100 000-record server in docs/performance.md), and a read hands out fresh objects no caller
can share with the store.
Seed records arrive packed (`encode_record`, called by the fixture loader), and the store
keeps those very objects: a scenario's records cost their memory once. The log file holds
plain JSON objects (`as_json`).

Durability is ours, not TinyDB's. With a ``path``, the file is an append-only log of JSON
lines (`mocksrv.state.appendlog`: fsynced appends, torn last lines, compaction), one per
mutation::

    {"op": "put", "t": "<api>/<collection>", "id": "7", "doc": {...}}   create, replace, update
    {"op": "del", "t": "<api>/<collection>", "id": "7"}
    {"op": "seq", "t": "<api>/<collection>", "n": 8}                     next_id handed out 8
    {"op": "load", "data": {"<api>/<collection>": {"<id>": {...}}}, "seq": {...}}   full replace

Compaction writes the live state as a single ``load`` line.

Rate-limit counters (`window_hit`) are volatile: memory only, they restart at zero with the
process. Every public method holds one `threading.RLock`, so concurrent server threads
never lose an update. A file must be open in one `EmbeddedStore` (one process) at a time.
"""

from __future__ import annotations

import builtins
import contextlib
import itertools
import json
import logging
import threading
import typing as t
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from tinydb import Query
from tinydb import TinyDB
from tinydb.queries import QueryInstance
from tinydb.storages import Storage
from tinydb.table import Table

from mocksrv.errors import StoreError
from mocksrv.state.appendlog import AppendLog
from mocksrv.state.packing import PackedRecord
from mocksrv.state.packing import as_json
from mocksrv.state.packing import pack
from mocksrv.state.packing import strict_json
from mocksrv.state.packing import unpack as decode_record

__all__ = ["EmbeddedStore", "PackedRecord", "PackedStorage", "Store", "decode_record", "encode_record"]

log = logging.getLogger(__name__)

Record = dict[str, t.Any]
RecordId = str | int
# a record made from a number of the collection's sequence: the id it is stored under, and the record
Numbered = Callable[[int], tuple[RecordId, Mapping[str, t.Any]]]
Created = tuple[RecordId, Mapping[str, t.Any]]  # what a Numbered made for the number that was created
SeedRecord = Mapping[str, t.Any] | PackedRecord
# the "API" under which mocksrv keeps its own records (world settings, shared rules, sessions …) in a
# store: no spec file can have this id
HOME = "__mocksrv"


class PackedStorage(Storage):
    """TinyDB's storage for the store: each table a dict of packed records, decoded as TinyDB reads them.

    `read` hands TinyDB one read-only view per table (made with the table, so a read is O(1)),
    and a record is decoded only when a query reaches it: TinyDB's deserialisation step, where
    its Storage contract puts it. `write` takes a whole new state, as TinyDB's own writes give
    it (their documents are packed; the views of untouched tables come back as their tables).

    The store changes one record at a time through `put` and `remove`, beside TinyDB: every
    write of TinyDB's ``Table`` rebuilds the whole table, O(n) (docs/performance.md, "TinyDB's
    place in the embedded store"), and nothing else in TinyDB holds records (the store's
    tables keep no query cache).
    """

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, PackedRecord]] = {}  # by table name, then record key
        self._views: dict[str, _DecodedTable] = {}

    def read(self) -> dict[str, dict[str, t.Any]]:
        # a copy of the outer dict (one entry per table): TinyDB's writes put their new table into what read
        # gave them before calling `write`, and a write refused there must leave nothing behind
        return t.cast(dict[str, dict[str, t.Any]], dict(self._views))

    def write(self, data: dict[str, dict[str, t.Any]]) -> None:
        """Replace everything with ``data`` (table name → document id → document or view).

        :raise StoreError: a document is not JSON.
        """
        self.load({name: table.packed if isinstance(table, _DecodedTable)
                   else {str(key): encode_record(doc, f"record {name}/{key}") for key, doc in table.items()}
                   for name, table in data.items()})

    def load(self, tables: dict[str, dict[str, PackedRecord]]) -> None:
        """Replace everything with ``tables``, kept as they are (records packed already)."""
        self.tables = tables
        self._views = {name: _DecodedTable(table) for name, table in tables.items()}

    def put(self, name: str, key: str, packed: PackedRecord) -> bool:
        """Store a packed record (a replaced record keeps its place); ``True`` if it is new."""
        table = self.tables.get(name)
        if table is None:
            table = self.tables[name] = {}
            self._views[name] = _DecodedTable(table)
        added = key not in table
        table[key] = packed
        return added

    def remove(self, name: str, key: str) -> bool:
        """Drop a record; ``False`` if there was none."""
        return self.tables.get(name, {}).pop(key, None) is not None


class _DecodedTable(Mapping[str, Record]):
    """A read-only view of a table's packed records as records."""

    def __init__(self, packed: dict[str, PackedRecord]) -> None:
        self.packed = packed

    def __getitem__(self, key: str) -> Record:
        return decode_record(self.packed[key])

    def __iter__(self) -> t.Iterator[str]:
        return iter(self.packed)

    def __len__(self) -> int:
        return len(self.packed)


class _Table(Table):
    """A TinyDB table whose document ids are our record keys."""

    # the storage keys documents by record key (a string); stock TinyDB would make each an int
    document_id_class = str  # type: ignore[assignment]


class _TinyDB(TinyDB):
    table_class = _Table


Stored = t.TypeVar("Stored")  # the form a store keeps a record in


def encode_record(record: t.Any, what: str = "record") -> PackedRecord:
    """A record packed as the store keeps it (`mocksrv.state.packing`).

    :raise StoreError: ``record`` is not a JSON object (not a mapping, or holds sets, objects,
        NaN, non-string keys …).
    """
    return _as_stored(record, what, pack)


def record_text(record: t.Any, what: str = "record") -> str:
    """A record as strict JSON text (the Redis store keeps that).

    :raise StoreError: as `encode_record`.
    """
    return _as_stored(record, what, strict_json)


def _as_stored(record: t.Any, what: str, encode: Callable[[dict[str, t.Any]], Stored]) -> Stored:
    if not isinstance(record, Mapping):
        raise StoreError(f"{what}: a record must be a JSON object, not {type(record).__name__}")
    try:
        return encode(record if isinstance(record, dict) else dict(record))
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} is not JSON-serialisable: {exc}") from exc


def _encode(value: t.Any, what: str) -> str:
    """Strict JSON text of ``value``.

    :raise StoreError: ``value`` is not JSON (sets, objects, NaN, non-string keys …).
    """
    try:
        return strict_json(value)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} is not JSON-serialisable: {exc}") from exc


def seed_tables(data: Mapping[str, Mapping[str, Sequence[tuple[RecordId, SeedRecord]]]],
                stored: Callable[[SeedRecord, str], Stored]) -> dict[str, dict[str, Stored]]:
    """``replace_all``'s data as tables of keys: each record in the form ``stored`` makes of it.

    :raise StoreError: an id repeats in a collection, or ``stored`` refuses a record.
    """
    tables: dict[str, dict[str, Stored]] = {}
    for api, collections in data.items():
        for collection, records in collections.items():
            name = _name(api, collection)
            table = tables.setdefault(name, {})
            for record_id, record in records:
                key = _key(record_id)
                if key in table:
                    raise StoreError(f"{name}: id {key!r} appears twice")
                table[key] = stored(record, f"record {name}/{key}")
    return tables


def create_in_steps(store: Store, api: str, collection: str, build: Numbered, attempts: int,
                    start: int) -> Created | None:
    """`Store.create_numbered` as its two steps, `next_id` then `create`, for each draw."""
    for _ in range(attempts):
        record_id, record = build(store.next_id(api, collection, start))
        if store.create(api, collection, record_id, record):
            return record_id, record
    return None


def matches_where(record: Mapping[str, t.Any], where: Mapping[str, t.Any] | None) -> bool:
    """``list``'s ``where``: every field equals its value (a list, tuple or set value: one of them)."""
    for field, value in (where or {}).items():
        if field not in record:
            return False
        if isinstance(value, list | tuple | set | frozenset):
            if record[field] not in list(value):
                return False
        elif record[field] != value:
            return False
    return True


def _key(record_id: RecordId) -> str:
    if isinstance(record_id, bool) or not isinstance(record_id, str | int):
        raise TypeError(f"record id must be str or int, not {type(record_id).__name__}")
    return str(record_id)


def _int_id(key: str) -> int | None:
    return int(key) if key.isascii() and key.isdigit() else None


def _sort_key(value: t.Any) -> tuple[int, t.Any]:
    """Order values of any JSON type without comparing across types."""
    if isinstance(value, bool):
        return (0, value)
    if isinstance(value, int | float):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3, json.dumps(value, sort_keys=True, default=str))


class _Condition:
    """A search condition built from ``where`` (a TinyDB query) and ``match`` (any predicate)."""

    def __init__(self, query: QueryInstance | None, match: Callable[[Mapping[str, t.Any]], bool] | None) -> None:
        self._query = query
        self._match = match

    def __call__(self, value: Mapping[t.Any, t.Any]) -> bool:
        if self._query is not None and not self._query(value):
            return False
        return self._match is None or bool(self._match(value))


class Store(t.Protocol):
    """What mocksrv keeps its records, sequences and rate-limit windows in (`EmbeddedStore`, `RedisStore`);
    tests/test_store.py runs one suite on both."""

    #: whether other processes use it too (then the scenario in force and the clock are kept in it)
    shared: bool

    def get(self, api: str, collection: str, record_id: RecordId) -> Record | None: ...

    def get_many(self, api: str, wanted: Sequence[tuple[str, RecordId]]) -> builtins.list[Record | None]:
        """Several records by (collection, id), each as `get` gives it: one round trip on a shared store."""
        ...

    def put(self, api: str, collection: str, record_id: RecordId, record: Mapping[str, t.Any]) -> None: ...

    def create(self, api: str, collection: str, record_id: RecordId, record: Mapping[str, t.Any]) -> bool: ...

    def update(self, api: str, collection: str, record_id: RecordId,
               changes: Mapping[str, t.Any]) -> Record | None: ...

    def delete(self, api: str, collection: str, record_id: RecordId) -> bool: ...

    def list(self, api: str, collection: str, *, where: Mapping[str, t.Any] | None = None,
             match: Callable[[Mapping[str, t.Any]], bool] | None = None, sort: str | None = None,
             descending: bool = False, offset: int = 0, limit: int | None = None
             ) -> tuple[builtins.list[Record], int]: ...

    def count(self, api: str, collection: str) -> int: ...

    def collections(self, api: str) -> builtins.list[str]: ...

    def apis_with(self, collection: str) -> builtins.list[str]: ...

    def next_id(self, api: str, collection: str, start: int = 1) -> int: ...

    def create_numbered(self, api: str, collection: str, build: Numbered, *, attempts: int,
                        start: int = 1) -> Created | None:
        """Draw the next number of the collection's sequence (as `next_id`), make the record from it with
        ``build`` and create it if its id is free; on a clash draw again, ``attempts`` draws in all. The id
        and record created (as ``build`` made them), or ``None`` if every id was taken. ``build`` must not use
        the store and may be called with a number that is then not drawn (the Redis store makes the record
        before it knows)."""
        ...

    def replace_all(self, data: Mapping[str, Mapping[str, Sequence[tuple[RecordId, SeedRecord]]]]) -> None: ...

    def is_empty(self) -> bool: ...

    def expecting(self, api: str, collection: str, record_id: RecordId,
                  record: Mapping[str, t.Any] | None) -> t.ContextManager[None]:
        """Until the block ends, the calling thread's next call checks first that the record is still ``record``
        (None: absent); if not, it does nothing and raises `errors.RecordChanged` (a shared store's way of
        checking what another process may have changed without a round trip of its own)."""
        ...

    def confirm_expected(self) -> None:
        """Make the check `expecting` put on the calling thread's next call now, if it is still pending (a
        round trip of its own); `errors.RecordChanged` as there."""
        ...

    def window_hit(self, key: str, window: int, limit: int) -> tuple[bool, int]: ...

    def window_count(self, key: str, window: int) -> int: ...

    def reset_counters(self) -> None: ...

    def close(self) -> None: ...


class EmbeddedStore:
    """Records per API and collection, sequences and counters; thread-safe, optionally file-backed.

    :param path: the log file, created if missing; ``None`` keeps everything in memory.
    :raise StoreError: the file is corrupt or cannot be written.
    """

    shared = False  # one process's own

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.RLock()
        self._db = _TinyDB(storage=PackedStorage)
        self._storage = t.cast(PackedStorage, self._db.storage)
        self._high: dict[str, int] = {}  # per table: highest integer id ever stored or handed out
        self._live = 0
        self._windows: dict[str, tuple[int, int]] = {}  # key -> (window number, hits counted)
        self._closed = False
        self._log: AppendLog | None = None
        if path is not None:
            self._log = AppendLog(Path(path))
            self._log.replay(self._apply)
            self._log.compact(self._snapshot())

    # -- records -------------------------------------------------------------------------

    def get(self, api: str, collection: str, record_id: RecordId) -> Record | None:
        """One record (a copy), or ``None``."""
        with self._lock:
            self._check_open()
            return self._get(_name(api, collection), _key(record_id))

    def get_many(self, api: str, wanted: Sequence[tuple[str, RecordId]]) -> builtins.list[Record | None]:
        with self._lock:
            self._check_open()
            return [self._get(_name(api, collection), _key(record_id)) for collection, record_id in wanted]

    def put(self, api: str, collection: str, record_id: RecordId, record: Mapping[str, t.Any]) -> None:
        """Create or replace a record.

        :raise StoreError: the record is not JSON; nothing is changed.
        """
        with self._lock:
            self._check_open()
            name, key = _name(api, collection), _key(record_id)
            self._write_put(name, key, record)

    def create(self, api: str, collection: str, record_id: RecordId, record: Mapping[str, t.Any]) -> bool:
        """Insert a record unless its id exists; ``False`` if it does (nothing is changed).

        :raise StoreError: the record is not JSON; nothing is changed.
        """
        with self._lock:
            self._check_open()
            name, key = _name(api, collection), _key(record_id)
            if key in self._tables.get(name, {}):
                return False
            self._write_put(name, key, record)
            return True

    def update(self, api: str, collection: str, record_id: RecordId, changes: Mapping[str, t.Any]) -> Record | None:
        """Merge ``changes`` into a record (top-level keys); the new record (a copy), or ``None`` if missing.

        :raise StoreError: the changes are not JSON; nothing is changed.
        """
        with self._lock:
            self._check_open()
            name, key = _name(api, collection), _key(record_id)
            current = self._get(name, key)
            if current is None:
                return None
            return decode_record(self._write_put(name, key, {**current, **changes}))

    def delete(self, api: str, collection: str, record_id: RecordId) -> bool:
        """Remove a record; ``False`` if it did not exist."""
        with self._lock:
            self._check_open()
            name, key = _name(api, collection), _key(record_id)
            if key not in self._tables.get(name, {}):
                return False
            self._append({"op": "del", "t": name, "id": key})
            self._apply_del(name, key)
            self._after_write()
            return True

    def list(
        self,
        api: str,
        collection: str,
        *,
        where: Mapping[str, t.Any] | None = None,
        match: Callable[[Mapping[str, t.Any]], bool] | None = None,
        sort: str | None = None,
        descending: bool = False,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[builtins.list[Record], int]:
        """One page of the matching records (copies) and the number of matches before paging.

        :param where: top-level field equals value, for every item; a list, tuple or set value
            means "one of".
        :param match: any predicate, applied after ``where``; it sees the stored record, so it
            must not change it.
        :param sort: a top-level field; records without it (or with null) come last in both
            directions, and values of different JSON types never compare with each other.
            Default order: insertion order (replacing a record keeps its place).
        """
        if offset < 0 or (limit is not None and limit < 0):
            raise ValueError("offset and limit must not be negative")
        with self._lock:
            self._check_open()
            name = _name(api, collection)
            packed = self._tables.get(name)
            if packed is None:
                return [], 0
            end = None if limit is None else offset + limit
            if where or match is not None:
                condition = _Condition(_where_query(where), match)
                found: builtins.list[Record] = [dict(doc) for doc in self._table(name).search(condition)]
            elif sort is None:
                # the usual listing: only the page is decoded (TinyDB has no paging, and its all()
                # decodes every record: docs/performance.md, "TinyDB's place in the embedded store")
                return [decode_record(record) for record in itertools.islice(packed.values(), offset, end)], len(packed)
            else:
                # every record, to sort: TinyDB's all() would wrap each in a Document, 1.2-1.5× the cost
                found = [decode_record(record) for record in packed.values()]
            if sort is not None:
                field = sort
                present = [doc for doc in found if doc.get(field) is not None]
                absent = [doc for doc in found if doc.get(field) is None]
                present.sort(key=lambda doc: _sort_key(doc[field]), reverse=descending)
                found = present + absent
            return found[offset:end], len(found)

    def count(self, api: str, collection: str) -> int:
        with self._lock:
            self._check_open()
            name = _name(api, collection)
            return len(self._table(name)) if name in self._tables else 0

    def collections(self, api: str) -> builtins.list[str]:
        """The collections of ``api`` that hold at least one record, sorted."""
        prefix = _name(api, "")
        with self._lock:
            self._check_open()
            return sorted(name[len(prefix):] for name in self._filled_tables() if name.startswith(prefix))

    def apis_with(self, collection: str) -> builtins.list[str]:
        """The APIs whose ``collection`` holds at least one record, sorted."""
        suffix = "/" + collection
        with self._lock:
            self._check_open()
            return sorted(name[:-len(suffix)] for name in self._filled_tables() if name.endswith(suffix))

    def next_id(self, api: str, collection: str, start: int = 1) -> int:
        """The next integer of the collection's sequence: never handed out twice, even after a
        delete or a restart, and above every integer id ever stored in the collection
        (``replace_all`` starts the sequences afresh).
        """
        with self._lock:
            self._check_open()
            name = _name(api, collection)
            value = max(self._high.get(name, 0) + 1, start)
            self._append({"op": "seq", "t": name, "n": value})
            self._high[name] = value
            self._after_write()
            return value

    def create_numbered(self, api: str, collection: str, build: Numbered, *, attempts: int,
                        start: int = 1) -> Created | None:
        with self._lock:
            return create_in_steps(self, api, collection, build, attempts, start)

    def replace_all(self, data: Mapping[str, Mapping[str, Sequence[tuple[RecordId, SeedRecord]]]]) -> None:
        """Drop every record and sequence and load ``data`` (api → collection → [(id, record)]).

        A record may be given as the `PackedRecord` `encode_record` made of it; the store keeps that object.

        :raise StoreError: a record is not JSON or an id repeats; nothing is changed.
        """
        with self._lock:
            self._check_open()
            tables = seed_tables(data, lambda record, what: record if isinstance(record, bytes)
                                 else encode_record(record, what))
            if self._log is not None:
                self._write_line(_load_line(tables, {}))
            self._apply_load(tables, {})
            self._after_write()

    def is_empty(self) -> bool:
        """``True`` when no collection holds a record."""
        with self._lock:
            self._check_open()
            return self._live == 0

    def expecting(self, api: str, collection: str, record_id: RecordId,
                  record: Mapping[str, t.Any] | None) -> t.ContextManager[None]:
        """Nothing to check: only this process writes here, and it knows what it wrote."""
        return contextlib.nullcontext()

    def confirm_expected(self) -> None:
        """Nothing to check (see `expecting`)."""

    # -- counters (volatile) ---------------------------------------------------------------

    def window_hit(self, key: str, window: int, limit: int) -> tuple[bool, int]:
        """Count one hit for ``key`` in fixed window number ``window``; ``(allowed, remaining)``.

        A new window number starts the count again. A hit that would exceed ``limit`` is
        refused and not counted.
        """
        with self._lock:
            self._check_open()
            current, hits = self._windows.get(key, (window, 0))
            if current != window:
                hits = 0
            if hits >= limit:
                self._windows[key] = (window, hits)
                return False, 0
            hits += 1
            self._windows[key] = (window, hits)
            return True, limit - hits

    def window_count(self, key: str, window: int) -> int:
        """The hits counted for ``key`` in window number ``window`` (0 in any other)."""
        with self._lock:
            self._check_open()
            current, hits = self._windows.get(key, (window, 0))
            return hits if current == window else 0

    def reset_counters(self) -> None:
        with self._lock:
            self._check_open()
            self._windows.clear()

    def close(self) -> None:
        """Close the file; later calls raise `StoreError`. Idempotent."""
        with self._lock:
            if self._log is not None:
                self._log.close()
            self._closed = True

    def __enter__(self) -> EmbeddedStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- internals (callers hold the lock) -------------------------------------------------

    @property
    def _tables(self) -> dict[str, dict[str, PackedRecord]]:
        """The packed records by table name and key (the storage's own; a full replace swaps them)."""
        return self._storage.tables

    def _table(self, name: str) -> Table:
        """TinyDB's table ``name``; asked only for tables the storage holds (TinyDB keeps each it made)."""
        # no query cache: the store writes beside TinyDB's Table (PackedStorage), which would leave it stale
        return self._db.table(name, cache_size=0)

    def _get(self, name: str, key: str) -> Record | None:
        # by key from the storage's dict: TinyDB's Table.get costs 1.4-1.6× as much (docs/performance.md,
        # "TinyDB's place in the embedded store"), and this is every GET by id
        packed = self._tables.get(name, {}).get(key)
        return None if packed is None else decode_record(packed)

    def _filled_tables(self) -> builtins.list[str]:
        """The names of the tables that hold at least one record."""
        return [name for name in self._db.tables() if len(self._table(name))]

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")

    def _write_put(self, name: str, key: str, record: Mapping[str, t.Any]) -> PackedRecord:
        """Pack, log, then apply a put; the packed record."""
        packed = encode_record(record, f"record {name}/{key}")
        if self._log is not None:
            doc = as_json(packed)
            self._write_line(f'{{"op":"put","t":{_encode(name, "name")},"id":{_encode(key, "id")},"doc":{doc}}}')
        self._apply_put(name, key, packed)
        self._after_write()
        return packed

    def _append(self, entry: dict[str, t.Any]) -> None:
        """Log a small entry (``del``, ``seq``); in memory only, nothing is encoded."""
        if self._log is not None:
            self._write_line(_encode(entry, f"{entry['op']} entry"))

    def _write_line(self, text: str) -> None:
        if self._log is not None:
            self._log.append(text.encode() + b"\n")

    def _after_write(self) -> None:
        if self._log is None or not self._log.outgrown(self._live):
            return
        try:
            self._log.compact(self._snapshot())
        except StoreError as exc:
            # the write itself is durable; a long log is only slower to open, so try again later
            log.warning("%s", exc)

    def _snapshot(self) -> bytes:
        tables = {name: table for name, table in self._tables.items() if table}
        seq = {name: high for name, high in self._high.items() if high}
        return _load_line(tables, seq).encode() + b"\n"

    def _apply(self, entry: dict[str, t.Any]) -> None:
        """Apply one log entry read back from the file."""
        op = entry["op"]
        if op == "put":
            name, key = _check_str(entry["t"]), _check_str(entry["id"])
            self._apply_put(name, key, encode_record(_check_doc(entry["doc"]), f"record {name}/{key}"))
        elif op == "del":
            self._apply_del(_check_str(entry["t"]), _check_str(entry["id"]))
        elif op == "seq":
            name, value = _check_str(entry["t"]), entry["n"]
            if not isinstance(value, int):
                raise TypeError(f"sequence value {value!r} is not an integer")
            self._high[name] = max(self._high.get(name, 0), value)
        elif op == "load":
            tables = {_check_str(name): {_check_str(key): encode_record(_check_doc(doc), f"record {name}/{key}")
                                         for key, doc in docs.items()}
                      for name, docs in entry["data"].items()}
            seq = {_check_str(name): int(value) for name, value in entry.get("seq", {}).items()}
            self._apply_load(tables, seq)
        else:
            raise ValueError(f"unknown op {op!r}")

    def _apply_load(self, tables: dict[str, dict[str, PackedRecord]], seq: Mapping[str, int]) -> None:
        """Replace every record and sequence (a ``load`` entry, live or replayed)."""
        high: dict[str, int] = {}
        for name, table in tables.items():
            high[name] = max((_int_id(key) or 0 for key in table), default=0)
        for name, value in seq.items():
            high[name] = max(high.get(name, 0), value)
        self._storage.load(tables)
        self._high = high
        self._live = sum(len(table) for table in tables.values())

    def _apply_put(self, name: str, key: str, packed: PackedRecord) -> None:
        if self._storage.put(name, key, packed):
            self._live += 1
        self._raise_high(name, _int_id(key) or 0)

    def _apply_del(self, name: str, key: str) -> None:
        if self._storage.remove(name, key):
            self._live -= 1

    def _raise_high(self, name: str, value: int) -> None:
        if value > self._high.get(name, 0):
            self._high[name] = value


def _load_line(tables: Mapping[str, Mapping[str, PackedRecord]], seq: Mapping[str, int]) -> str:
    """The ``load`` log entry for these tables, written around each record's JSON object."""
    data = ",".join(
        _encode(name, "name") + ":{"
        + ",".join(f"{_encode(key, 'id')}:{as_json(packed)}" for key, packed in table.items()) + "}"
        for name, table in tables.items())
    return f'{{"op":"load","data":{{{data}}},"seq":{_encode(dict(seq), "sequences")}}}'


def _name(api: str, collection: str) -> str:
    """The TinyDB table name of a collection; no "/" in ``api`` keeps it unambiguous."""
    if "/" in api:
        raise ValueError(f"API name {api!r} must not contain '/'")
    return f"{api}/{collection}"


def _where_query(where: Mapping[str, t.Any] | None) -> QueryInstance | None:
    query: QueryInstance | None = None
    for field, value in (where or {}).items():
        if isinstance(value, list | tuple | set | frozenset):
            test = Query()[field].one_of(list(value))
        else:
            test = Query()[field] == value
        query = test if query is None else query & test
    return query


def _check_str(value: t.Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _check_doc(value: t.Any) -> Record:
    if not isinstance(value, dict):
        raise TypeError(f"a record must be a JSON object, got {value!r}")
    return value


# shared with state.redis_store: the same ids, table names and order
record_key = _key
sort_key = _sort_key
table_name = _name
