"""Generic stateful REST on a spec written for it: CRUD, envelopes, pagination, filters,
PUT vs PATCH, nested collections — every answer valid under the spec."""

from __future__ import annotations

import typing as t

import pytest
import requests

from conftest import DATA
from conftest import MockServer
from conftest import SpecChecker

NOTES = DATA / "features" / "notes.yaml"
TASKS = DATA / "features" / "tasks.yaml"


@pytest.fixture(scope="module")
def mock() -> t.Iterator[MockServer]:
    server = MockServer("--specs", str(NOTES), "--strict")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def checker(mock: MockServer) -> SpecChecker:
    return SpecChecker(NOTES, mock.base_url)


def create(mock: MockServer, checker: SpecChecker, **fields: str) -> dict[str, t.Any]:
    response = requests.post(mock.url("/notes/api/notes"), json=fields, timeout=10)
    assert response.status_code == 201, response.text
    checker.assert_valid(response)
    return t.cast(dict[str, t.Any], response.json())


def test_create_then_read_update_replace_delete(mock: MockServer, checker: SpecChecker) -> None:
    note = create(mock, checker, title="First", body="hello", status="draft")
    assert (note["title"], note["body"], note["status"]) == ("First", "hello", "draft")
    url = mock.url(f"/notes/api/notes/{note['id']}")
    assert requests.get(url, timeout=10).json() == note

    patched = requests.patch(url, json={"status": "published"}, timeout=10)
    checker.assert_valid(patched)
    assert patched.json() == {**note, "status": "published"}

    replaced = requests.put(url, json={"title": "Second"}, timeout=10)
    checker.assert_valid(replaced)
    assert replaced.json()["title"] == "Second" and replaced.json()["id"] == note["id"]
    assert "body" not in requests.get(url, timeout=10).json()  # PUT replaced the whole record

    assert requests.delete(url, timeout=10).status_code == 204
    missing = requests.get(url, timeout=10)
    assert missing.status_code == 404
    checker.assert_valid(missing)
    assert requests.patch(url, json={"title": "x"}, timeout=10).status_code == 404


def test_list_envelope_pagination_and_filter(mock: MockServer, checker: SpecChecker) -> None:
    created = [create(mock, checker, title=f"n{i}", status="published" if i % 2 else "draft") for i in range(5)]
    published = [n["id"] for n in created if n["status"] == "published"]
    page = requests.get(mock.url("/notes/api/notes"), params={"status": "published", "limit": 1, "offset": 1},
                        timeout=10)
    checker.assert_valid(page)
    body = page.json()
    assert body["total"] >= len(published)
    assert len(body["data"]) == 1 and body["data"][0]["status"] == "published"
    assert (body["limit"], body["offset"]) == (1, 1)


def test_paging_with_limit_and_offset_visits_every_record_once(mock: MockServer, checker: SpecChecker) -> None:
    for i in range(5):
        create(mock, checker, title=f"paged {i}")
    everything = requests.get(mock.url("/notes/api/notes"), params={"limit": 50}, timeout=10).json()
    expected = [note["id"] for note in everything["data"]]
    assert everything["total"] == len(expected) >= 5
    seen: list[list[str]] = []
    for offset in range(0, len(expected), 2):
        page = requests.get(mock.url("/notes/api/notes"), params={"limit": 2, "offset": offset}, timeout=10)
        checker.assert_valid(page)
        assert (page.json()["offset"], page.json()["total"]) == (offset, len(expected))
        seen.append([note["id"] for note in page.json()["data"]])
    assert [len(ids) for ids in seen[:-1]] == [2] * (len(seen) - 1)
    assert [note_id for ids in seen for note_id in ids] == expected  # disjoint, complete, in order
    beyond = requests.get(mock.url("/notes/api/notes"), params={"limit": 2, "offset": len(expected)}, timeout=10)
    assert beyond.json()["data"] == []


def test_paging_by_page_number_visits_every_record_once() -> None:
    server = MockServer("--specs", str(TASKS), "--strict")
    try:
        tasks = SpecChecker(TASKS, server.base_url)
        for i in range(7):
            assert requests.post(server.url("/tasks/v2/tasks"), json={"name": f"t{i}"}, timeout=10).status_code == 201
        pages = []
        for number in (1, 2, 3, 4):
            page = requests.get(server.url("/tasks/v2/tasks"), params={"page": number, "per_page": 3}, timeout=10)
            tasks.assert_valid(page)
            pages.append([task["name"] for task in page.json()])
        assert pages == [["t0", "t1", "t2"], ["t3", "t4", "t5"], ["t6"], []]
    finally:
        server.stop()


