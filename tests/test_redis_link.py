"""The Redis store's per-thread connections (state/redis_link.py) on a real redis-server: each thread and
each forked worker speaks on a connection of its own, a script Redis has not cached still runs, a lost
connection is one error after which the next command connects again, and an expectation travels in the
round trip of the call it guards, which does nothing when it fails."""

from __future__ import annotations

import os
import threading
import typing as t
import uuid

import pytest
import redis

from mocksrv.errors import RecordChanged
from mocksrv.errors import StoreError
from mocksrv.state.redis_link import Expectation
from mocksrv.state.redis_link import LuaScript
from mocksrv.state.redis_link import RedisLink
from mocksrv.state.redis_store import RedisStore

if t.TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import RedisServer


@pytest.fixture
def link(redis_server: RedisServer) -> t.Iterator[RedisLink]:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    opened = RedisLink(client.connection_pool)
    yield opened
    opened.close()
    client.close()


def client_id(link: RedisLink) -> int:
    return int(link.command("CLIENT", "ID"))


def test_each_thread_speaks_on_its_own_connection(link: RedisLink) -> None:
    ids: list[int] = []
    threads = [threading.Thread(target=lambda: ids.append(client_id(link))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len({*ids, client_id(link)}) == 4
    assert client_id(link) == client_id(link)  # and keeps it


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_worker_opens_its_own_connection_and_leaves_the_parents_alone(link: RedisLink) -> None:
    parent = client_id(link)  # opened before the fork, as the app is built before --workers forks
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's own coverage is not collected
        try:
            mine = client_id(link)
            link.close()  # what a worker does when it stops: must not close the parent's socket
            os.write(writing, str(mine).encode())
        finally:
            os._exit(0)
    os.close(writing)
    _, status = os.waitpid(child, 0)
    reported = os.read(reading, 64).decode()
    os.close(reading)
    assert os.waitstatus_to_exitcode(status) == 0
    assert reported and int(reported) != parent
    assert client_id(link) == parent  # the parent's connection still answers, and only its own replies


def test_a_script_redis_has_not_cached_is_sent_with_its_source(link: RedisLink) -> None:
    script = LuaScript(f"return ARGV[1] .. '-{uuid.uuid4().hex}'")  # never loaded on this server
    assert link.run(script, [], ["x"]).startswith("x-")
    link.command("SCRIPT", "FLUSH")  # as after a Redis restart
    assert link.run(script, [], ["y"]).startswith("y-")
    assert link.command("SCRIPT", "EXISTS", script.sha) == [1]  # EVAL cached it again


def test_the_store_counts_on_after_redis_forgets_its_scripts(redis_server: RedisServer) -> None:
    with RedisStore(redis_server.url, namespace=uuid.uuid4().hex) as store:
        assert store.next_id("api", "things") == 1
        store.client.script_flush()
        assert store.next_id("api", "things") == 2
        assert store.create("api", "things", "a", {"id": "a"})


def test_a_lost_connection_is_one_error_and_the_next_command_connects_again(tmp_path: Path) -> None:
    from tests.conftest import RedisServer

    server = RedisServer(tmp_path / "redis")
    try:
        with RedisStore(server.url) as store:
            store.put("api", "things", "a", {"id": "a"})
            server.kill()
            with pytest.raises(StoreError, match=r"Redis at redis://127\.0\.0\.1"):
                store.get("api", "things", "a")
            server = server.restarted()  # empty: no persistence in this one
            assert store.get("api", "things", "a") is None
            store.put("api", "things", "a", {"id": "a"})
            assert store.get("api", "things", "a") == {"id": "a"}
    finally:
        server.stop()


def test_close_closes_the_connections_it_opened(redis_server: RedisServer, link: RedisLink) -> None:
    mine = client_id(link)
    others: list[int] = []
    thread = threading.Thread(target=lambda: others.append(client_id(link)))
    thread.start()
    thread.join(10)
    link.close()
    with redis.Redis.from_url(redis_server.url, decode_responses=True) as watcher:
        listed = {int(client["id"]) for client in watcher.client_list()}
    assert mine not in listed and others[0] not in listed


def evalsha_calls(store: RedisStore) -> int:
    return int(store.client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))


def numbered(number: int) -> tuple[str, dict[str, t.Any]]:
    return f"n-{number}", {"id": f"n-{number}", "number": number}


def test_a_numbered_create_is_one_round_trip_once_the_process_knows_its_sequence(redis_server: RedisServer) -> None:
    with RedisStore(redis_server.url, namespace=uuid.uuid4().hex) as store:
        store.create_numbered("api", "things", numbered, attempts=2)
        before = evalsha_calls(store)
        assert store.create_numbered("api", "things", numbered, attempts=2) == numbered(2)
        assert evalsha_calls(store) - before == 1  # next_id and create would be two


def test_replicas_creating_in_turn_draw_every_number_once(redis_server: RedisServer) -> None:
    namespace = uuid.uuid4().hex
    with RedisStore(redis_server.url, namespace) as one, RedisStore(redis_server.url, namespace) as other:
        made = [(one if turn % 3 else other).create_numbered("api", "things", numbered, attempts=2)
                for turn in range(30)]  # each one's guess is often stale: the other drew meanwhile
        assert made == [numbered(n) for n in range(1, 31)]
        assert one.next_id("api", "things") == 31


def test_a_replica_that_keeps_guessing_wrong_falls_back_to_two_steps(redis_server: RedisServer) -> None:
    namespace = uuid.uuid4().hex
    with RedisStore(redis_server.url, namespace) as one, RedisStore(redis_server.url, namespace) as other:
        drawn_by_other: list[int] = []

        def raced(number: int) -> tuple[str, dict[str, t.Any]]:
            drawn_by_other.append(other.next_id("api", "things"))  # another replica draws every time
            return numbered(number)

        created = one.create_numbered("api", "things", raced, attempts=2)
        assert created is not None
        number = int(str(created[0]).removeprefix("n-"))
        assert number not in drawn_by_other
        assert sorted([*drawn_by_other, number]) == list(range(1, len(drawn_by_other) + 2))
        assert created == numbered(number)
        assert one.get("api", "things", created[0]) == {"id": created[0], "number": number}


def test_a_pipeline_reads_every_reply_even_after_an_error_one(link: RedisLink) -> None:
    key = f"list-{uuid.uuid4().hex}"
    link.command("RPUSH", key, "a")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        link.pipeline([("ECHO", "one"), ("INCR", key), ("ECHO", "three")])
    assert link.command("ECHO", "next") == "next"  # not "three", left unread
    assert link.pipeline([("ECHO", "a"), ("ECHO", "b")]) == ["a", "b"]
    assert link.pipeline([]) == []


def test_every_kind_of_argument_reaches_redis_as_redis_py_would_send_it(redis_server: RedisServer,
                                                                         link: RedisLink) -> None:
    key = f"kinds-{uuid.uuid4().hex}"
    values: list[t.Any] = ["é ünïcode", b"\xff\x00raw", 12345678901234567890, -3, 0.1 + 0.2, 1e20]
    link.pipeline([("RPUSH", key, value) for value in values])
    with redis.Redis.from_url(redis_server.url) as raw:  # bytes as stored
        by_link = raw.lrange(key, 0, -1)
        raw.delete(key)
        raw.rpush(key, *values)
        assert by_link == raw.lrange(key, 0, -1)
    assert by_link == ["é ünïcode".encode(), b"\xff\x00raw", b"12345678901234567890", b"-3", b"0.30000000000000004",
                       b"1e+20"]


def test_an_argument_redis_cannot_take_is_refused_before_anything_is_sent(link: RedisLink) -> None:
    with pytest.raises(redis.DataError):
        link.command("SET", f"none-{uuid.uuid4().hex}", None)
    with pytest.raises(redis.DataError):
        link.pipeline([("ECHO", "sent?"), ("ECHO", True)])
    assert link.command("ECHO", "next") == "next"  # nothing half-sent is left to read


class CountingConnection(redis.Connection):
    """A redis-py connection that counts what it sends: one packed send is one round trip."""

    sends = 0

    def send_packed_command(self, command: t.Any, check_health: bool = True) -> None:
        CountingConnection.sends += 1
        super().send_packed_command(command, check_health)


@pytest.fixture
def counted(redis_server: RedisServer) -> t.Iterator[RedisLink]:
    pool = redis.ConnectionPool.from_url(redis_server.url, decode_responses=True, connection_class=CountingConnection)
    opened = RedisLink(pool)
    yield opened
    opened.close()
    pool.disconnect()


def round_trips(link: RedisLink, call: t.Callable[[], t.Any]) -> tuple[int, t.Any]:
    before = CountingConnection.sends
    result = call()
    return CountingConnection.sends - before, result


HIT = LuaScript("return redis.call('INCR', KEYS[1])")


def expectation(link: RedisLink, text: str) -> tuple[Expectation, str]:
    """A hash holding ``text`` in field "version" (none if ""), and the counter key a script counts in."""
    key = f"world-{uuid.uuid4().hex}"
    link.command("HSET", key, "version", text) if text else link.command("PING")  # the thread's connection opened
    return Expectation(key, "version", text), f"hits-{uuid.uuid4().hex}"


@pytest.mark.parametrize("text", ["v1", ""])
def test_an_expectation_that_holds_travels_with_the_next_call_in_its_round_trip(counted: RedisLink, text: str) -> None:
    expected, hits = expectation(counted, text)
    counted.command("SCRIPT", "LOAD", HIT.checked.source)  # as after its first run
    counted.expect(expected)
    assert round_trips(counted, lambda: counted.run(HIT, [hits], [])) == (1, 1)
    counted.expect(expected)
    assert round_trips(counted, lambda: counted.command("GET", hits)) == (1, "1")
    counted.expect(expected)
    assert round_trips(counted, lambda: counted.pipeline([("GET", hits), ("ECHO", "x")])) == (1, ["1", "x"])


def test_a_script_under_a_failed_expectation_does_nothing_and_says_so(counted: RedisLink) -> None:
    expected, hits = expectation(counted, "v1")
    counted.command("HSET", expected.key, "version", "v2")  # another process changed it (before the expectation)
    counted.expect(expected)
    with pytest.raises(RecordChanged):
        counted.run(HIT, [hits], [])
    assert counted.command("GET", hits) is None  # not counted
    assert counted.run(HIT, [hits], []) == 1  # the expectation went with that call: the next one runs


@pytest.mark.parametrize("call", [
    lambda link, key: link.command("GET", key),
    lambda link, key: link.pipeline([("GET", key)]),
    lambda link, key: link.confirm(),
])
def test_reads_under_a_failed_expectation_say_so(counted: RedisLink,
                                                 call: t.Callable[[RedisLink, str], t.Any]) -> None:
    expected, hits = expectation(counted, "")
    counted.command("HSET", expected.key, "version", "v1")  # made where none was expected
    counted.expect(expected)
    with pytest.raises(RecordChanged):
        call(counted, hits)
    assert counted.command("ECHO", "next") == "next"  # every reply of that round trip was read


def test_an_expectation_is_checked_once_and_only_on_its_own_thread(counted: RedisLink,
                                                                   redis_server: RedisServer) -> None:
    expected, hits = expectation(counted, "v1")
    counted.expect(expected)
    other: list[t.Any] = []
    thread = threading.Thread(target=lambda: other.append(counted.run(HIT, [hits], [])))
    thread.start()
    thread.join(10)
    with redis.Redis.from_url(redis_server.url, decode_responses=True) as another:
        another.hset(expected.key, "version", "v2")
    assert other == [1]  # the other thread's call carried no check
    with pytest.raises(RecordChanged):
        counted.confirm()
    assert round_trips(counted, counted.confirm) == (0, None)  # nothing left to check
    counted.expect(expected)
    counted.expect(None)  # withdrawn
    assert counted.run(HIT, [hits], []) == 2


def test_a_checked_script_redis_has_not_cached_is_sent_with_its_source(link: RedisLink) -> None:
    script = LuaScript(f"return ARGV[1] .. '-{uuid.uuid4().hex}'")
    expected, _ = expectation(link, "v1")
    link.expect(expected)
    assert link.run(script, [], ["x"]).startswith("x-")
    assert link.command("SCRIPT", "EXISTS", script.checked.sha) == [1]


def test_a_store_call_redis_py_makes_checks_the_expectation_first(redis_server: RedisServer) -> None:
    with RedisStore(redis_server.url, namespace=uuid.uuid4().hex) as store:
        store.put("__mocksrv", "world", "version", {"version": "v1"})
        store.put("api", "things", "a", {"id": "a"})
        with store.expecting("__mocksrv", "world", "version", {"version": "v1"}):
            assert store.list("api", "things") == ([{"id": "a"}], 1)  # held: answered
        with store.expecting("__mocksrv", "world", "version", {"version": "v0"}):
            with pytest.raises(RecordChanged):
                store.list("api", "things")
        with store.expecting("__mocksrv", "world", "version", {"version": "v0"}):
            pass
        assert store.get("api", "things", "a") == {"id": "a"}  # the block's end withdrew it
