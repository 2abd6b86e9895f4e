"""Store tests: every behaviour on both backends (memory, file), then the file's crash safety."""

from __future__ import annotations

import functools
import gc
import importlib.util
import json
import os
import stat
import sys
import threading
import tracemalloc
import typing as t
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ROOT
from mocksrv.store import LOG_SLACK
from mocksrv.store import Store
from mocksrv.store import StoreError
from mocksrv.store import encode_record


@pytest.fixture(params=["memory", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "store.jsonl" if request.param == "file" else None)
    yield opened
    opened.close()


@pytest.fixture()
def path(tmp_path: Path) -> Path:
    return tmp_path / "store.jsonl"


@pytest.fixture()
def eager_switching() -> Iterator[None]:
    """Threads switch every microsecond instead of every 5 ms.

    With the default interval a thread nearly always finishes a short store call before the
    GIL moves on, so a missing lock would go unseen; this makes interleaving the rule.
    """
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def _run_threads(count: int, work: Callable[[int], object]) -> None:
    barrier = threading.Barrier(count)

    def run(number: int) -> None:
        barrier.wait()  # start together to maximise contention
        work(number)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)


def _fill(store: Store, count: int = 5) -> None:
    for n in range(1, count + 1):
        store.put("pets", "pets", n, {"id": n, "name": f"pet{n}", "kind": "cat" if n % 2 else "dog"})


# -- records ------------------------------------------------------------------------------


def test_crud(store: Store) -> None:
    assert store.is_empty()
    assert store.get("pets", "pets", 1) is None
    store.put("pets", "pets", 1, {"id": 1, "name": "Rex"})
    assert store.get("pets", "pets", 1) == {"id": 1, "name": "Rex"}
    assert store.get("pets", "pets", "1") == {"id": 1, "name": "Rex"}  # int ids are stored as str
    store.put("pets", "pets", 1, {"name": "Max"})  # replace, not merge
    assert store.get("pets", "pets", 1) == {"name": "Max"}
    assert not store.is_empty()
    assert store.count("pets", "pets") == 1
    assert store.delete("pets", "pets", 1)
    assert not store.delete("pets", "pets", 1)
    assert store.get("pets", "pets", 1) is None
    assert store.count("pets", "pets") == 0
    assert store.is_empty()


def test_apis_and_collections_are_separate(store: Store) -> None:
    store.put("a", "users", "x", {"v": 1})
    store.put("a", "orders", "x", {"v": 2})
    store.put("b", "users", "x", {"v": 3})
    assert store.get("a", "users", "x") == {"v": 1}
    assert store.get("b", "users", "x") == {"v": 3}
    assert store.collections("a") == ["orders", "users"]
    assert store.collections("b") == ["users"]
    assert store.collections("c") == []
    store.delete("a", "orders", "x")
    assert store.collections("a") == ["users"]  # only collections that hold records
    with pytest.raises(ValueError, match="must not contain"):
        store.get("a/b", "users", "x")


def test_returned_records_are_copies(store: Store) -> None:
    record: dict[str, t.Any] = {"tags": ["a"], "owner": {"name": "Ann"}}
    store.put("pets", "pets", 1, record)
    record["tags"].append("changed-after-put")
    got = store.get("pets", "pets", 1)
    assert got == {"tags": ["a"], "owner": {"name": "Ann"}}
    assert got is not None
    got["owner"]["name"] = "Bob"
    got["tags"].append("b")
    page, _ = store.list("pets", "pets")
    page[0]["tags"].append("c")
    updated = store.update("pets", "pets", 1, {"extra": True})
    assert updated is not None
    updated["owner"]["name"] = "Eve"
    assert store.get("pets", "pets", 1) == {"tags": ["a"], "owner": {"name": "Ann"}, "extra": True}


def test_create_conflict(store: Store) -> None:
    assert store.create("pets", "pets", 7, {"name": "first"})
    assert not store.create("pets", "pets", "7", {"name": "second"})
    assert store.get("pets", "pets", 7) == {"name": "first"}