def test_nested_collection_is_scoped_by_parent(mock: MockServer, checker: SpecChecker) -> None:
    first, second = create(mock, checker, title="a"), create(mock, checker, title="b")
    added = requests.post(mock.url(f"/notes/api/notes/{first['id']}/comments"), json={"text": "hi"}, timeout=10)
    assert added.status_code == 201
    checker.assert_valid(added)
    assert isinstance(added.json()["id"], int)
    on_first = requests.get(mock.url(f"/notes/api/notes/{first['id']}/comments"), timeout=10).json()
    on_second = requests.get(mock.url(f"/notes/api/notes/{second['id']}/comments"), timeout=10).json()
    assert [c["text"] for c in on_first] == ["hi"] and on_second == []


def test_the_server_assigns_ids_and_optional_fields_stay_unset(mock: MockServer, checker: SpecChecker) -> None:
    note = create(mock, checker, title="x", id="mine")
    assert note["id"] != "mine"
    assert "body" not in note and "status" not in note  # optional, never sent


# A spec whose create example breaks its own schema (the body is generated and shaped again),
# and one whose ids have three possible values (fresh ids run out).
ODD_SPEC = """
openapi: 3.0.3
info: {title: Odd, version: "1"}
servers: [{url: /api}]
paths:
  /things:
    get:
      operationId: listThings
      responses:
        "200":
          description: all things
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Thing"}}
    post:
      operationId: createThing
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [name], properties: {name: {type: string}}}
      responses:
        "201":
          description: created, in an envelope whose example is wrong
          content:
            application/json:
              schema:
                type: object
                required: [data, meta]
                properties:
                  data: {$ref: "#/components/schemas/Thing"}
                  meta: {type: object, required: [version], properties: {version: {type: integer}}}
              example: {data: {id: t1, name: x}, meta: {version: not an integer}}
  /things/{id}:
    get:
      operationId: getThing
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: one thing
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Thing"}
  /codes:
    get:
      operationId: listCodes
      responses:
        "200":
          description: all codes
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Code"}}
    post:
      operationId: createCode
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, properties: {label: {type: string}}}
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Code"}
  /codes/{id}:
    get:
      operationId: getCode
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: one code
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Code"}
components:
  schemas:
    Thing:
      type: object
      required: [id, name]
      properties: {id: {type: string}, name: {type: string}}
    Code:
      type: object
      required: [id]
      properties: {id: {type: string, pattern: "^[a-c]$"}, label: {type: string}}
"""


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[MockServer]:
    spec = tmp_path_factory.mktemp("odd") / "odd.yaml"
    spec.write_text(ODD_SPEC)
    server = MockServer("--specs", str(spec), "--strict")
    yield server
    server.stop()


def test_a_create_stores_one_record_when_its_bad_example_is_replaced(odd: MockServer) -> None:
    for name in ("one", "two"):
        created = requests.post(odd.url("/odd/api/things"), json={"name": name}, timeout=10)
        assert created.status_code == 201, created.text
        assert isinstance(created.json()["meta"]["version"], int)  # generated: the example was not valid
    thing = created.json()["data"]
    listed = requests.get(odd.url("/odd/api/things"), timeout=10).json()
    assert [t["name"] for t in listed] == ["one", "two"]  # no second record per create
    assert requests.get(odd.url(f"/odd/api/things/{thing['id']}"), timeout=10).json() == thing


def test_a_create_without_a_free_id_is_refused_never_acknowledged(odd: MockServer) -> None:
    acknowledged: list[str] = []
    refused = None
    for number in range(10):  # bounded: three ids exist
        created = requests.post(odd.url("/odd/api/codes"), json={"label": f"c{number}"}, timeout=10)
        if created.status_code != 201:
            refused = created
            break
        acknowledged.append(created.json()["id"])
    assert refused is not None and refused.status_code == 500, "every create was acknowledged"
    assert "cannot assign a new id in codes" in refused.text
    assert len(set(acknowledged)) == len(acknowledged) <= 3
    stored = requests.get(odd.url("/odd/api/codes"), timeout=10).json()
    assert sorted(c["id"] for c in stored) == sorted(acknowledged)
    for code in stored:  # each acknowledged id is the record its client created
        assert code["label"] == f"c{acknowledged.index(code['id'])}"


def test_a_nested_collection_goes_with_its_parent(mock: MockServer, checker: SpecChecker) -> None:
    note = create(mock, checker, title="parent")
    comments = mock.url(f"/notes/api/notes/{note['id']}/comments")
    assert requests.post(comments, json={"text": "hi"}, timeout=10).status_code == 201
    assert requests.delete(mock.url(f"/notes/api/notes/{note['id']}"), timeout=10).status_code == 204
    for answer in (requests.get(comments, timeout=10), requests.post(comments, json={"text": "late"}, timeout=10)):
        assert answer.status_code == 404, answer.text
        checker.assert_valid(answer)

