"""Measure that `Store` reads and writes cost the same at any size (memory and file backends),
and what TinyDB's own API would cost in their place.

Usage: ``.venv/bin/python bench/store_bench.py [--sizes 0,10000,100000] [--file] [--ops 2000]
[--tinydb-sizes 1000,10000,100000]``

Per size, fills a store with ``replace_all``, then times ``--ops`` creates (new ids), gets
(random existing ids) and puts (replacing random existing records), one call at a time,
and prints the median and p99 latency with the growth of the median against the smallest
size. With ``--file`` the store is file-backed, so each write includes its fsync.

Then, per ``--tinydb-sizes`` (memory only; empty to skip), each place where the store does not
go through TinyDB's public API is timed both ways (docs/performance.md, "TinyDB's place in the
embedded store"): writes by stock TinyDB (``Table.insert``/``update``/``remove`` by document id on
its ``MemoryStorage``, plain dicts) against `EmbeddedStore`'s, a page of 20 records by
``Table.all()`` against `EmbeddedStore.list`, and, on the store's own storage, a read by id
through ``Table.get`` and every record through ``Table.all()`` against decoding them from the
storage's dict (those two timed alternately, so both see the same machine).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import typing as t
from collections.abc import Callable
from pathlib import Path

# run from a checkout without installing the package
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tinydb import TinyDB
from tinydb.storages import MemoryStorage
from tinydb.table import Document

from mocksrv.state.store import EmbeddedStore
from mocksrv.state.store import PackedStorage
from mocksrv.state.store import decode_record
from mocksrv.state.store import encode_record

API = "bench"
COLLECTION = "items"


def _record(number: int) -> dict[str, object]:
    return {"id": number, "name": f"item {number}", "tags": ["a", "b"], "price": number / 2, "owner": {"id": 7}}


def _time(count: int, call: Callable[[int], object]) -> list[float]:
    """Microseconds per call, one sample each."""
    samples = []
    for number in range(count):
        begin = time.perf_counter_ns()
        call(number)
        samples.append((time.perf_counter_ns() - begin) / 1000)
    return samples


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def run(size: int, path: Path | None, ops: int, rng: random.Random) -> tuple[dict[str, list[float]], float, float]:
    """Fill to ``size`` and time each operation; also the fill time and (file only) the reopen time, in s."""
    store = EmbeddedStore(path)
    data = {API: {COLLECTION: [(n, _record(n)) for n in range(size)]}}
    begin = time.perf_counter()
    store.replace_all(data)
    fill = time.perf_counter() - begin
    results = {
        "create": _time(ops, lambda n: store.create(API, COLLECTION, size + n, _record(size + n))),
    }
    total = size + ops
    results["get"] = _time(ops, lambda _: store.get(API, COLLECTION, rng.randrange(total)))
    results["put"] = _time(ops, lambda _: store.put(API, COLLECTION, rng.randrange(total), _record(0)))
    assert store.count(API, COLLECTION) == total
    store.close()
    reopen = 0.0
    if path is not None:
        begin = time.perf_counter()
        EmbeddedStore(path).close()
        reopen = time.perf_counter() - begin
        path.unlink()
    return results, fill, reopen


def _paired(count: int, first: Callable[[int], object], second: Callable[[int], object]
            ) -> tuple[list[float], list[float]]:
    """Microseconds per call of ``first`` and ``second``, called alternately."""
    samples: tuple[list[float], list[float]] = ([], [])
    for number in range(count):
        for call, kept in ((first, samples[0]), (second, samples[1])):
            begin = time.perf_counter_ns()
            call(number)
            kept.append((time.perf_counter_ns() - begin) / 1000)
    return samples


def tinydb_place(size: int, ops: int, rng: random.Random) -> list[tuple[str, list[float], list[float]]]:
    """(what, TinyDB's public API, the store's way) samples in µs, at ``size`` records."""
    stock = TinyDB(storage=MemoryStorage).table(COLLECTION, cache_size=0)
    stock.insert_multiple(Document(_record(n), doc_id=n) for n in range(size))
    store = EmbeddedStore()
    store.replace_all({API: {COLLECTION: [(n, _record(n)) for n in range(size)]}})
    # stock writes copy the table: fewer of them, still enough for a median; not alternated with
    # the store's, whose next call would pay for the megabytes each one allocates and frees
    slow_ops = min(ops, max(10, 200_000 // max(size, 1)))
    rows = [
        ("write: create", _time(slow_ops, lambda n: stock.insert(Document(_record(size + n), doc_id=size + n))),
         _time(ops, lambda n: store.create(API, COLLECTION, size + n, _record(size + n)))),
        ("write: replace", _time(slow_ops, lambda n: stock.update(_record(0), doc_ids=[n])),
         _time(ops, lambda n: store.put(API, COLLECTION, n, _record(0)))),
        ("write: delete", _time(slow_ops, lambda n: stock.remove(doc_ids=[n])),
         _time(ops, lambda n: store.delete(API, COLLECTION, n))),
    ]
    # reads: TinyDB on the store's own storage (packed records, decoded as TinyDB reads them)
    packed = TinyDB(storage=PackedStorage)
    storage = t.cast(PackedStorage, packed.storage)
    storage.load({COLLECTION: {str(n): encode_record(_record(n)) for n in range(size)}})
    table = packed.table(COLLECTION, cache_size=0)
    keys = [str(rng.randrange(size)) for _ in range(ops)]
    rows.append(("read by id", *_paired(ops, lambda n: table.get(doc_id=keys[n]),  # type: ignore[call-overload]
                                        lambda n: decode_record(storage.tables[COLLECTION][keys[n]]))))
    page_ops = min(ops, max(5, 200_000 // max(size, 1)))
    rows.append(("page of 20", _time(page_ops, lambda _: table.all()[10:30]),
                 _time(ops, lambda _: store.list(API, COLLECTION, offset=10, limit=20))))
    rows.append(("all, to sort", *_paired(page_ops, lambda _: table.all(),
                                          lambda _: [decode_record(record) for record
                                                     in storage.tables[COLLECTION].values()])))
    store.close()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="0,10000,100000", help="comma-separated record counts")
    parser.add_argument("--file", action="store_true", help="file-backed store (fsync per write)")
    parser.add_argument("--ops", type=int, default=2000, help="calls timed per operation")
    parser.add_argument("--tinydb-sizes", default="1000,10000,100000",
                        help="record counts for TinyDB's API against the store's own (empty: skip)")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    backend = "file" if args.file else "memory"
    rng = random.Random(1)
    baseline: dict[str, float] = {}
    print(f"{'size':>8}  {'backend':<7} {'op':<7} {'median µs':>10} {'p99 µs':>10} {'× size ' + str(sizes[0]):>10}")
    notes = []
    with tempfile.TemporaryDirectory(prefix="store-bench-") as folder:
        for size in sizes:
            path = Path(folder) / "store.jsonl" if args.file else None
            results, fill, reopen = run(size, path, args.ops, rng)
            for op, samples in results.items():
                median = statistics.median(samples)
                baseline.setdefault(op, median)
                growth = median / baseline[op]
                print(f"{size:>8}  {backend:<7} {op:<7} {median:>10.1f} {_p99(samples):>10.1f} {growth:>10.2f}")
            notes.append(f"size {size}: fill {fill:.2f} s" + (f", reopen {reopen:.2f} s" if args.file else ""))
    print("; ".join(notes))
    tinydb_sizes = [int(size) for size in args.tinydb_sizes.split(",") if size]
    if tinydb_sizes:
        print(f"\n{'size':>8}  {'operation':<15} {'TinyDB API µs':>14} {'store µs':>10} {'TinyDB/store':>13}")
    for size in tinydb_sizes:
        for what, through_tinydb, own in tinydb_place(size, args.ops, rng):
            api, ours = statistics.median(through_tinydb), statistics.median(own)
            print(f"{size:>8}  {what:<15} {api:>14.1f} {ours:>10.1f} {api / ours:>13.1f}")


if __name__ == "__main__":
    main()
