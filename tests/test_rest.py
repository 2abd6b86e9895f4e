"""Generic stateful REST on a spec written for it: CRUD, envelopes, pagination, filters,
PUT vs PATCH, nested collections — every answer valid under the spec."""

from __future__ import annotations

import re
import typing as t
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path

import pytest
import requests

from conftest import DATA
from conftest import MockServer
from conftest import SpecChecker
from conftest import inline_client
from mocksrv import Options
from mocksrv import create_app
from mocksrv.engine.records import timestamp_like
from mocksrv.openapi.specs import load_spec

NOTES = DATA / "features" / "notes.yaml"
TASKS = DATA / "features" / "tasks.yaml"
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


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
x-mocksrv-errors:
  ids_exhausted: {fields: {reason: out_of_codes}}
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
        "500":
          description: no code left
          content:
            application/json:
              schema: {type: object, required: [message], properties: {message: {type: string}, reason: {type: string}}}
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
  /batches:
    get:
      operationId: listMessages
      responses:
        "200":
          description: every message of every batch
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/Message"}}}}
    post:
      operationId: createBatch
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, properties: {subject: {type: string}}}}}
      responses:
        "201":
          description: one message per recipient; the example lists one too many
          content:
            application/json:
              schema:
                type: object
                required: [messages, status]
                properties:
                  messages: {type: array, minItems: 1, maxItems: 2, items: {$ref: "#/components/schemas/Message"}}
                  status: {type: string, enum: [queued]}
              example: {messages: [{id: m1, subject: a}, {id: m2, subject: b}, {id: m3, subject: c}], status: queued}
components:
  schemas:
    Thing:
      type: object
      required: [id, name]
      properties: {id: {type: string}, name: {type: string}}
    Message:
      type: object
      required: [id, subject]
      properties: {id: {type: string}, subject: {type: string}}
    Code:
      type: object
      required: [id]
      properties: {id: {type: string, pattern: "^[a-c]$"}, label: {type: string}}