def test_update_merges_shallowly(store: Store) -> None:
    store.put("pets", "pets", 1, {"name": "Rex", "owner": {"a": 1, "b": 2}, "age": 3})
    new = store.update("pets", "pets", 1, {"owner": {"a": 9}, "age": 4})
    assert new == {"name": "Rex", "owner": {"a": 9}, "age": 4}
    assert store.get("pets", "pets", 1) == new
    assert store.update("pets", "pets", 2, {"age": 1}) is None
    assert store.get("pets", "pets", 2) is None


def test_list_where_match_and_total(store: Store) -> None:
    _fill(store, 6)
    page, total = store.list("pets", "pets", where={"kind": "cat"})
    assert [r["id"] for r in page] == [1, 3, 5] and total == 3
    page, total = store.list("pets", "pets", where={"id": [2, 3, 99]})
    assert [r["id"] for r in page] == [2, 3] and total == 2
    page, total = store.list("pets", "pets", where={"kind": ("dog",), "id": {4, 6}})
    assert [r["id"] for r in page] == [4, 6] and total == 2
    page, total = store.list("pets", "pets", where={"missing": 1})
    assert page == [] and total == 0
    page, total = store.list("pets", "pets", where={"kind": "cat"}, match=lambda r: r["id"] > 1)
    assert [r["id"] for r in page] == [3, 5] and total == 2
    page, total = store.list("pets", "pets", match=lambda r: r["name"].endswith("6"))
    assert [r["id"] for r in page] == [6] and total == 1
    page, total = store.list("pets", "pets", offset=1, limit=2)
    assert [r["id"] for r in page] == [2, 3] and total == 6
    page, total = store.list("pets", "pets", where={"kind": "dog"}, offset=2, limit=5)
    assert [r["id"] for r in page] == [6] and total == 3
    page, total = store.list("pets", "pets", offset=10)
    assert page == [] and total == 6
    assert store.list("nothing", "here") == ([], 0)
    with pytest.raises(ValueError, match="negative"):
        store.list("pets", "pets", offset=-1)


def test_list_default_order_is_insertion_order(store: Store) -> None:
    for key in ["c", "a", "b"]:
        store.put("x", "items", key, {"k": key})
    store.put("x", "items", "a", {"k": "a2"})  # a replace keeps its place
    store.delete("x", "items", "c")
    store.put("x", "items", "c", {"k": "c2"})  # a re-create goes to the end
    page, _ = store.list("x", "items")
    assert [r["k"] for r in page] == ["a2", "b", "c2"]


def test_list_sort(store: Store) -> None:
    for key, age in [("a", 5), ("b", 2), ("c", 9), ("d", 2)]:
        store.put("x", "items", key, {"key": key, "age": age})
    store.put("x", "items", "e", {"key": "e"})  # missing field: last both ways
    page, total = store.list("x", "items", sort="age")
    assert [r["key"] for r in page] == ["b", "d", "a", "c", "e"] and total == 5
    page, _ = store.list("x", "items", sort="age", descending=True)
    assert [r["key"] for r in page] == ["c", "a", "b", "d", "e"]  # stable: b before d
    page, total = store.list("x", "items", sort="age", descending=True, offset=1, limit=2, where={"age": [2, 5, 9]})
    assert [r["key"] for r in page] == ["a", "b"] and total == 4


def test_list_sort_mixed_types_does_not_raise(store: Store) -> None:
    values: list[t.Any] = ["b", 3, None, True, {"z": 1}, [1, "x"], 1.5, "a", False, [0]]
    for n, value in enumerate(values):
        store.put("x", "items", n, {"n": n, "v": value})
    page, _ = store.list("x", "items", sort="v")
    sorted_values = [r["v"] for r in page]
    assert sorted_values[:4] == [False, True, 1.5, 3]  # booleans, then numbers
    assert sorted_values[4:6] == ["a", "b"]  # then strings
    assert sorted_values[-1] is None  # null sorts with missing values: last
    page, _ = store.list("x", "items", sort="v", descending=True)
    assert [r["v"] for r in page][-1] is None


def test_next_id(store: Store) -> None:
    assert store.next_id("pets", "pets") == 1
    assert store.next_id("pets", "pets") == 2
    assert store.next_id("pets", "orders", start=100) == 100
    assert store.next_id("pets", "orders", start=100) == 101
    store.put("pets", "pets", 41, {"id": 41})
    store.put("pets", "pets", "not-a-number", {})
    assert store.next_id("pets", "pets") == 42
    store.delete("pets", "pets", 41)
    assert store.next_id("pets", "pets") == 43  # never reused after a delete


