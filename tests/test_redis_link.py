"""The Redis store's per-thread connections (state/redis_link.py) on a real redis-server: each thread and
each forked worker speaks on a connection of its own, a script Redis has not cached still runs, and a
lost connection is one error after which the next command connects again."""

from __future__ import annotations

import os
import threading
import typing as t
import uuid

import pytest
import redis

from mocksrv.errors import StoreError
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