"""


@pytest.fixture()
def odd(tmp_path: Path) -> t.Any:
    """The odd spec served in this process (Flask's test client), strict."""
    spec = tmp_path / "odd.yaml"
    spec.write_text(ODD_SPEC)
    return create_app(Options(specs=[spec], strict=True), apis=[load_spec(spec)]).test_client()


def test_a_create_stores_one_record_when_its_bad_example_is_replaced(odd: t.Any) -> None:
    for name in ("one", "two"):
        created = odd.post("/odd/api/things", json={"name": name})
        assert created.status_code == 201, created.text
        assert isinstance(created.json["meta"]["version"], int)  # generated: the example was not valid
    thing = created.json["data"]
    assert UUID_TEXT.fullmatch(thing["id"])  # a string id with no format, pattern or example: a v4 UUID
    listed = odd.get("/odd/api/things").json
    assert [t["name"] for t in listed] == ["one", "two"]  # no second record per create
    assert odd.get(f"/odd/api/things/{thing['id']}").json == thing


def test_a_create_of_several_records_whose_example_breaks_stores_those_it_answers(odd: t.Any) -> None:
    created = odd.post("/odd/api/batches", json={"subject": "hello"})
    assert created.status_code == 201, created.text
    messages = created.json["messages"]
    assert 1 <= len(messages) <= 2  # generated: the example's three break maxItems
    assert all(message["subject"] == "hello" for message in messages)
    assert created.json["status"] == "queued"  # the envelope around the records stays
    assert odd.get("/odd/api/batches").json == messages  # the example's third record is not kept


def test_a_create_without_a_free_id_is_refused_never_acknowledged(odd: t.Any) -> None:
    acknowledged: list[str] = []
    refused = None
    for number in range(10):  # bounded: three ids exist
        created = odd.post("/odd/api/codes", json={"label": f"c{number}"})
        if created.status_code != 201:
            refused = created
            break
        acknowledged.append(created.json["id"])
    assert refused is not None and refused.status_code == 500, "every create was acknowledged"
    assert refused.json == {"message": "cannot assign a new id in codes: 5 fresh ids were all taken (the spec's "
                                       "id schema allows few values)", "reason": "out_of_codes"}  # its documented 500
    assert len(set(acknowledged)) == len(acknowledged) <= 3
    stored = odd.get("/odd/api/codes").json
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


# -- in process: the same engine without a server (fast; what `make mutate` runs) -----------

SHOP_SPEC = """
openapi: 3.0.3
info: {title: Shop, version: "1"}
servers: [{url: /v1}]
paths:
  /orders:
    get:
      operationId: listOrders
      parameters:
        - {name: page, in: query, schema: {type: integer}}
        - {name: per_page, in: query, schema: {type: integer}}
        - {name: q, in: query, schema: {type: string}}
        - {name: sort, in: query, schema: {type: string}}
        - {name: customer, in: query, schema: {type: string}}
      responses:
        "200":
          description: a page
          content:
            application/json:
              schema:
                type: object
                required: [items]
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Order"}}
                  total_count: {type: integer}
                  per_page: {type: integer}
    post:
      operationId: createOrder
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [customer], properties: {customer: {type: string}, total: {type: number},
                     note: {type: string}}}
      responses:
        "201":
          description: created, in an envelope
          content:
            application/json:
              schema:
                type: object
                required: [data, status]
                properties: {data: {$ref: "#/components/schemas/Order"}, status: {type: string, enum: [created]}}
  /orders/{orderId}:
    parameters: [{name: orderId, in: path, required: true, schema: {type: string}}]
    get:
      operationId: getOrder
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Order"}}}}
        "404": {description: missing, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    put:
      operationId: replaceOrder
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, properties: {customer: {type: string},
                                                                           total: {type: number}}}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Order"}}}}
        "404": {description: missing, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    patch:
      operationId: updateOrder
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, properties: {total: {type: number}}}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Order"}}}}
        "404": {description: missing, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    delete:
      operationId: deleteOrder
      responses:
        "204": {description: deleted}
        "404": {description: missing, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
  /carts:
    get:
      operationId: listCarts
      parameters: [{name: limit, in: query, schema: {type: integer}}, {name: offset, in: query, schema: {type: integer}}]
      responses:
        "200":
          description: a page, two envelopes deep
          content:
            application/json:
              schema:
                type: object
                required: [result, served_by]
                properties:
                  result:
                    type: object
                    required: [carts, total]
                    properties:
                      carts: {type: array, items: {$ref: "#/components/schemas/Cart"}}
                      total: {type: integer}
                      limit: {type: integer}
                  served_by: {type: string, enum: [shop]}
    post:
      operationId: createCart
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, properties: {owner: {type: string}, limit: {type: integer}}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/CartAnswer"}}}}
    delete:
      operationId: emptyCarts  # no resource operation: answered as the spec says, nothing stored changes
      responses:
        "204": {description: emptied}
  /carts/{cartId}:
    get:
      operationId: getCart
      parameters: [{name: cartId, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/CartAnswer"}}}}
  /tickets:
    post:
      operationId: createTicket
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, properties: {seat: {type: string}}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Ticket"}}}}
  /tickets/{id}:
    get:
      operationId: getTicket
      parameters: [{name: id, in: path, required: true, schema: {type: number}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Ticket"}}}}
  /invoices:
    post:
      operationId: createInvoice
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, properties: {amount: {type: integer}}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Invoice"}}}}
  /invoices/{id}:
    get:
      operationId: getInvoice
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Invoice"}}}}
  /pets:
    post:
      operationId: createPet  # Petstore's: the 201 has no body, the client names the pet
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}
      responses:
        "201": {description: Null response}
  /pets/{petId}:
    get:
      operationId: showPet
      parameters: [{name: petId, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}}
        "404": {description: missing, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
  /send:
    post:
      operationId: sendMail
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, properties: {to: {type: string}}}}}
      responses:
        "200":
          description: queued
          content:
            application/json:
              schema: {type: object, required: [mail_id], properties: {mail_id: {type: string, format: uuid}}}
  /mail-log:
    get:
      operationId: listMail
      responses:
        "200":
          description: sent mail
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Mail"}}
  /mail-log/{mail_id}:
    get:
      operationId: getMail
      parameters: [{name: mail_id, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Mail"}}}}
  /batches:
    post:
      operationId: createBatch
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, properties: {subject: {type: string}}}}}
      responses:
        "201":
          description: one message per recipient
          content:
            application/json:
              schema:
                type: object
                required: [messages]
                properties:
                  messages:
                    type: array
                    minItems: 2
                    maxItems: 2
                    items: {$ref: "#/components/schemas/Message"}
  /batches/{id}:
    get:
      operationId: getMessage
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Message"}}}}
  /badges:
    post:
      operationId: createBadge
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, properties: {label: {type: string}}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Badge"}}}}
  /badges/{id}:
    get:
      operationId: getBadge
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Badge"}}}}
components:
  schemas:
    Badge:  # a rule beyond `required`: at least three fields
      type: object
      required: [id]
      minProperties: 3
      properties: {id: {type: integer}, label: {type: string}, color: {type: string}}
    Pet:
      type: object
      required: [id, name]
      properties: {id: {type: integer, format: int64}, name: {type: string}}
    Order:
      type: object
      required: [id, customer, created_at]
      properties:
        id: {type: string, example: "ord_89abcdef0123"}
        customer: {type: string}
        total: {type: number, minimum: 0}
        created_at: {type: string, example: "2026-03-25 10:00:01.234+00"}
    Cart:
      type: object
      required: [id, owner]
      properties: {id: {type: string, format: uuid}, owner: {type: string}, limit: {type: integer}}
    CartAnswer:
      type: object
      required: [result, served_by]
      properties:
        result: {type: object, required: [cart], properties: {cart: {$ref: "#/components/schemas/Cart"}}}
        served_by: {type: string, enum: [shop]}
    Ticket:
      type: object
      required: [id]
      properties: {id: {type: number}, seat: {type: string}}
    Invoice:
      type: object
      required: [id, amount]
      properties:
        id: {type: integer}
        amount: {type: integer}
        createdAt: {type: string, format: date-time}
    Mail:
      type: object
      required: [mail_id, to]
      properties: {mail_id: {type: string, format: uuid}, to: {type: string}}
    Message:
      type: object
      required: [id, subject]
      properties:
        id: {type: string, pattern: "^msg-[0-9]{6}$"}
        subject: {type: string}
    Error:
      type: object
      required: [message]
      properties: {message: {type: string}}
"""
START = datetime(2026, 5, 4, 3, 2, 1, 987654, tzinfo=UTC)


@pytest.fixture()
def shop(tmp_path: Path) -> t.Any:
    """The shop spec served in this process (Flask's test client), strict, the clock started at START."""
    spec = tmp_path / "shop.yaml"
    spec.write_text(SHOP_SPEC)
    app = create_app(Options(specs=[spec], strict=True, clock_start=START), apis=[load_spec(spec)])
    return app.test_client()


def test_in_process_create_read_patch_replace_delete(shop: t.Any) -> None:
    created = shop.post("/shop/v1/orders", json={"customer": "ann", "total": 5, "note": "kept, not shown"})
    assert created.status_code == 201, created.text
    order = created.json["data"]
    # an id shaped like the spec's example (prefix + as many hex digits), the timestamp written its way
    assert re.fullmatch(r"ord_[0-9a-f]{12}", order["id"])
    assert re.fullmatch(r"2026-05-04 03:0\d:\d\d\.\d{3}\+00", order["created_at"])
    assert (order["customer"], order["total"]) == ("ann", 5) and "note" not in order
    url = f"/shop/v1/orders/{order['id']}"
    assert shop.get(url).json == order

    patched = shop.patch(url, json={"total": 7})
    assert patched.status_code == 200 and patched.json == {**order, "total": 7}
    assert shop.get(url).json == {**order, "total": 7}

    replaced = shop.put(url, json={"customer": "bob"})
    assert replaced.status_code == 200
    assert replaced.json["customer"] == "bob" and replaced.json["id"] == order["id"] and "total" not in replaced.json
    assert shop.get(url).json == replaced.json

    assert shop.delete(url).status_code == 204
    for method in ("get", "patch", "put", "delete"):
        missing = getattr(shop, method)(url, json={"total": 1} if method in ("patch", "put") else None)
        assert missing.status_code == 404, method
        assert order["id"] in missing.json["message"]


def test_in_process_an_id_the_client_sends_does_not_name_a_record_the_answer_carries(shop: t.Any) -> None:
    created = shop.post("/shop/v1/orders", json={"customer": "ann", "id": "mine"})
    assert created.status_code == 201, created.text
    order = created.json["data"]
    assert re.fullmatch(r"ord_[0-9a-f]{12}", order["id"])  # drawn by the server, as the answer tells
    assert shop.get(f"/shop/v1/orders/{order['id']}").json == order
    assert shop.get("/shop/v1/orders/mine").status_code == 404


def test_in_process_a_forced_status_leaves_the_store_alone(shop: t.Any) -> None:
    created = shop.post("/shop/v1/orders", json={"customer": "ann"})
    url = f"/shop/v1/orders/{created.json['data']['id']}"
    assert shop.delete(url, headers={"Prefer": "code=404"}).status_code == 404
    assert shop.get(url).status_code == 200  # still there: the client asked for a 404, nothing was deleted


def test_in_process_list_pages_filters_searches_and_sorts(shop: t.Any) -> None:
    for customer, total in [("ann", 3), ("bob", 1), ("ann", 2), ("cat", 5), ("ann", 4)]:
        assert shop.post("/shop/v1/orders", json={"customer": customer, "total": total}).status_code == 201
    everything = shop.get("/shop/v1/orders").json
    assert [o["total"] for o in everything["items"]] == [3, 1, 2, 5, 4]
    assert everything["total_count"] == 5
    page = shop.get("/shop/v1/orders", query_string={"customer": "ann", "per_page": 2, "page": 2}).json
    assert [o["total"] for o in page["items"]] == [4] and page["total_count"] == 3 and page["per_page"] == 2
    first = shop.get("/shop/v1/orders", query_string={"per_page": 2, "page": 1}).json
    assert [o["total"] for o in first["items"]] == [3, 1]
    found = shop.get("/shop/v1/orders", query_string={"q": "BO"}).json
    assert [o["customer"] for o in found["items"]] == ["bob"] and found["total_count"] == 1
    ascending = shop.get("/shop/v1/orders", query_string={"sort": "total"}).json
    assert [o["total"] for o in ascending["items"]] == [1, 2, 3, 4, 5]
    descending = shop.get("/shop/v1/orders", query_string={"sort": "-total", "per_page": 3}).json
    assert [o["total"] for o in descending["items"]] == [5, 4, 3]
    assert shop.get("/shop/v1/orders", query_string={"per_page": -1}).json["total_count"] == 5  # read as absent


def test_in_process_integer_ids_count_up(shop: t.Any) -> None:
    first = shop.post("/shop/v1/invoices", json={"amount": 10}).json
    second = shop.post("/shop/v1/invoices", json={"amount": 20}).json
    assert (first["id"], second["id"]) == (1, 2)
    assert shop.get("/shop/v1/invoices/2").json == second
    assert "createdAt" not in first  # optional and never sent: stays unset
    tickets = [shop.post("/shop/v1/tickets", json={"seat": seat}).json for seat in ("1A", "1B")]
    assert tickets == [{"id": 1, "seat": "1A"}, {"id": 2, "seat": "1B"}]  # a number id counts up too, on its own


def test_in_process_a_create_answered_without_a_body_keeps_the_id_the_client_sent(shop: t.Any) -> None:
    assert shop.post("/shop/v1/pets", json={"id": 9223372036854775806, "name": "Rex"}).status_code == 201
    assert shop.get("/shop/v1/pets/9223372036854775806").json == {"id": 9223372036854775806, "name": "Rex"}
    assert shop.get("/shop/v1/pets/1").status_code == 404


def test_in_process_a_create_without_a_read_of_its_own_is_kept_where_its_id_is_read(shop: t.Any) -> None:
    sent = shop.post("/shop/v1/send", json={"to": "a@example.com"})
    assert sent.status_code == 200
    mail_id = sent.json["mail_id"]
    assert UUID_TEXT.fullmatch(mail_id)
    assert shop.get(f"/shop/v1/mail-log/{mail_id}").json == {"mail_id": mail_id, "to": "a@example.com"}
    assert shop.get("/shop/v1/mail-log").json == [{"mail_id": mail_id, "to": "a@example.com"}]


def test_in_process_a_create_answering_several_records_stores_each(shop: t.Any) -> None:
    batch = shop.post("/shop/v1/batches", json={"subject": "hello"})
    assert batch.status_code == 201
    messages = batch.json["messages"]
    assert len(messages) == 2 and len({m["id"] for m in messages}) == 2
    for message in messages:
        assert re.fullmatch(r"msg-[0-9]{6}", message["id"])  # drawn from the id's pattern
        assert shop.get(f"/shop/v1/batches/{message['id']}").json == {"id": message["id"], "subject": "hello"}


def test_in_process_a_create_answer_keeps_its_envelope(shop: t.Any) -> None:
    created = shop.post("/shop/v1/orders", json={"customer": "ann"})
    assert created.status_code == 201
    assert created.json["status"] == "created" and created.json["data"]["customer"] == "ann"


def test_in_process_records_two_envelopes_deep_are_created_read_and_listed(shop: t.Any) -> None:
    carts = []
    for owner in ("ann", "bob", "cat"):
        created = shop.post("/shop/v1/carts", json={"owner": owner, "limit": 5})
        assert created.status_code == 201, created.text
        assert created.json["served_by"] == "shop" and created.json["result"]["cart"]["owner"] == owner
        carts.append(created.json["result"]["cart"])
    assert UUID_TEXT.fullmatch(carts[0]["id"])
    read = shop.get(f"/shop/v1/carts/{carts[1]['id']}").json
    assert read == {"result": {"cart": carts[1]}, "served_by": "shop"}
    page = shop.get("/shop/v1/carts", query_string={"limit": 2, "offset": 1}).json
    # `limit` pages (it is not a filter on the carts' own limit); no offset field: the schema has none
    assert page == {"result": {"carts": carts[1:], "total": 3, "limit": 2}, "served_by": "shop"}
    assert shop.delete("/shop/v1/carts").status_code == 204


def test_in_process_a_zero_page_size_pages_nothing(shop: t.Any) -> None:
    for customer in ("ann", "bob"):
        shop.post("/shop/v1/orders", json={"customer": customer})
    empty = shop.get("/shop/v1/orders", query_string={"per_page": 0}).json
    assert (empty["items"], empty["total_count"], empty["per_page"]) == ([], 2, 0)


def test_in_process_a_stored_value_the_answer_schema_refuses_gives_way(shop: t.Any) -> None:
    # the create's request takes any total; the Order the API answers with has `minimum: 0`
    created = shop.post("/shop/v1/orders", json={"customer": "ann", "total": -1}).json["data"]
    assert created["customer"] == "ann" and created["total"] >= 0
    assert shop.get(f"/shop/v1/orders/{created['id']}").json == created
    assert [o["total"] for o in shop.get("/shop/v1/orders").json["items"]] == [created["total"]]


def test_in_process_a_stored_value_that_gives_way_leaves_optional_fields_unset(shop: t.Any) -> None:
    stored = shop.post("/__mocksrv/apis/shop/records/invoices", json={"id": 5, "amount": "lots"})
    assert stored.status_code == 201, stored.text
    read = shop.get("/shop/v1/invoices/5")
    assert read.status_code == 200, read.text
    assert read.json["id"] == 5 and isinstance(read.json["amount"], int)  # the text gave way to a number
    assert "createdAt" not in read.json  # optional, never set: still unset after the repair


def test_in_process_a_record_schema_with_rules_beyond_required_is_answered_whole(shop: t.Any) -> None:
    created = shop.post("/shop/v1/badges", json={"label": "gold"})
    assert created.status_code == 201, created.text
    badge = created.json
    assert badge["label"] == "gold" and len(badge) >= 3  # minProperties: the rest filled from a generated badge
    assert shop.get(f"/shop/v1/badges/{badge['id']}").json == badge
    assert shop.post("/__mocksrv/apis/shop/records/badges", json={"id": 9}).status_code == 201
    read = shop.get("/shop/v1/badges/9")
    assert read.status_code == 200, read.text
    assert read.json["id"] == 9 and len(read.json) >= 3


def test_in_process_a_record_stored_without_a_required_field_is_answered_with_one(shop: t.Any) -> None:
    stored = shop.post("/__mocksrv/apis/shop/records/orders", json={"id": "ord_000000000001", "customer": "ann"})
    assert stored.status_code == 201
    read = shop.get("/shop/v1/orders/ord_000000000001").json
    assert read["customer"] == "ann" and isinstance(read["created_at"], str)  # filled: the schema requires it
    [listed] = shop.get("/shop/v1/orders").json["items"]
    assert listed["customer"] == "ann" and isinstance(listed["created_at"], str)


@pytest.fixture()
def notes() -> t.Any:
    """The notes spec (a nested collection of comments) served in this process."""
    return create_app(Options(specs=[NOTES], strict=True), apis=[load_spec(NOTES)]).test_client()


def test_in_process_a_nested_collection_is_scoped_by_and_goes_with_its_parent(notes: t.Any) -> None:
    first, second = (notes.post("/notes/api/notes", json={"title": title}).json for title in ("a", "b"))
    on_first, on_second = f"/notes/api/notes/{first['id']}/comments", f"/notes/api/notes/{second['id']}/comments"
    assert [notes.post(on_first, json={"text": text}).json for text in ("hi", "ho")] == \
        [{"id": 1, "text": "hi"}, {"id": 2, "text": "ho"}]
    assert notes.post(on_second, json={"text": "hey"}).json == {"id": 1, "text": "hey"}  # its own sequence
    assert notes.get(on_first).json == [{"id": 1, "text": "hi"}, {"id": 2, "text": "ho"}]
    assert notes.get(on_second).json == [{"id": 1, "text": "hey"}]

    assert notes.delete(f"/notes/api/notes/{first['id']}").status_code == 204
    gone = {"message": f"notes {first['id']!r} not found", "code": "no_such_note"}  # notes.yaml's x-mocksrv-errors
    for answer in (notes.get(on_first), notes.post(on_first, json={"text": "late"})):
        assert (answer.status_code, answer.json) == (404, gone)
    missing = notes.get(f"/notes/api/notes/{first['id']}")
    assert (missing.status_code, missing.json) == (404, gone)
    assert notes.get(on_second).json == [{"id": 1, "text": "hey"}]


def test_in_process_records_whose_schemas_live_in_other_files() -> None:
    split = DATA / "split" / "openapi.yaml"  # Item: allOf of item.yaml's own #/NewItem and an id
    items = create_app(Options(specs=[split], strict=True), apis=[load_spec(split)]).test_client()
    created = [items.post("/openapi/items", json={"name": name}) for name in ("a", "b")]
    assert [answer.status_code for answer in created] == [201, 201]
    assert [answer.json for answer in created] == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    assert items.get("/openapi/items/2").json == {"id": 2, "name": "b"}
    assert items.get("/openapi/items").json == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]


