"""`mocksrv serve --watch` (issue 19): edits to a spec or a fixture are served within a second or
two, the records and the journal stay, and a broken edit keeps the last good version serving."""

from __future__ import annotations

import shutil
import time
import typing as t
from pathlib import Path

import pytest
import requests

from conftest import DATA
from conftest import MockServer

NOTES = DATA / "features" / "notes.yaml"
PING = """
  /ping:
    get:
      operationId: ping
      responses:
        "200": {description: pong, content: {application/json: {schema: {type: object}}}}
"""


def eventually(check: t.Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the edit was not served in time"
        time.sleep(0.1)


@pytest.fixture()
def watched(tmp_path: Path) -> t.Iterator[tuple[MockServer, Path, Path]]:
    specs, fixtures = tmp_path / "specs", tmp_path / "fixtures"
    specs.mkdir()
    fixtures.mkdir()
    shutil.copy(NOTES, specs / "notes.yaml")
    (fixtures / "default.yaml").write_text("notes:\n  rate_limit: {limit: 100, window_seconds: 60}\n")
    server = MockServer("--specs", str(specs), "--fixtures", str(fixtures), "--watch")
    yield server, specs / "notes.yaml", fixtures / "default.yaml"
    server.stop()


def reloads(server: MockServer, kind: str) -> int:
    return sum(1 for line in server.lines if f"mocksrv.reload: {kind}" in line)


def test_a_spec_edit_is_served_and_the_records_and_journal_stay(watched: tuple[MockServer, Path, Path]) -> None:
    server, spec, _ = watched
    created = requests.post(server.url("/notes/api/notes"), json={"title": "kept"}, timeout=10)
    assert created.status_code == 201, created.text
    assert requests.get(server.url("/notes/api/ping"), timeout=10).status_code == 404
    session = requests.post(server.url("/__mocksrv/sessions"), json={"id": "w1"}, timeout=10).json()
    assert requests.post(session["apis"]["notes"] + "/notes", json={"title": "in w1"}, timeout=10).status_code == 201

    spec.write_text(spec.read_text().replace("\npaths:\n", "\npaths:" + PING, 1))
    eventually(lambda: requests.get(server.url("/notes/api/ping"), timeout=10).status_code == 200)
    notes = requests.get(server.url("/notes/api/notes"), timeout=10).json()["data"]
    assert [note["title"] for note in notes] == ["kept"]  # the store survived the reload
    journal = requests.get(server.url("/__mocksrv/requests"), params={"method": "POST"}, timeout=10).json()
    assert journal["count"] == 1  # so did the journal
    assert requests.get(session["apis"]["notes"] + "/ping", timeout=10).status_code == 200  # sessions too
    in_w1 = requests.get(session["apis"]["notes"] + "/notes", timeout=10).json()["data"]
    assert [note["title"] for note in in_w1] == ["in w1"]

    good = spec.read_text()
    spec.write_text("openapi: [this is not: yaml")  # a broken edit
    eventually(lambda: reloads(server, "reload failed") >= 1)
    assert requests.get(server.url("/notes/api/ping"), timeout=10).status_code == 200  # the last good version
    console = requests.get(server.url("/__mocksrv/ui/apis"), timeout=10).text
    assert "An edit could not be loaded; the last good version is served" in console

    spec.write_text(good.replace(PING, "\n", 1))  # fixed, and /ping taken out again
    eventually(lambda: requests.get(server.url("/notes/api/ping"), timeout=10).status_code == 404)
    assert "An edit could not be loaded" not in requests.get(server.url("/__mocksrv/ui/apis"), timeout=10).text


def test_a_fixture_edit_changes_the_scenario_in_force(watched: tuple[MockServer, Path, Path]) -> None:
    server, _, fixture = watched
    probe = {"probe": "1"}
    assert requests.get(server.url("/notes/api/notes"), params=probe, timeout=10).json()["total"] == 0
    fixture.write_text(
        "notes:\n"
        "  rules:\n"
        "    - name: a probe sees a thousand\n"
        "      operation: listNotes\n"
        "      match: [{in: query, name: probe, equals: '1'}]\n"
        "      then: {status: 200, body: {data: [], total: 1000}}\n")
    eventually(lambda: requests.get(server.url("/notes/api/notes"), params=probe, timeout=10).json()["total"] == 1000)
    assert reloads(server, "reloaded") >= 1