def test_next_id_starts_above_loaded_ids(store: Store) -> None:
    store.replace_all({"pets": {"pets": [(5, {"id": 5}), ("12", {"id": 12}), ("x", {})]}})
    assert store.next_id("pets", "pets") == 13
    assert store.next_id("pets", "other") == 1


def test_replace_all(store: Store) -> None:
    _fill(store, 3)
    store.next_id("pets", "pets")
    store.next_id("pets", "pets")
    store.put("old", "things", 1, {})
    store.incr("hits")
    store.replace_all({"pets": {"pets": [(1, {"name": "A"}), ("b", {"name": "B"})], "owners": []}, "shop": {"items": [(1, {})]}})
    assert store.list("pets", "pets") == ([{"name": "A"}, {"name": "B"}], 2)
    assert store.collections("old") == []
    assert store.collections("pets") == ["pets"]
    assert store.count("shop", "items") == 1
    assert store.next_id("pets", "pets") == 2  # sequences dropped, restart above the loaded ids
    assert store.incr("hits") == 2  # counters are not records
    store.replace_all({})
    assert store.is_empty()


def test_replace_all_refuses_bad_data_and_changes_nothing(store: Store) -> None:
    _fill(store, 2)
    with pytest.raises(StoreError, match="twice"):
        store.replace_all({"pets": {"pets": [(1, {}), ("1", {})]}})
    with pytest.raises(StoreError, match="not JSON"):
        store.replace_all({"pets": {"pets": [(1, {"when": object()})]}})
    assert store.count("pets", "pets") == 2


def test_non_serialisable_record_is_refused_and_nothing_changes(store: Store, path: Path) -> None:
    store.put("pets", "pets", 1, {"name": "Rex"})
    bad_records: list[dict[t.Any, t.Any]] = [{"when": object()}, {"tags": {1, 2}}, {"nan": float("nan")}, {(1, 2): "key"}]
    for bad in bad_records:
        with pytest.raises(StoreError, match="not JSON-serialisable"):
            store.put("pets", "pets", 2, bad)
        with pytest.raises(StoreError, match="not JSON-serialisable"):
            store.create("pets", "pets", 3, bad)
        with pytest.raises(StoreError, match="not JSON-serialisable"):
            store.update("pets", "pets", 1, bad)
    assert store.list("pets", "pets") == ([{"name": "Rex"}], 1)
    store.put("pets", "pets", 2, {"name": "Max"})  # the store still works
    if path.exists():  # file backend: nothing bad reached the log
        store.close()
        with Store(path) as reopened:
            assert reopened.list("pets", "pets") == ([{"name": "Rex"}, {"name": "Max"}], 2)


def test_records_are_normalised_to_json(store: Store) -> None:
    store.put("x", "items", 1, {"t": (1, 2), "k": {3: "int key"}})
    assert store.get("x", "items", 1) == {"t": [1, 2], "k": {"3": "int key"}}


def test_closed_store_refuses_calls(store: Store) -> None:
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.put("x", "items", 1, {})


# -- counters -----------------------------------------------------------------------------


def test_incr_and_reset(store: Store) -> None:
    assert store.incr("a") == 1
    assert store.incr("a", 5) == 6
    assert store.incr("b", -2) == -2
    store.reset_counters()
    assert store.incr("a") == 1


def test_window_hit(store: Store) -> None:
    assert store.window_hit("k", 1, 2) == (True, 1)
    assert store.window_hit("k", 1, 2) == (True, 0)
    assert store.window_hit("k", 1, 2) == (False, 0)
    assert store.window_hit("k", 1, 2) == (False, 0)  # refused hits are not counted
    assert store.window_hit("other", 1, 2) == (True, 1)
    assert store.window_hit("k", 2, 2) == (True, 1)  # a new window starts again
    store.reset_counters()
    assert store.window_hit("k", 2, 2) == (True, 1)