@pytest.mark.parametrize(("example", "written"), [
    ("2026-03-25 10:00:01.234+00", "2026-05-04 03:02:01.987+05"),
    ("2026-03-25T10:00:01Z", "2026-05-04T03:02:01Z"),
    ("2026-03-25T10:00:01.5+01:00", "2026-05-04T03:02:01.9+05:30"),
    ("2026-03-25T10:00:01.123456789-0100", "2026-05-04T03:02:01.987654000+0530"),
    ("2026-03-25T10:00:01", "2026-05-04T03:02:01"),
    ("yesterday", "2026-05-04T03:02:01.987654+05:30"),
])
def test_a_created_timestamp_is_written_the_way_the_api_writes_its_own(example: str, written: str) -> None:
    now = datetime(2026, 5, 4, 3, 2, 1, 987654, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert timestamp_like(example, now) == written
    assert timestamp_like("2026-03-25T10:00:01.123Z", now.replace(microsecond=5000, tzinfo=UTC)) == \
        "2026-05-04T03:02:01.005Z"
    assert timestamp_like("soon", now.replace(tzinfo=UTC)) == "2026-05-04T03:02:01.987654Z"


def test_the_journal_tells_an_undeclared_call_from_a_missing_record(mock: MockServer) -> None:
    def journaled(path: str) -> dict[str, t.Any]:
        entries = requests.get(mock.url("/__mocksrv/requests"), params={"path": path}, timeout=10).json()
        return t.cast(dict[str, t.Any], entries["requests"][0])

    missing = "/notes/api/notes/00000000-0000-4000-8000-000000000000"
    assert requests.get(mock.url(missing), timeout=10).status_code == 404
    assert (journaled(missing)["valid"], journaled(missing)["errors"]) == (True, [])  # the contract allows it
    assert requests.get(mock.url("/notes/api/archive"), timeout=10).status_code == 404
    assert journaled("/notes/api/archive")["valid"] is False
    assert journaled("/notes/api/archive")["api"] == "notes"  # filed under the API it was meant for
    assert journaled("/notes/api/archive")["errors"][0]["message"] == \
        "no operation of API 'notes' matches the path /archive"
    assert requests.delete(mock.url("/notes/api/notes"), timeout=10).status_code == 405
    entry = requests.get(mock.url("/__mocksrv/requests"), params={"method": "DELETE"}, timeout=10).json()["requests"][0]
    assert entry["valid"] is False and "allowed: GET, POST" in entry["errors"][0]["message"]
    assert entry["api"] == "notes" and entry["operationId"] is None


LEDGER = DATA / "features" / "ledger.yaml"


@pytest.fixture()
def ledger() -> t.Any:
    """The ledger spec (items addressed by `number` and `reference`, not `id`) served in this process."""
    return create_app(Options(specs=[LEDGER], strict=True), apis=[load_spec(LEDGER)]).test_client()


def test_in_process_an_item_named_by_another_field_is_read_back_by_it(ledger: t.Any) -> None:
    created = ledger.post("/ledger/ledger/invoices", json={"customer": "ann", "amount": 5})
    assert created.status_code == 201, created.text
    invoice = created.json
    assert re.fullmatch(r"INV-[0-9]{6}", invoice["number"])  # drawn from the field's own pattern
    assert (invoice["customer"], invoice["amount"]) == ("ann", 5)
    url = f"/ledger/ledger/invoices/{invoice['number']}"
    assert ledger.get(url).json == invoice
    patched = ledger.patch(url, json={"amount": 7})
    assert patched.status_code == 200 and patched.json == {**invoice, "amount": 7}
    assert ledger.get("/ledger/ledger/invoices").json == [{**invoice, "amount": 7}]

    other = {"number": "INV-000000", "customer": "bob"}
    replaced = ledger.put(url, json=other)
    assert replaced.status_code == 200 and replaced.json == {**other, "number": invoice["number"]}  # the path names it
    assert ledger.get(url).json == replaced.json
    assert ledger.get("/ledger/ledger/invoices/INV-000000").status_code == 404

    payments = [ledger.post("/ledger/ledger/payments", json={"amount": amount}).json for amount in range(8)]
    assert all(UUID_TEXT.fullmatch(payment["reference"]) for payment in payments)
    for payment in payments:
        assert ledger.get(f"/ledger/ledger/payments/{payment['reference']}").json == payment

    member = ledger.post("/ledger/ledger/members", json={"name": "ann"}).json
    assert re.fullmatch(r"[^@\s]+@[^@\s]+", member["email"])  # drawn from the field's format
    assert ledger.get(f"/ledger/ledger/members/{member['email']}").json == member


def test_values_with_formats_are_stored_as_sent_and_filter_lists() -> None:
    """openapi-core reads `format: date` into a date object: a list filter by it matched nothing
    (the stored value is the text), and must never reach the store or an answer as an object."""
    client = create_app(Options(specs=[DATA / "features" / "formats.yaml"], fixtures=None,
                                strict=True)).test_client()
    ref = "0b6f4d6e-7c1f-4f0e-9c43-5d1f0a1f8e2a"
    first = client.post("/formats/events", json={"day": "2024-05-01", "at": "2024-05-01T10:00:00Z", "ref": ref,
                                                 "blob": "aGVsbG8="})
    assert first.status_code == 201
    assert {k: first.get_json()[k] for k in ("day", "at", "ref", "blob")} == {
        "day": "2024-05-01", "at": "2024-05-01T10:00:00Z", "ref": ref, "blob": "aGVsbG8="}
    second = client.post("/formats/events", data={"day": "2024-05-02", "at": "2024-05-02T08:30:00+02:00",
                                                  "ref": "9d2c7a3e-0f4b-4c1e-8a5d-2b6e1f0c9a7d"})
    assert second.status_code == 201 and second.get_json()["at"] == "2024-05-02T08:30:00+02:00"

    def days(query: str) -> list[str]:
        response = client.get(f"/formats/events?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return [event["day"] for event in response.get_json()["data"]]

    assert days("day=2024-05-01") == ["2024-05-01"]
    assert days(f"ref={ref}") == ["2024-05-01"]
    assert days("day=2024-05-03") == []
    assert client.get(f"/formats/events/{first.get_json()['id']}").get_json()["day"] == "2024-05-01"


ORDERS = """
openapi: 3.0.3
info: {title: Orders, version: "1"}
paths:
  /orders:
    post:
      requestBody: {content: {application/json: {schema: {type: object, properties: {intent: {type: string}}}}}}
      responses:
        "201": {description: made, content: {application/json: {schema: {$ref: "#/components/schemas/Order"}}}}
  /orders/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string, pattern: "^[A-Z0-9]+$"}}]
      responses:
        "200": {description: one, content: {application/json: {schema: {$ref: "#/components/schemas/Order"}}}}
        "404": {description: none, content: {application/json: {schema: {type: object}}}}
components:
  schemas:
    Order: {type: object, properties: {id: {type: string}, intent: {type: string}}}
"""


def test_a_new_id_is_one_the_item_path_takes(tmp_path: Path) -> None:
    """PayPal's order ids: the body says only ``type: string``, the item path's parameter says
    ``^[A-Z0-9]+$``; a UUID made the order unreadable (400 on its own id)."""
    client = inline_client(tmp_path, "orders", ORDERS, strict=True)
    for _ in range(3):
        made = client.post("/orders/orders", json={"intent": "CAPTURE"})
        assert made.status_code == 201 and re.fullmatch(r"[A-Z0-9]+", made.json["id"]), made.json
        read = client.get(f"/orders/orders/{made.json['id']}")
        assert read.status_code == 200 and read.json == made.json


TEMPLATE = """
openapi: 3.0.3
info: {title: Templates, version: "1"}
paths:
  /templates/classification/schema:
    get:
      responses:
        "200":
          description: the one template
          content:
            application/json:
              schema:
                type: object
                required: [fields]
                properties:
                  fields:
                    type: array
                    minItems: 1
                    maxItems: 1
                    items: {type: object, required: [id, key], properties: {id: {type: string}, key: {type: string}}}
"""


def test_a_list_the_store_cannot_fill_keeps_what_its_schema_requires(tmp_path: Path) -> None:
    """Box's classification template: an object holding an array of one field, read like a list;
    with nothing stored the answer had ``fields: []`` against ``minItems: 1`` (a 500 in strict)."""
    client = inline_client(tmp_path, "templates", TEMPLATE, strict=True)
    response = client.get("/templates/templates/classification/schema")
    assert response.status_code == 200, response.text
    assert len(response.json["fields"]) == 1


PROFILES = """
openapi: 3.0.3
info: {title: Profiles, version: "1"}
paths:
  /apps:
    post:
      requestBody: {content: {application/json: {schema: {type: object, properties: {name: {type: string}}}}}}
      responses:
        "201":
          description: made
          content:
            application/json:
              schema:
                type: object
                required: [app_id, bot_id]
                properties:
                  app_id: {type: string, pattern: "^A[A-Z0-9]{8}$", example: A0123ABCD}
                  bot_id: {anyOf: [{type: string, pattern: "^B[A-Z0-9]{8}$"}, {nullable: true, enum: [null]}]}
                  name: {type: string}
  /bots:
    post:
      responses:
        "201":
          description: made
          content:
            application/json:
              schema:
                type: object
                required: [bot_id]
                properties:
                  bot_id: {anyOf: [{nullable: true, enum: [null]}, {type: string, pattern: "^B[A-Z0-9]{8}$"}]}
  /teams:
    post:
      responses:
        "201":
          description: made
          content:
            application/json:
              schema:
                type: object
                required: [team_id]
                properties:
                  team_id: {type: string, pattern: "^(T[A-Z0-9]{1,})?$"}   # Slack's optional ids allow ""
  /singletons:
    post:
      responses:
        "201":
          description: made
          content:
            application/json:
              schema: {type: object, required: [slot_id], properties: {slot_id: {type: string, pattern: "^only$"}}}
        "500": {description: failed, content: {application/json: {schema: {type: object}}}}
"""


def test_new_ids_are_drawn_fresh_and_never_null(tmp_path: Path) -> None:
    """Slack: an id whose schema has an example got the example every time, so the second create
    found it taken (a 500, "fresh ids were all taken"); an id that may be null got a UUID."""
    client = inline_client(tmp_path, "profiles", PROFILES, strict=True)
    made = [client.post("/profiles/apps", json={"name": f"app {n}"}) for n in range(4)]
    assert [response.status_code for response in made] == [201] * 4, made[-1].text
    ids = [response.json["app_id"] for response in made]
    assert len(set(ids)) == 4 and all(re.fullmatch(r"A[A-Z0-9]{8}", i) for i in ids)
    listed = client.get("/__mocksrv/apis/profiles/records/apps").json["records"]
    assert sorted(record["app_id"] for record in listed) == sorted(ids)
    bots = [client.post("/profiles/bots").json["bot_id"] for _ in range(3)]
    assert len(set(bots)) == 3 and all(re.fullmatch(r"B[A-Z0-9]{8}", i) for i in bots), bots
    teams = [client.post("/profiles/teams").json["team_id"] for _ in range(8)]
    assert len(set(teams)) == 8 and all(re.fullmatch(r"T[A-Z0-9]+", i) for i in teams), teams  # never ""


def test_a_create_that_finds_no_fresh_id_says_why_in_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                                             ) -> None:
    client = inline_client(tmp_path, "profiles", PROFILES)
    assert client.post("/profiles/singletons").status_code == 201
    with caplog.at_level("WARNING", logger="mocksrv.engine.pipeline"):
        assert client.post("/profiles/singletons").status_code == 500  # the one id the pattern allows is taken
    assert any("cannot assign a new slot_id in singletons" in record.getMessage() for record in caplog.records)


def test_in_process_a_record_is_shown_through_the_one_of_branch_it_fits() -> None:
    """choices30.yaml's Webhook is a oneOf: an open hook (secret null, events required) or a signed one."""
    spec = DATA / "features" / "choices30.yaml"
    client: t.Any = create_app(Options(specs=[spec], strict=True), apis=[load_spec(spec)]).test_client()
    open_hook = client.post("/choices30/v1/webhooks", json={"url": "https://a.test/hook", "secret": None})
    assert open_hook.status_code == 201, open_hook.text
    hook = open_hook.json
    assert hook["secret"] is None and hook["url"] == "https://a.test/hook"
    assert isinstance(hook["events"], list)  # the open branch requires it: filled from a value of that branch
    assert client.get(f"/choices30/v1/webhooks/{hook['id']}").json == hook
    signed = client.post("/choices30/v1/webhooks", json={"url": "https://b.test", "secret": "s3cret"})
    assert signed.status_code == 201, signed.text
    assert client.get(f"/choices30/v1/webhooks/{signed.json['id']}").json == {
        "id": signed.json["id"], "url": "https://b.test", "secret": "s3cret"}


GADGETS_31 = """
openapi: 3.1.0
info: {title: Gadgets, version: "1"}
paths:
  /gadgets:
    post:
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, properties: {name: {type: string}}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Gadget"}}}}
  /gadgets/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Gadget"}}}}
components:
  schemas:
    Gadget:
      type: object
      required: [id, name]
      properties: {id: {type: [integer]}, name: {type: string}}
"""


def test_in_process_an_id_typed_by_a_3_1_type_list_counts_up(tmp_path: Path) -> None:
    spec = tmp_path / "gadgets.yaml"
    spec.write_text(GADGETS_31)
    client = create_app(Options(specs=[spec], strict=True), apis=[load_spec(spec)]).test_client()
    made = [client.post("/gadgets/gadgets", json={"name": name}) for name in ("a", "b")]
    assert [answer.status_code for answer in made] == [201, 201], made[0].text
    assert [answer.json for answer in made] == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    assert client.get("/gadgets/gadgets/2").json == {"id": 2, "name": "b"}


SAME_LAST_WORD = """
openapi: 3.0.3
info: {title: Two segments, version: "1"}
paths:
  /marketing/segments:
    get:
      responses:
        "200": {description: listed, content: {application/json: {schema: {type: array, uniqueItems: true,
                                                                            items: {$ref: "#/components/schemas/M"}}}}}
    post:
      requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/M"}}}}
      responses: {"201": {description: made, content: {application/json: {schema: {$ref: "#/components/schemas/M"}}}}}
  /contactdb/segments:
    get:
      responses:
        "200": {description: listed, content: {application/json: {schema: {type: array,
                                                                            items: {$ref: "#/components/schemas/C"}}}}}
    post:
      requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/C"}}}}
      responses: {"201": {description: made, content: {application/json: {schema: {$ref: "#/components/schemas/C"}}}}}
  /notes:
    get:
      responses: {"200": {description: listed, content: {application/json: {schema: {type: array}}}}}
components:
  schemas:
    M: {type: object, required: [id], properties: {id: {type: string, format: uuid, readOnly: true}, name: {type: string}}}
    C: {type: object, required: [id], properties: {id: {type: integer, readOnly: true}, name: {type: string}}}
"""


def test_collections_at_different_paths_with_the_same_last_word_hold_their_own_records(tmp_path: Path) -> None:
    """SendGrid's /marketing/segments and /contactdb/segments: one shared collection listed each one's
    records as the other's (integer ids shown as one made-up uuid: a list with duplicates)."""
    spec = tmp_path / "two.yaml"
    spec.write_text(SAME_LAST_WORD)
    client = create_app(Options(specs=[spec], fixtures=None, strict=True)).test_client()
    for _ in range(2):
        assert client.post("/two/contactdb/segments", json={"name": "c"}).status_code == 201
    assert client.post("/two/marketing/segments", json={"name": "m"}).status_code == 201
    assert [r["name"] for r in client.get("/two/marketing/segments").get_json()] == ["m"]
    assert [r["name"] for r in client.get("/two/contactdb/segments").get_json()] == ["c", "c"]
    collections = {r.collection for r in create_app(Options(specs=[spec], fixtures=None)).extensions[
        "mocksrv"].pipeline.catalog.resources["two"].values()}
    assert collections == {"marketing_segments", "contactdb_segments", "notes"}  # a name only one path gives stays


TICKETS = """
openapi: 3.0.3
info: {title: Tickets, version: "1"}
paths:
  /tickets:
    post:
      requestBody: {content: {application/json: {schema: {type: object, properties: {title: {type: string}}}}}}
      responses:
        "201": {description: made, content: {application/json: {schema: {$ref: "#/components/schemas/Ticket"}}}}
  /tickets/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "200": {description: one, content: {application/json: {schema: {$ref: "#/components/schemas/Ticket"}}}}
        "404": {description: none, content: {application/json: {schema: {type: object}}}}
components:
  schemas:
    Ticket: {type: object, properties: {id: {type: string}, title: {type: string}}}
"""


def test_a_new_id_of_an_integer_item_path_is_its_number_written_as_text(tmp_path: Path) -> None:
    """The body says ``id: string``, the item path takes an integer: the id is the record's number as
    text, which the body's schema and the path both take."""
    client = inline_client(tmp_path, "tickets", TICKETS, strict=True)
    for number in ("1", "2"):
        made = client.post("/tickets/tickets", json={"title": "help"})
        assert (made.status_code, made.json) == (201, {"id": number, "title": "help"})
        assert client.get(f"/tickets/tickets/{number}").json == made.json


PETS = """
openapi: 3.0.3
info: {title: Pets, version: "1"}
paths:
  /cats:
    post:
      requestBody: {content: {application/json: {schema: {type: object}}}}
      responses:
        "201":
          description: made
          content: {application/json: {schema: {type: object, properties: {id: {type: string, format: uuid}}}}}
  /dogs:
    post:
      requestBody: {content: {application/json: {schema: {type: object}}}}
      responses:
        "201": {description: made, content: {application/json: {schema: {type: object, properties: {id: {type: string}}}}}}
"""


def test_uuid_ids_differ_between_collections(tmp_path: Path) -> None:
    """Ids drawn for the first record of two collections, both UUIDs (one by its format, one by default),
    are two UUIDs, not one: a UUID names one thing in the whole API."""
    client = inline_client(tmp_path, "pets", PETS, strict=True)
    ids = [client.post(f"/pets/{kind}", json={}).json["id"] for kind in ("cats", "dogs", "cats", "dogs")]
    assert len({str(uuid.UUID(each)) for each in ids}) == 4


SHAPED = """
openapi: 3.0.3
info: {title: Shaped, version: "1"}
paths:
  /items:
    post:
      requestBody: {content: {application/json: {schema: {type: object}}}}
      responses:
        "201": {description: made, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
  /items/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: PATH_ID}]
      responses:
        "200": {description: one, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
        "404": {description: none, content: {application/json: {schema: {type: object}}}}
components:
  schemas:
    Item: {type: object, properties: {id: BODY_ID}}
"""


@pytest.mark.parametrize("body_id, path_id, shaped_like", [
    ("{type: string, format: uuid}", '{type: string, pattern: "^[0-9a-f-]{36}$"}', "uuid"),
    ('{type: string, example: "3fa85f64-5717-4562-b3fc-2c963f66afa6"}', '{type: string, pattern: "^[0-9a-f-]+$"}',
     "uuid"),
    ("{type: integer}", '{type: string, pattern: "^[0-9]+$"}', "number"),
    ("{type: number}", '{type: string, pattern: "^[0-9]+$"}', "number"),
], ids=["format", "example", "integer", "number"])
def test_an_id_the_body_shapes_keeps_that_shape_whatever_the_path_says(tmp_path: Path, body_id: str, path_id: str,
                                                                      shaped_like: str) -> None:
    """The item path's parameter shapes a new id only where the body's own id schema says nothing more
    than ``string``: a UUID format, a UUID example or an integer type in the body wins."""
    document = SHAPED.replace("BODY_ID", body_id).replace("PATH_ID", path_id)
    client = inline_client(tmp_path, "shaped", document, strict=True)
    made = client.post("/shaped/items", json={})
    assert made.status_code == 201, made.text
    new_id = made.json["id"]
    if shaped_like == "uuid":
        assert uuid.UUID(new_id).version == 4
    else:
        assert new_id == 1
    assert client.get(f"/shaped/items/{new_id}").json == made.json


OWNED = """
openapi: 3.0.3
info: {title: Owned, version: "1"}
paths:
  /things:
    post:
      requestBody:
        content: {application/json: {schema: {type: object, properties: {owner_id: {type: string}, name: {type: string}}}}}
      responses:
        "201": {description: made, content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}}
  /things/{thing_id}:
    get:
      parameters: [{name: thing_id, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: one, content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}}
        "404": {description: none, content: {application/json: {schema: {type: object}}}}
components:
  schemas:
    Thing:
      type: object
      properties: {owner_id: {type: string}, thing_id: {type: string}, name: {type: string}}
"""


def test_the_id_of_a_record_with_two_id_fields_is_the_one_its_item_path_names(tmp_path: Path) -> None:
    """``owner_id`` comes first, but ``/things/{thing_id}`` says which field names a thing: the new
    record's ``thing_id`` is drawn, the client's ``owner_id`` is kept, and the thing is read back by it."""
    client = inline_client(tmp_path, "owned", OWNED, strict=True)
    made = [client.post("/owned/things", json={"owner_id": "u1", "name": name}).json for name in ("a", "b")]
    assert [thing["owner_id"] for thing in made] == ["u1", "u1"]
    assert made[0]["thing_id"] != made[1]["thing_id"]
    for thing in made:
        assert client.get(f"/owned/things/{thing['thing_id']}").json == thing


LINES = """
openapi: 3.0.3
info: {title: Notes, version: "1"}
paths:
  /notes:
    post:
      requestBody: {content: {application/json: {schema: {type: object, properties: {owner_id: {type: string}}}}}}
      responses:
        "201":
          description: one note per line
          content:
            application/json:
              schema:
                type: object
                required: [notes]
                properties: {notes: {type: array, items: {$ref: "#/components/schemas/Note"}}}
              example:
                notes: [{owner_id: o1, note_id: n1, text: first line}, {owner_id: o1, note_id: n2, text: second line}]
  /notes/{note_id}:
    get:
      parameters: [{name: note_id, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: one, content: {application/json: {schema: {$ref: "#/components/schemas/Note"}}}}
        "404": {description: none, content: {application/json: {schema: {type: object}}}}
components:
  schemas:
    Note:
      type: object
      required: [note_id, text]
      properties: {owner_id: {type: string}, note_id: {type: string}, text: {type: string}}
"""


def test_a_create_answering_several_records_keeps_each_ones_answer_and_its_own_id(tmp_path: Path) -> None:
    """Each record of the list keeps what the answer says of it (the example's ``text``), gets a new
    ``note_id`` (the field its item path names, not the ``owner_id`` before it) and is read back by it."""
    client = inline_client(tmp_path, "notes", LINES, strict=True)
    made = client.post("/notes/notes", json={"owner_id": "me"})
    assert made.status_code == 201, made.text
    notes = made.json["notes"]
    assert [(note["owner_id"], note["text"]) for note in notes] == [("me", "first line"), ("me", "second line")]
    assert len({note["note_id"] for note in notes} | {"n1", "n2"}) == 4  # two new ids, not the example's
    for note in notes:
        assert client.get(f"/notes/notes/{note['note_id']}").json == note


METHODS = """
openapi: 3.0.3
info: {title: Methods, version: "1"}
paths:
  /methods:
    post:
      requestBody: {content: {application/json: {schema: {type: object}}}}
      responses:
        "201":
          description: made
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Method"}
              example: {id: pm_1, kind: card, last4: "4242"}
  /methods/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: one, content: {application/json: {schema: {$ref: "#/components/schemas/Method"}}}}
        "404": {description: none, content: {application/json: {schema: {type: object}}}}
components:
  schemas:
    Method:
      oneOf:
        - {type: object, required: [id, kind, last4], additionalProperties: false,
           properties: {id: {type: string}, kind: {type: string, enum: [card]}, last4: {type: string, pattern: "^[0-9]{4}$"}}}
        - {type: object, required: [id, kind, iban], additionalProperties: false,
           properties: {id: {type: string}, kind: {type: string, enum: [bank]}, iban: {type: string}}}
"""


@pytest.mark.parametrize("sent", [{"kind": "card"}, {"kind": "card", "last4": 99}], ids=["missing", "broken"])
def test_a_record_of_a_oneof_schema_fills_its_branch_from_the_answer(tmp_path: Path, sent: dict[str, t.Any]) -> None:
    """A card created without its last four digits, or with a value that breaks their schema, is
    answered and stored with the answer's own (the example's ``4242``), in the branch it fits."""
    client = inline_client(tmp_path, "methods", METHODS, strict=True)
    made = client.post("/methods/methods", json=sent)
    assert made.status_code == 201, made.text
    assert (made.json["kind"], made.json["last4"]) == ("card", "4242") and made.json["id"] != "pm_1"
    assert client.get(f"/methods/methods/{made.json['id']}").json == made.json
