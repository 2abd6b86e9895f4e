"""Measure that `Store` reads and writes cost the same at any size (memory and file backends).

Usage: ``.venv/bin/python bench/store_bench.py [--sizes 0,10000,100000] [--file] [--ops 2000]``

Per size, fills a store with ``replace_all``, then times ``--ops`` creates (new ids), gets
(random existing ids) and puts (replacing random existing records), one call at a time,
and prints the median and p99 latency with the growth of the median against the smallest
size. With ``--file`` the store is file-backed, so each write includes its fsync.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# run from a checkout without installing the package
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mocksrv.state.store import EmbeddedStore

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="0,10000,100000", help="comma-separated record counts")
    parser.add_argument("--file", action="store_true", help="file-backed store (fsync per write)")
    parser.add_argument("--ops", type=int, default=2000, help="calls timed per operation")
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


if __name__ == "__main__":
    main()
