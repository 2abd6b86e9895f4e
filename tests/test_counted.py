"""Faults and rules that apply N times, counted in the store: exact in one process, and across
processes that share a Redis (each `Faults` below on its own `RedisStore` is one replica)."""

from __future__ import annotations

import typing as t
import uuid
from collections.abc import Iterator

import pytest

from conftest import RedisServer
from mocksrv.state.faults import Faults
from mocksrv.state.rules import Rules
from mocksrv.state.store import EmbeddedStore
from mocksrv.state.store import Store


@pytest.fixture(params=["memory", "redis"])
def stores(request: pytest.FixtureRequest) -> Iterator[t.Callable[[], Store]]:
    """Make stores of one world: each a store of its own in memory; on Redis, replicas of one namespace."""
    opened: list[Store] = []
    namespace = uuid.uuid4().hex

    def make() -> Store:
        if request.param == "memory":
            store: Store = EmbeddedStore(None)
        else:
            from mocksrv.state.redis_store import RedisStore

            store = RedisStore(t.cast(RedisServer, request.getfixturevalue("redis_server")).url, namespace=namespace)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def test_a_fault_for_n_calls_answers_n_calls_then_goes(stores: t.Callable[[], Store]) -> None:
    faults = Faults(stores())
    made = faults.add_spec({"api": "a", "status": 503, "times": 2})
    endless = faults.add_spec({"api": "b", "latency_ms": 5})
    assert [(f.id, f.remaining) for f in faults.all()] == [(made.id, 2), (endless.id, None)]
    assert faults.take_for("a", "op") == made
    assert [f.remaining for f in faults.all()] == [1, None]
    assert faults.take_for("a", "op") == made
    assert faults.take_for("a", "op") is None  # used up
    assert [f.id for f in faults.all()] == [endless.id]
    assert all(faults.take_for("b", "op") == endless for _ in range(5))  # no times: until removed
    assert faults.remove(endless.id) and not faults.remove(endless.id)
    assert faults.all() == []


def test_carried_faults_keep_the_uses_they_had_left(stores: t.Callable[[], Store]) -> None:
    store = stores()
    faults = Faults(store)
    made = faults.add_spec({"api": "a", "status": 503, "times": 3})
    faults.take_for("a", "op")
    carried = faults.carry()
    store.replace_all({})  # what a scenario load does to the store
    store.reset_counters()
    faults.restore(carried)
    assert [(f.id, f.remaining) for f in faults.all()] == [(made.id, 2)]
    assert [getattr(faults.take_for("a", "op"), "id", None) for _ in range(3)] == [made.id, made.id, None]


def test_a_scenario_s_rules_are_numbered_from_1_on_every_load(stores: t.Callable[[], Store]) -> None:
    rules = Rules(stores())
    scenario = {"a": [{"then": {"status": 500}, "times": 1}, {"then": {"drop": True}}]}
    rules.load(scenario)
    added = rules.add(rules.build("a", {"then": {"status": 404}}))
    assert [r.id for r in rules.all()] == [1, 2, added.id] and added.id > 2
    rules.load(scenario)
    assert [r.id for r in rules.all()][:2] == [1, 2]


def test_replicas_share_faults_and_count_their_uses_once(redis_server: RedisServer) -> None:
    from mocksrv.state.redis_store import RedisStore

    namespace = uuid.uuid4().hex
    first, second = (Faults(RedisStore(redis_server.url, namespace=namespace)) for _ in range(2))
    changes: list[str] = []
    first.on_change(lambda: changes.append("first"))
    made = first.add_spec({"api": "a", "status": 503, "times": 3})
    assert changes == ["first"]  # MockState publishes a new world version here
    second.reload()  # what a replica does when it sees the new version
    assert [f.id for f in second.all()] == [made.id]
    taken = [first.take_for("a", "op"), second.take_for("a", "op"), second.take_for("a", "op"),
             first.take_for("a", "op"), second.take_for("a", "op")]
    assert [f.id if f else None for f in taken] == [made.id, made.id, made.id, None, None]  # 3 in all
    other = first.add_spec({"api": "b", "status": 500})
    second.reload()
    assert other.id != made.id and [f.id for f in second.all()] == [other.id]
    assert second.remove(other.id)
    first.reload()
    assert first.all() == []
    first.add_spec({"api": "c", "status": 500})
    second.clear()
    first.reload()
    assert first.all() == [] and first.take_for("c", "op") is None


def test_a_scenario_s_rule_removed_through_one_replica_is_gone_on_every_replica(redis_server: RedisServer) -> None:
    from mocksrv.state.redis_store import RedisStore

    namespace = uuid.uuid4().hex
    first, second = (Rules(RedisStore(redis_server.url, namespace=namespace)) for _ in range(2))
    scenario = {"a": [{"then": {"status": 500}}, {"then": {"status": 404}}]}
    for rules in (first, second):  # every replica builds the scenario's rules itself
        rules.load(scenario)
    assert first.remove(1) and not first.remove(1)
    second.reload()  # it saw the new world version
    assert [r.id for r in second.all()] == [2]
    assert getattr(second.take(lambda rule: True), "id", None) == 2
    first.clear()
    second.reload()
    assert second.all() == [] and second.take(lambda rule: True) is None
    second.load(scenario)  # a scenario loaded again brings them back
    assert [r.id for r in second.all()] == [1, 2]