def test_counters_are_volatile(path: Path) -> None:
    with Store(path) as first:
        first.incr("a")
        first.window_hit("k", 1, 1)
    with Store(path) as second:
        assert second.incr("a") == 1
        assert second.window_hit("k", 1, 1) == (True, 0)


# -- concurrency --------------------------------------------------------------------------


@pytest.mark.usefixtures("eager_switching")
def test_window_hit_is_exact_under_threads(store: Store) -> None:
    allowed: list[bool] = []

    def work(_: int) -> None:
        results = [store.window_hit("key", 7, 300)[0] for _ in range(50)]
        allowed.extend(results)  # list.extend is atomic

    _run_threads(16, work)
    assert len(allowed) == 800
    assert allowed.count(True) == 300


@pytest.mark.usefixtures("eager_switching")
def test_every_hit_of_a_window_gets_its_own_remaining_count_under_threads(store: Store) -> None:
    # what a client sees as X-RateLimit-Remaining: two callers must never be told the same number
    remaining: list[int] = []

    def work(_: int) -> None:
        remaining.extend(store.window_hit("key", 7, 100_000)[1] for _ in range(500))

    _run_threads(8, work)
    assert sorted(remaining) == list(range(100_000 - 4000, 100_000))


@pytest.mark.usefixtures("eager_switching")
def test_incr_is_exact_under_threads(store: Store) -> None:
    _run_threads(16, lambda _: [store.incr("n") for _ in range(500)])
    assert store.incr("n", 0) == 8000


@pytest.mark.usefixtures("eager_switching")
def test_concurrent_creates_lose_nothing(store: Store) -> None:
    wins: list[int] = []

    def work(number: int) -> None:
        for n in range(25):
            store.create("x", "items", f"{number}-{n}", {"by": number, "n": n})
            # every thread also races for the same ids: exactly one may win each
            if store.create("x", "items", f"shared-{n}", {"by": number}):
                wins.append(n)
            store.update("x", "items", "counter", {"unused": number})

    _run_threads(12, work)
    assert sorted(wins) == list(range(25))
    assert store.count("x", "items") == 12 * 25 + 25
    ids = [store.next_id("x", "items") for _ in range(3)]
    assert ids == sorted(set(ids))


@pytest.mark.usefixtures("eager_switching")
def test_concurrent_next_id_hands_out_each_number_once(store: Store) -> None:
    got: list[int] = []
    _run_threads(8, lambda _: got.extend(store.next_id("x", "items") for _ in range(25)))
    assert sorted(got) == list(range(1, 201))


# -- the file -----------------------------------------------------------------------------


def test_persistence_across_reopen(path: Path) -> None:
    with Store(path) as first:
        _fill(first, 4)
        first.update("pets", "pets", 2, {"name": "two"})
        first.delete("pets", "pets", 3)
        first.create("pets", "owners", "ann", {"name": "Ann"})
        assert first.next_id("pets", "pets") == 5
        assert first.next_id("pets", "pets") == 6
    with Store(path) as second:
        page, total = second.list("pets", "pets")
        assert [r["id"] for r in page] == [1, 2, 4] and total == 3
        assert second.get("pets", "pets", 2) == {"id": 2, "name": "two", "kind": "dog"}
        assert second.get("pets", "owners", "ann") == {"name": "Ann"}
        assert second.next_id("pets", "pets") == 7  # the sequence survives reopen
        second.replace_all({"shop": {"items": [(1, {"x": 1})]}})
    with Store(path) as third:
        assert third.collections("pets") == []
        assert third.get("shop", "items", 1) == {"x": 1}
        assert third.next_id("shop", "items") == 2


def test_every_write_is_on_disk_before_it_returns(path: Path) -> None:
    with Store(path) as store:
        store.put("pets", "pets", 1, {"name": "Rex"})
        # read the file as another process would, without closing the store
        last = json.loads(path.read_bytes().splitlines()[-1])
        assert last == {"op": "put", "t": "pets/pets", "id": "1", "doc": {"name": "Rex"}}
        store.delete("pets", "pets", 1)
        assert json.loads(path.read_bytes().splitlines()[-1]) == {"op": "del", "t": "pets/pets", "id": "1"}


