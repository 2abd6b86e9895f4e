"""Store tests: every behaviour on both backends (memory, file), then the file's crash safety."""

from __future__ import annotations

import functools
import gc
import importlib.util
import json
import os
import re
import stat
import sys
import threading
import tracemalloc
import types
import typing as t
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import pytest
from tinydb import Query
from tinydb import TinyDB

from conftest import ROOT
from mocksrv.errors import StoreError
from mocksrv.state.appendlog import LOG_SLACK
from mocksrv.state.appendlog import AppendLog
from mocksrv.state.store import EmbeddedStore
from mocksrv.state.store import PackedStorage
from mocksrv.state.store import Store
from mocksrv.state.store import decode_record
from mocksrv.state.store import encode_record


@pytest.fixture(params=["memory", "file", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each implementation of `Store`, one suite: in memory, with its log file, and on Redis (a fresh
    namespace per test, on the session's redis-server)."""
    opened: Store
    if request.param == "redis":
        from mocksrv.state.redis_store import RedisStore

        opened = RedisStore(request.getfixturevalue("redis_server").url, namespace=uuid.uuid4().hex)
    else:
        opened = EmbeddedStore(tmp_path / "store.jsonl" if request.param == "file" else None)
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
    store.put("ab", "users", "y", {"v": 4})
    store.put("c", "power-users", "z", {"v": 5})  # ends in "users", not "/users"
    assert store.apis_with("users") == ["a", "ab", "b"]
    assert store.apis_with("orders") == []  # emptied
    assert store.apis_with("power-users") == ["c"]
    with pytest.raises(ValueError, match="must not contain"):
        store.get("a/b", "users", "x")


def test_the_same_filter_twice_sees_a_record_written_between(store: Store) -> None:
    _fill(store, 3)
    assert [r["id"] for r in store.list("pets", "pets", where={"kind": "cat"})[0]] == [1, 3]
    store.put("pets", "pets", 4, {"id": 4, "kind": "cat"})
    store.delete("pets", "pets", 1)
    assert [r["id"] for r in store.list("pets", "pets", where={"kind": "cat"})[0]] == [3, 4]  # no cached answer


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


def test_get_many_reads_each_as_get_does(store: Store) -> None:
    _fill(store, 2)
    store.put("pets", "owners", "ann", {"id": "ann"})
    found = store.get_many("pets", [("pets", 2), ("owners", "ann"), ("pets", 9), ("nothing", "x"), ("pets", "1")])
    assert found == [store.get("pets", "pets", 2), {"id": "ann"}, None, None, store.get("pets", "pets", 1)]
    assert found[0] == {"id": 2, "name": "pet2", "kind": "dog"}
    assert store.get_many("pets", []) == []
    found[1]["id"] = "changed"  # copies, as get gives
    assert store.get("pets", "owners", "ann") == {"id": "ann"}


def _numbered(prefix: str = "n-") -> t.Callable[[int], tuple[str, dict[str, t.Any]]]:
    return lambda number: (f"{prefix}{number}", {"id": f"{prefix}{number}", "number": number})


def _id_of(created: tuple[t.Any, t.Any] | None) -> t.Any:
    """The id a `create_numbered` created (None: none)."""
    return None if created is None else created[0]


def test_create_numbered_draws_from_the_collection_s_sequence(store: Store) -> None:
    assert store.create_numbered("pets", "pets", _numbered(), attempts=3) == ("n-1", {"id": "n-1", "number": 1})
    assert store.next_id("pets", "pets") == 2  # the same sequence next_id draws from
    assert _id_of(store.create_numbered("pets", "pets", _numbered(), attempts=3)) == "n-3"
    assert _id_of(store.create_numbered("pets", "orders", _numbered(), attempts=3, start=100)) == "n-100"
    assert store.get("pets", "pets", "n-3") == {"id": "n-3", "number": 3}
    assert [r["id"] for r in store.list("pets", "pets")[0]] == ["n-1", "n-3"]
    store.put("pets", "pets", 41, {"id": 41})
    assert _id_of(store.create_numbered("pets", "pets", lambda n: (n, {"id": n}), attempts=3)) == 42  # above stored ids


def test_create_numbered_draws_again_past_a_taken_id_and_gives_up_after_its_attempts(store: Store) -> None:
    store.put("pets", "pets", "n-2", {"id": "n-2", "mine": True})
    assert _id_of(store.create_numbered("pets", "pets", _numbered(), attempts=3)) == "n-1"
    assert _id_of(store.create_numbered("pets", "pets", _numbered(), attempts=3)) == "n-3"  # 2 drawn, taken
    assert store.get("pets", "pets", "n-2") == {"id": "n-2", "mine": True}  # and left alone
    assert _id_of(store.create_numbered("pets", "pets", lambda n: ("fixed", {"n": n}), attempts=1)) == "fixed"
    assert _id_of(store.create_numbered("pets", "pets", lambda n: ("fixed", {"n": n}), attempts=4)) is None
    assert store.get("pets", "pets", "fixed") == {"n": 4}
    assert store.next_id("pets", "pets") == 9  # each of the four draws used a number


def test_create_numbered_starts_again_after_replace_all(store: Store) -> None:
    for _ in range(3):
        store.create_numbered("pets", "pets", _numbered(), attempts=2)
    store.replace_all({"pets": {"pets": [("n-1", {"id": "n-1"})]}})
    assert _id_of(store.create_numbered("pets", "pets", _numbered(), attempts=2)) == "n-2"  # 1 drawn again, taken


@pytest.mark.usefixtures("eager_switching")
def test_concurrent_create_numbered_draws_each_number_once(store: Store) -> None:
    made: list[str | int | None] = []
    _run_threads(6, lambda _: made.extend(_id_of(store.create_numbered("x", "items", _numbered(), attempts=2))
                                          for _ in range(20)))
    assert sorted(made, key=str) == sorted((f"n-{n}" for n in range(1, 121)), key=str)
    assert store.count("x", "items") == 120


def test_replace_all(store: Store) -> None:
    _fill(store, 3)
    store.next_id("pets", "pets")
    store.next_id("pets", "pets")
    store.put("old", "things", 1, {})
    store.window_hit("hits", 1, 5)
    store.replace_all({"pets": {"pets": [(1, {"name": "A"}), ("b", {"name": "B"})], "owners": []}, "shop": {"items": [(1, {})]}})
    assert store.list("pets", "pets") == ([{"name": "A"}, {"name": "B"}], 2)
    assert store.collections("old") == []
    assert store.collections("pets") == ["pets"]
    assert store.count("shop", "items") == 1
    assert store.next_id("pets", "pets") == 2  # sequences dropped, restart above the loaded ids
    assert store.window_hit("hits", 1, 5) == (True, 3)  # counters are not records
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
        with EmbeddedStore(path) as reopened:
            assert reopened.list("pets", "pets") == ([{"name": "Rex"}, {"name": "Max"}], 2)


def test_records_are_normalised_to_json(store: Store) -> None:
    store.put("x", "items", 1, {"t": (1, 2), "k": {3: "int key"}})
    assert store.get("x", "items", 1) == {"t": [1, 2], "k": {"3": "int key"}}


def test_closed_store_refuses_calls(store: Store) -> None:
    store.close()
    store.close()
    with pytest.raises(StoreError, match=r"^the store is closed$"):
        store.put("x", "items", 1, {})


def test_ids_are_strings_or_integers_never_booleans(store: Store) -> None:
    for bad_id, kind in [(True, "bool"), (1.5, "float"), (None, "NoneType")]:
        with pytest.raises(TypeError, match=f"record id must be str or int, not {kind}$"):
            store.get("x", "items", bad_id)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=f"not {kind}$"):
            store.put("x", "items", bad_id, {})  # type: ignore[arg-type]
    assert store.is_empty()


def test_a_record_must_be_a_json_object_and_the_error_names_it(store: Store) -> None:
    with pytest.raises(StoreError, match=r"^record: a record must be a JSON object, not list$"):
        encode_record([1, 2])
    with pytest.raises(StoreError, match=r"^record x/items/2 is not JSON-serialisable: "):
        store.put("x", "items", 2, {"when": object()})
    with pytest.raises(StoreError, match=r"^record x/items/b is not JSON-serialisable: "):
        store.replace_all({"x": {"items": [("a", {}), ("b", {"tags": {1}})]}})
    # any mapping is a record, not only a dict
    store.put("x", "items", 1, types.MappingProxyType({"name": "Rex"}))
    assert store.get("x", "items", 1) == {"name": "Rex"}


def test_unknown_collections_are_empty_for_every_call(store: Store) -> None:
    assert store.delete("x", "nothing", 1) is False
    assert store.update("x", "nothing", 1, {"a": 1}) is None
    assert store.count("x", "nothing") == 0
    assert store.is_empty()


def test_is_empty_counts_every_live_record(store: Store) -> None:
    store.put("x", "items", 1, {})
    store.put("x", "items", 2, {})
    store.put("x", "items", 2, {"replaced": True})  # a replace is not a new record
    store.delete("x", "items", 1)
    assert not store.is_empty()
    store.delete("x", "items", 2)
    assert store.is_empty()


def test_list_with_several_where_fields_needs_all_of_them(store: Store) -> None:
    _fill(store, 6)
    page, total = store.list("pets", "pets", where={"kind": "cat", "id": [1, 2, 3, 4]})
    assert [r["id"] for r in page] == [1, 3] and total == 2
    page, total = store.list("pets", "pets", where={"id": 2, "kind": "cat"})
    assert page == [] and total == 0


def test_a_zero_limit_is_an_empty_page_with_the_total(store: Store) -> None:
    _fill(store, 3)
    assert store.list("pets", "pets", limit=0) == ([], 3)
    with pytest.raises(ValueError, match=r"^offset and limit must not be negative$"):
        store.list("pets", "pets", limit=-1)


def test_booleans_sort_before_every_number_and_objects_by_their_sorted_json(store: Store) -> None:
    values: list[t.Any] = [0.5, {"b": 1, "a": 2}, True, {"a": 3}, -1, {"a": 1}]
    for n, value in enumerate(values):
        store.put("x", "items", n, {"v": value})
    page, _ = store.list("x", "items", sort="v")
    # objects compare as their JSON with sorted keys: {"a": 1} < {"a": 2, "b": 1} < {"a": 3}
    assert [r["v"] for r in page] == [True, -1, 0.5, {"a": 1}, {"b": 1, "a": 2}, {"a": 3}]


def test_next_id_is_above_a_stored_id_of_one_and_ignores_other_ids(store: Store) -> None:
    store.put("x", "items", 1, {})
    assert store.next_id("x", "items") == 2
    store.put("x", "words", "abc", {})
    assert store.next_id("x", "words") == 1
    store.replace_all({"x": {"empty": [], "named": [("a", {}), ("b", {})]}})
    assert store.next_id("x", "empty") == 1
    assert store.next_id("x", "named") == 1


# -- counters -----------------------------------------------------------------------------


def test_window_hit(store: Store) -> None:
    assert store.window_hit("k", 1, 2) == (True, 1)
    assert store.window_hit("k", 1, 2) == (True, 0)
    assert store.window_hit("k", 1, 2) == (False, 0)
    assert store.window_hit("k", 1, 2) == (False, 0)  # refused hits are not counted
    assert store.window_hit("other", 1, 2) == (True, 1)
    assert store.window_hit("k", 2, 2) == (True, 1)  # a new window starts again
    store.reset_counters()
    assert store.window_hit("k", 2, 2) == (True, 1)


def test_window_count_reads_the_hits_of_the_window_asked(store: Store) -> None:
    assert store.window_count("k", 1) == 0  # never hit
    store.window_hit("k", 1, 5)
    store.window_hit("k", 1, 5)
    assert store.window_count("k", 1) == 2
    assert store.window_count("k", 2) == 0 and store.window_count("other", 1) == 0
    store.window_hit("k", 2, 5)
    assert store.window_count("k", 2) == 1 and store.window_count("k", 1) == 0  # the old window is gone
    store.reset_counters()
    assert store.window_count("k", 2) == 0
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.window_count("k", 2)


def test_counters_are_volatile(path: Path) -> None:
    with EmbeddedStore(path) as first:
        first.window_hit("k", 1, 1)
    with EmbeddedStore(path) as second:
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
    with EmbeddedStore(path) as first:
        _fill(first, 4)
        first.update("pets", "pets", 2, {"name": "two"})
        first.delete("pets", "pets", 3)
        first.create("pets", "owners", "ann", {"name": "Ann"})
        assert first.next_id("pets", "pets") == 5
        assert first.next_id("pets", "pets") == 6
    with EmbeddedStore(path) as second:
        page, total = second.list("pets", "pets")
        assert [r["id"] for r in page] == [1, 2, 4] and total == 3
        assert second.get("pets", "pets", 2) == {"id": 2, "name": "two", "kind": "dog"}
        assert second.get("pets", "owners", "ann") == {"name": "Ann"}
        assert second.next_id("pets", "pets") == 7  # the sequence survives reopen
        second.replace_all({"shop": {"items": [(1, {"x": 1})]}})
    with EmbeddedStore(path) as third:
        assert third.collections("pets") == []
        assert third.get("shop", "items", 1) == {"x": 1}
        assert third.next_id("shop", "items") == 2


def test_every_write_is_on_disk_before_it_returns(path: Path) -> None:
    with EmbeddedStore(path) as store:
        store.put("pets", "pets", 1, {"name": "Rex"})
        # read the file as another process would, without closing the store
        last = json.loads(path.read_bytes().splitlines()[-1])
        assert last == {"op": "put", "t": "pets/pets", "id": "1", "doc": {"name": "Rex"}}
        store.delete("pets", "pets", 1)
        assert json.loads(path.read_bytes().splitlines()[-1]) == {"op": "del", "t": "pets/pets", "id": "1"}


@pytest.mark.parametrize("tail", [b'{"op": "put", "t": "pets/pets", "id": "9", "do', b'{"op": "del"', b"\x00\x00\x00", b"garbage\n"])
def test_torn_last_line_is_ignored_and_cut(path: Path, tail: bytes) -> None:
    with EmbeddedStore(path) as store:
        _fill(store, 3)
    with path.open("ab") as log:
        log.write(tail)  # a crash in the middle of the next write
    with EmbeddedStore(path) as reopened:
        page, total = reopened.list("pets", "pets")
        assert [r["id"] for r in page] == [1, 2, 3] and total == 3
        reopened.put("pets", "pets", 4, {"id": 4})
    assert path.read_bytes().endswith(b"\n")
    with EmbeddedStore(path) as again:
        assert again.count("pets", "pets") == 4


# -- the log itself (state/appendlog.py), without the store's compaction on open ------------------

GOOD_LINES = b'{"op":"seq","t":"a/b","n":1}\n{"op":"seq","t":"a/b","n":2}\n'


def test_replay_counts_the_lines_and_cuts_a_torn_last_one_to_the_byte(path: Path) -> None:
    path.write_bytes(GOOD_LINES + b'{"op":"se')
    log, seen = AppendLog(path), []
    log.replay(seen.append)
    assert [entry["n"] for entry in seen] == [1, 2] and log.lines == 2
    assert path.read_bytes() == GOOD_LINES  # the torn line gone, nothing of the good ones
    log.append(b'{"op":"seq","t":"a/b","n":3}\n')
    assert log.lines == 3
    log.close()
    again = AppendLog(path)
    again.replay(seen.append)
    assert again.lines == 3 and [entry["n"] for entry in seen[2:]] == [1, 2, 3]


def test_a_new_log_counts_from_nothing(path: Path) -> None:
    log = AppendLog(path)
    log.replay(lambda entry: None)  # no file yet
    assert log.lines == 0
    log.append(b"{}\n")
    assert log.lines == 1 and not log.outgrown(live=0)
    log.close()


@pytest.mark.parametrize("replayed", [False, True])
def test_a_failed_append_cuts_the_file_back_to_what_was_there(path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              replayed: bool) -> None:
    path.write_bytes(GOOD_LINES if replayed else b"")
    log = AppendLog(path)
    if replayed:
        log.replay(lambda entry: None)

    def no_room(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("mocksrv.state.appendlog.os.fsync", no_room)
    with pytest.raises(StoreError, match=r"write failed: .*No space left"):
        log.append(b'{"op":"seq","t":"a/b","n":9}\n')
    assert path.read_bytes() == (GOOD_LINES if replayed else b"")


def test_a_torn_line_that_cannot_be_cut_is_one_error_naming_the_file(path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path.write_bytes(GOOD_LINES + b"{")

    def read_only(target: object, size: int) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr("mocksrv.state.appendlog.os.truncate", read_only)
    with pytest.raises(StoreError, match=f"^{re.escape(str(path))}: cannot truncate a torn last line: .*Read-only"):
        AppendLog(path).replay(lambda entry: None)


def test_corrupt_middle_line_names_file_and_line(path: Path) -> None:
    with EmbeddedStore(path) as store:
        _fill(store, 2)
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(2, b"{not json\n")
    path.write_bytes(b"".join(lines))
    with pytest.raises(StoreError, match=rf"{path.name}:3: corrupt"):
        EmbeddedStore(path)


def test_invalid_entry_names_file_and_line(path: Path) -> None:
    path.write_bytes(b'{"op":"load","data":{}}\n{"op":"jump"}\n{"op":"del","t":"a/b","id":"1"}\n')
    with pytest.raises(StoreError, match=rf"{path.name}:2: invalid log entry"):
        EmbeddedStore(path)


@pytest.mark.parametrize(("entry", "reason"), [
    (b'{"op":"jump"}', "unknown op 'jump'"),
    (b'{"op":"put","t":5,"id":"1","doc":{}}', "expected a string, got 5"),
    (b'{"op":"put","t":"a/b","id":"1","doc":[1]}', "a record must be a JSON object, got \\[1\\]"),
    (b'{"op":"seq","t":"a/b","n":"7"}', "sequence value '7' is not an integer"),
])
def test_an_invalid_entry_is_refused_saying_what_is_wrong(path: Path, entry: bytes, reason: str) -> None:
    path.write_bytes(b'{"op":"load","data":{}}\n' + entry + b"\n")
    with pytest.raises(StoreError, match=rf"{path.name}:2: invalid log entry: .*{reason}"):
        EmbeddedStore(path)


@pytest.mark.parametrize("entry", [b'{"op":"put","t":"a/b","id":"1","doc":{"v":NaN}}',
                                   b'{"op":"load","data":{"a/b":{"1":{"v":NaN}}}}'])
def test_a_logged_record_that_is_not_strict_json_is_refused_naming_it(path: Path, entry: bytes) -> None:
    path.write_bytes(entry + b"\n")
    with pytest.raises(StoreError, match="record a/b/1 is not JSON-serialisable"):
        EmbeddedStore(path)


def test_unreadable_location_is_a_store_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing-folder" / "store.jsonl"
    with pytest.raises(StoreError) as caught:
        EmbeddedStore(missing)
    assert str(caught.value) == (f"{missing}: the folder {missing.parent} does not exist "
                                 "(mocksrv creates the file, not folders)")
    with pytest.raises(StoreError, match=f"{tmp_path.name}: cannot read the store"):
        EmbeddedStore(tmp_path)  # a folder, not a file


def test_sequences_survive_any_number_of_reopenings(path: Path) -> None:
    with EmbeddedStore(path) as store:
        store.put("x", "items", 3, {})
        assert store.next_id("x", "items") == 4
        store.delete("x", "items", 3)
    for expected in (5, 6):  # the second opening reads the sequence from the first one's snapshot
        with EmbeddedStore(path) as reopened:
            assert reopened.next_id("x", "items") == expected
    with EmbeddedStore(path):
        pass  # an opening that draws nothing leaves the sequence in its snapshot alone
    with EmbeddedStore(path) as reopened:
        assert reopened.next_id("x", "items") == 7
        assert reopened.next_id("y", "fresh") == 1
    with EmbeddedStore(path) as reopened:  # a sequence first drawn after the last snapshot: its "seq" line
        assert reopened.next_id("y", "fresh") == 2


def test_a_torn_last_line_is_reported_when_dropped(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with EmbeddedStore(path) as store:
        _fill(store, 1)
    with path.open("ab") as log:
        log.write(b'{"op":"del"')
    with caplog.at_level("WARNING", logger="mocksrv.state.appendlog"), EmbeddedStore(path):
        pass
    assert caplog.messages == [f"{path}:3: ignoring a torn last line (a write interrupted by a crash)"]  # the snapshot, the put, the torn del


def test_the_log_keeps_every_write_until_it_is_log_slack_lines_too_long(path: Path) -> None:
    with EmbeddedStore(path) as store:  # one live record: compaction once the log exceeds 2 + LOG_SLACK lines
        for _cycle in range(2):
            for n in range(LOG_SLACK + 1):
                store.put("x", "items", "hot", {"n": n})
            assert path.read_bytes().count(b"\n") == LOG_SLACK + 2  # the snapshot line, then each write
            store.put("x", "items", "hot", {"n": "last"})
            assert path.read_bytes().count(b"\n") == 1


def test_compaction_writes_a_hidden_temp_file_beside_the_log_and_syncs_the_folder(
        path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    replaced: list[Path] = []
    synced_folders: list[int] = []
    real_replace, real_fsync = os.replace, os.fsync

    def replace(source: t.Any, target: t.Any) -> None:
        replaced.append(Path(source))
        real_replace(source, target)

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            synced_folders.append(fd)
        real_fsync(fd)

    monkeypatch.setattr("mocksrv.state.appendlog.os.replace", replace)
    monkeypatch.setattr("mocksrv.state.appendlog.os.fsync", fsync)
    EmbeddedStore(path).close()
    assert len(replaced) == 1 and replaced[0].parent == path.parent  # a rename is atomic within one folder
    assert re.fullmatch(rf"\.{re.escape(path.name)}\..+\.tmp", replaced[0].name)
    assert synced_folders, "the folder was not fsynced after the rename"


def test_a_failed_compaction_says_why_and_leaves_no_temp_file(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: t.Any, **__: t.Any) -> t.Any:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr("mocksrv.state.appendlog.os.replace", broken)
        with pytest.raises(StoreError, match=f"{path.name}: compaction failed: .*No space left"):
            EmbeddedStore(path)
    assert [p.name for p in path.parent.iterdir()] == []
    with monkeypatch.context() as patch:
        patch.setattr("mocksrv.state.appendlog.fsync_dir", broken)
        with pytest.raises(StoreError, match=f"{path.name}: cannot make the snapshot durable: .*No space left"):
            EmbeddedStore(path)


def test_a_failed_compaction_while_running_is_a_warning(path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    with EmbeddedStore(path) as store:
        monkeypatch.setattr("mocksrv.state.appendlog.tempfile.mkstemp", lambda **_: (_ for _ in ()).throw(OSError("disk gone")))
        with caplog.at_level("WARNING", logger="mocksrv.state.store"):
            for n in range(LOG_SLACK + 2):
                store.put("x", "items", "hot", {"n": n})
        assert store.get("x", "items", "hot") == {"n": LOG_SLACK + 1}  # the writes themselves landed
    assert f"{path}: cannot write a snapshot: disk gone" in caplog.messages


def test_a_write_whose_repair_fails_says_both(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with EmbeddedStore(path) as store:
        monkeypatch.setattr("mocksrv.state.appendlog.os.fsync", lambda fd: (_ for _ in ()).throw(OSError("fsync failed")))
        monkeypatch.setattr("mocksrv.state.appendlog.os.truncate", lambda *_: (_ for _ in ()).throw(OSError("read-only")))
        with pytest.raises(StoreError, match=r"write failed \(fsync failed\) and the log could not be repaired: "
                                             "read-only"):
            store.put("x", "items", 1, {})
        monkeypatch.undo()


def test_open_compacts_the_log(path: Path) -> None:
    with EmbeddedStore(path) as store:
        for n in range(50):
            store.put("x", "items", n % 5, {"n": n})
        store.next_id("x", "items", start=90)
    size_before = path.stat().st_size
    with EmbeddedStore(path) as reopened:
        assert path.read_bytes().count(b"\n") == 1  # one snapshot line
        assert path.stat().st_size < size_before
        assert reopened.list("x", "items") == ([{"n": n} for n in range(45, 50)], 5)
        assert reopened.next_id("x", "items") == 91
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left behind


def test_long_log_compacts_while_running(path: Path) -> None:
    with EmbeddedStore(path) as store:
        store.put("x", "items", "keep", {"v": 1})
        for n in range(LOG_SLACK + 10):
            store.put("x", "items", "hot", {"n": n})
        lines = path.read_bytes().count(b"\n")
        assert lines < LOG_SLACK  # compacted once the log passed 2 x live + LOG_SLACK lines
        assert store.get("x", "items", "hot") == {"n": LOG_SLACK + 9}
    with EmbeddedStore(path) as reopened:
        assert reopened.list("x", "items") == ([{"v": 1}, {"n": LOG_SLACK + 9}], 2)


def test_failed_write_changes_nothing_and_keeps_the_log_readable(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with EmbeddedStore(path) as store:
        store.put("x", "items", 1, {"v": 1})
        size = path.stat().st_size

        def broken_fsync(fd: int) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr("mocksrv.state.appendlog.os.fsync", broken_fsync)
        with pytest.raises(StoreError, match="write failed"):
            store.put("x", "items", 2, {"v": 2})
        monkeypatch.undo()
        assert store.get("x", "items", 2) is None  # not acknowledged, so not applied
        assert path.stat().st_size == size  # the half-written line was cut off
        store.put("x", "items", 3, {"v": 3})
    with EmbeddedStore(path) as reopened:
        assert reopened.list("x", "items") == ([{"v": 1}, {"v": 3}], 2)


@pytest.mark.parametrize("file", [False, True])
def test_writes_change_the_table_in_place(file: bool, tmp_path: Path) -> None:
    # guards the embedded store's O(1) write: stock TinyDB rebuilds the whole table dict on every write
    with EmbeddedStore(tmp_path / "store.jsonl" if file else None) as store:
        store.replace_all({"x": {"items": [(n, {"n": n}) for n in range(100)]}})
        table = store._tables["x/items"]
        store.put("x", "items", 100, {"n": 100})
        store.update("x", "items", 5, {"m": 1})
        store.delete("x", "items", 6)
        assert store._tables["x/items"] is table and len(table) == 100


def test_tinydb_s_own_api_works_on_the_store_s_storage() -> None:
    # PackedStorage is a whole TinyDB Storage: TinyDB's own writes (the store makes its own, in place)
    # keep records packed, and TinyDB's queries see them decoded
    db = TinyDB(storage=PackedStorage)
    items = db.table("items")
    items.insert_multiple([{"n": 1}, {"n": 2}, {"n": 3}])
    items.update({"odd": True}, Query().n.one_of([1, 3]))
    items.remove(doc_ids=[1])
    assert items.search(Query().odd == True) == [{"n": 3, "odd": True}]  # noqa: E712 (a TinyDB query)
    assert items.get(doc_id=2) == {"n": 2}
    packed = t.cast(PackedStorage, db.storage).tables["items"]
    assert all(isinstance(record, bytes) for record in packed.values())
    assert {key: decode_record(record) for key, record in packed.items()} == {"2": {"n": 2}, "3": {"n": 3, "odd": True}}
    with pytest.raises(StoreError, match=r"^record items/4 is not JSON"):
        items.insert({"n": 4, "when": object()})  # through TinyDB's own API too, named
    assert items.count(Query().n.exists()) == 2  # and the refused record is not there (read gives a copy)
    db.drop_table("items")
    assert db.tables() == set()
    assert PackedStorage().remove("items", "1") is False  # nothing to remove: no table, no record
    storage = PackedStorage()
    storage.put("items", "1", encode_record({"n": 1}))
    assert storage.remove("items", "2") is False and storage.remove("items", "1") is True


def test_a_filtered_listing_keeps_nothing_once_read() -> None:
    # TinyDB caches query results per table unless told not to; the store's tables keep none
    store = EmbeddedStore()
    store.replace_all({"maxcare": {"emails": [(n, _email(n)) for n in range(2000)]}})

    def search() -> None:
        for status in ("sent", "draft"):
            _page, total = store.list("maxcare", "emails", where={"status": status}, limit=1)
            assert total == (2000 if status == "sent" else 0)

    assert _traced_growth(search) < 20_000


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
        store = EmbeddedStore()
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
        store = EmbeddedStore()
        store.replace_all({"maxcare": {"emails": seed}})
        return store

    per_record = _traced_growth(load) / count
    assert per_record < 120, f"{per_record:.0f} bytes per seeded record: the packed records were copied"
    store = EmbeddedStore()
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
    with EmbeddedStore(path) as store:
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
    with EmbeddedStore(path) as store:
        store.put("x", "items", 1, {"id": 1})
    fsyncs.clear()
    EmbeddedStore(path).close()  # opening compacts the log into one snapshot line
    kinds = [what if what == "folder" else "file" for what, _ in fsyncs]
    assert kinds[-2:] == ["file", "folder"], fsyncs
    assert fsyncs[-2][1] == path.stat().st_size  # the snapshot, whole, before it replaced the log