@pytest.mark.parametrize("tail", [b'{"op": "put", "t": "pets/pets", "id": "9", "do', b'{"op": "del"', b"\x00\x00\x00", b"garbage\n"])
def test_torn_last_line_is_ignored_and_cut(path: Path, tail: bytes) -> None:
    with Store(path) as store:
        _fill(store, 3)
    with path.open("ab") as log:
        log.write(tail)  # a crash in the middle of the next write
    with Store(path) as reopened:
        page, total = reopened.list("pets", "pets")
        assert [r["id"] for r in page] == [1, 2, 3] and total == 3
        reopened.put("pets", "pets", 4, {"id": 4})
    assert path.read_bytes().endswith(b"\n")
    with Store(path) as again:
        assert again.count("pets", "pets") == 4


def test_corrupt_middle_line_names_file_and_line(path: Path) -> None:
    with Store(path) as store:
        _fill(store, 2)
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(2, b"{not json\n")
    path.write_bytes(b"".join(lines))
    with pytest.raises(StoreError, match=rf"{path.name}:3: corrupt"):
        Store(path)


def test_invalid_entry_names_file_and_line(path: Path) -> None:
    path.write_bytes(b'{"op":"load","data":{}}\n{"op":"jump"}\n{"op":"del","t":"a/b","id":"1"}\n')
    with pytest.raises(StoreError, match=rf"{path.name}:2: invalid log entry"):
        Store(path)


def test_unreadable_location_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        Store(tmp_path / "missing-folder" / "store.jsonl")


def test_open_compacts_the_log(path: Path) -> None:
    with Store(path) as store:
        for n in range(50):
            store.put("x", "items", n % 5, {"n": n})
        store.next_id("x", "items", start=90)
    size_before = path.stat().st_size
    with Store(path) as reopened:
        assert path.read_bytes().count(b"\n") == 1  # one snapshot line
        assert path.stat().st_size < size_before
        assert reopened.list("x", "items") == ([{"n": n} for n in range(45, 50)], 5)
        assert reopened.next_id("x", "items") == 91
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left behind


def test_long_log_compacts_while_running(path: Path) -> None:
    with Store(path) as store:
        store.put("x", "items", "keep", {"v": 1})
        for n in range(LOG_SLACK + 10):
            store.put("x", "items", "hot", {"n": n})
        lines = path.read_bytes().count(b"\n")
        assert lines < LOG_SLACK  # compacted once the log passed 2 x live + LOG_SLACK lines
        assert store.get("x", "items", "hot") == {"n": LOG_SLACK + 9}
    with Store(path) as reopened:
        assert reopened.list("x", "items") == ([{"v": 1}, {"n": LOG_SLACK + 9}], 2)


def test_failed_write_changes_nothing_and_keeps_the_log_readable(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(path) as store:
        store.put("x", "items", 1, {"v": 1})
        size = path.stat().st_size

        def broken_fsync(fd: int) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr("mocksrv.store.os.fsync", broken_fsync)
        with pytest.raises(StoreError, match="write failed"):
            store.put("x", "items", 2, {"v": 2})
        monkeypatch.undo()
        assert store.get("x", "items", 2) is None  # not acknowledged, so not applied
        assert path.stat().st_size == size  # the half-written line was cut off
        store.put("x", "items", 3, {"v": 3})
    with Store(path) as reopened:
        assert reopened.list("x", "items") == ([{"v": 1}, {"v": 3}], 2)


def test_writes_change_the_table_in_place(store: Store) -> None:
    # guards the O(1) write: stock TinyDB rebuilds the whole table dict on every write
    store.replace_all({"x": {"items": [(n, {"n": n}) for n in range(100)]}})
    table = store._tables["x/items"]
    store.put("x", "items", 100, {"n": 100})
    store.update("x", "items", 5, {"m": 1})
    store.delete("x", "items", 6)
    assert store._tables["x/items"] is table and len(table) == 100


@functools.cache
def _state_bench() -> t.Any:
    spec = importlib.util.spec_from_file_location("state_bench", ROOT / "bench" / "state_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _email(n: int) -> dict[str, object]:
    """A record shaped like a MaxCare email (14 short fields), the one bench/state_bench.py stores."""
    return t.cast(dict[str, object], _state_bench().email(n))


def _traced_growth(work: Callable[[], object]) -> int:
    """Bytes still allocated after ``work`` (its garbage collected), by tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = work()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del kept
    return grown


def test_a_stored_record_costs_less_than_its_json_text() -> None:
    # a MaxCare email is ~410 bytes of JSON; as a dict of Python objects it was ~2 kB, as its JSON ~590 B
    count = 2000
    json_size = sum(len(json.dumps(_email(n), separators=(",", ":"))) for n in range(count))

    def fill() -> Store:
        store = Store()
        for n in range(count):
            store.put("maxcare", "emails", f"eml_{n:032x}", _email(n))
        return store

    per_record = _traced_growth(fill) / count
    # the keys its collection shares are held once (mocksrv/packing.py); that pays for the id (the table's
    # key, ~85 bytes), the table's slot and the bytes object's header
    assert per_record < json_size / count, f"{per_record:.0f} bytes per stored record"


def test_short_and_unicode_records_read_back_as_written(store: Store) -> None:
    records = {1: {}, 2: {"a": 1}, 3: {"text": "é✓ " * 200, "nested": {"list": [1, 2.5, None, True]}}}
    for record_id, record in records.items():
        store.put("x", "items", record_id, record)
    assert [store.get("x", "items", n) for n in records] == list(records.values())
    assert store.list("x", "items", where={"a": 1}) == ([{"a": 1}], 1)


def test_packed_seed_records_are_kept_not_copied() -> None:
    count = 2000
    seed = [(f"eml_{n:032x}", encode_record(_email(n))) for n in range(count)]

    def load() -> Store:
        store = Store()
        store.replace_all({"maxcare": {"emails": seed}})
        return store

    per_record = _traced_growth(load) / count
    assert per_record < 120, f"{per_record:.0f} bytes per seeded record: the packed records were copied"
    store = Store()
    store.replace_all({"maxcare": {"emails": seed}})
    assert store.get("maxcare", "emails", seed[5][0]) == _email(5)
    assert store.list("maxcare", "emails", offset=10, limit=2) == ([_email(10), _email(11)], count)


# -- durability ---------------------------------------------------------------------------


@pytest.fixture()
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every fsync the store makes, as (what was synced, its size then); the real fsync still runs.

    A SIGKILL test cannot see a missing fsync (the page cache outlives a killed process; only
    a power cut or a kernel crash loses it), so the calls themselves are what is checked here.
    """
    seen: list[tuple[str, int]] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        info = os.fstat(fd)
        seen.append(("folder" if stat.S_ISDIR(info.st_mode) else os.readlink(f"/proc/self/fd/{fd}"), info.st_size))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    return seen


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names open files through /proc (Linux)")
def test_every_acknowledged_write_is_fsynced_whole_before_the_call_returns(
        path: Path, fsyncs: list[tuple[str, int]]) -> None:
    with Store(path) as store:
        _check_each_write_is_synced(store, path, fsyncs)


def _check_each_write_is_synced(store: Store, path: Path, fsyncs: list[tuple[str, int]]) -> None:
    writes: list[Callable[[], object]] = [
        lambda: store.put("x", "items", 1, {"id": 1}),
        lambda: store.create("x", "items", 2, {"id": 2}),
        lambda: store.update("x", "items", 1, {"name": "one"}),
        lambda: store.delete("x", "items", 2),
        lambda: store.next_id("x", "items"),
        lambda: store.replace_all({"x": {"items": [(5, {"id": 5})]}}),
    ]
    for write in writes:
        fsyncs.clear()
        write()
        # the log, synced after the line was written: its size then is its size now
        assert (str(path.resolve()), path.stat().st_size) in fsyncs, fsyncs


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names open files through /proc (Linux)")
def test_compaction_syncs_the_snapshot_then_the_folder(path: Path, fsyncs: list[tuple[str, int]]) -> None:
    with Store(path) as store:
        store.put("x", "items", 1, {"id": 1})
    fsyncs.clear()
    Store(path).close()  # opening compacts the log into one snapshot line
    kinds = [what if what == "folder" else "file" for what, _ in fsyncs]
    assert kinds[-2:] == ["file", "folder"], fsyncs
    assert fsyncs[-2][1] == path.stat().st_size  # the snapshot, whole, before it replaced the log
