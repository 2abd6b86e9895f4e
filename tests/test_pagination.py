"""Lists page as the request asks and their page fields tell the truth (tests/data/features/pages.yaml).

In process (Flask's test client) and strict: an answer that breaks the spec fails the request.
"""

from __future__ import annotations

import re
import typing as t
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from conftest import DATA
from mocksrv import create_app
from mocksrv.config import Options
from mocksrv.engine.pagination import decode_cursor
from mocksrv.engine.pagination import encode_cursor
from mocksrv.openapi.specs import load_spec

SPEC = DATA / "features" / "pages.yaml"


@pytest.fixture()
def pages() -> t.Any:
    return create_app(Options(specs=[SPEC], strict=True), apis=[load_spec(SPEC)]).test_client()


def fill(client: t.Any, path: str, count: int, **fields: t.Any) -> list[t.Any]:
    made = []
    for number in range(count):
        answer = client.post(path, json={"title": f"t{number}", **fields})
        assert answer.status_code in (200, 201), answer.text
        made.append(answer.json["id"])
    return made


def test_page_numbers_are_mirrored_with_page_count_and_links(pages: t.Any) -> None:
    ids = fill(pages, "/pages/v1/posts", 5)
    first = pages.get("/pages/v1/posts").json  # page 1 of 2 per page: the parameters' defaults
    assert [post["id"] for post in first["data"]] == ids[:2]
    assert first["meta"] == {"page": 1, "per_page": 2, "total": 5, "total_pages": 3}
    assert first["links"]["prev"] is None
    assert parse_qs(urlsplit(first["links"]["next"]).query) == {"page": ["2"], "per_page": ["2"]}
    assert urlsplit(first["links"]["next"]).path == "/pages/v1/posts"

    second = pages.get(first["links"]["next"]).json  # following the link gives the next page
    assert [post["id"] for post in second["data"]] == ids[2:4]
    assert second["meta"]["page"] == 2
    assert parse_qs(urlsplit(second["links"]["prev"]).query)["page"] == ["1"]

    last = pages.get("/pages/v1/posts", query_string={"page": 3}).json
    assert [post["id"] for post in last["data"]] == ids[4:]
    assert last["meta"]["page"] == 3 and last["links"]["next"] is None

    beyond = pages.get("/pages/v1/posts", query_string={"page": 7, "per_page": 3}).json
    assert beyond["data"] == [] and beyond["meta"] == {"page": 7, "per_page": 3, "total": 5, "total_pages": 2}


def test_links_keep_the_filters_of_the_request(pages: t.Any) -> None:
    fill(pages, "/pages/v1/posts", 3, author="ann")
    fill(pages, "/pages/v1/posts", 2, author="bob")
    first = pages.get("/pages/v1/posts", query_string={"author": "ann"}).json
    assert first["meta"]["total"] == 3
    assert parse_qs(urlsplit(first["links"]["next"]).query) == {"page": ["2"], "per_page": ["2"], "author": ["ann"]}
    rest = pages.get(first["links"]["next"]).json
    assert [post["author"] for post in rest["data"]] == ["ann"] and rest["links"]["next"] is None


def test_cursors_walk_every_record_once(pages: t.Any) -> None:
    ids = fill(pages, "/pages/v1/events", 7)
    seen: list[str] = []
    answer = pages.get("/pages/v1/events").json
    for _ in range(5):  # bounded: 7 records, 3 a page
        seen += [event["id"] for event in answer["items"]]
        if not answer["has_more"]:
            break
        answer = pages.get("/pages/v1/events", query_string={"cursor": answer["next_cursor"]}).json
    assert seen == ids
    assert answer["next_cursor"] is None and len(answer["items"]) == 1


def test_an_unknown_cursor_starts_at_the_beginning(pages: t.Any) -> None:
    ids = fill(pages, "/pages/v1/events", 2)
    answer = pages.get("/pages/v1/events", query_string={"cursor": "not-one-of-ours"}).json
    assert [event["id"] for event in answer["items"]] == ids and answer["has_more"] is False


def test_starting_after_an_id_pages_like_stripe(pages: t.Any) -> None:
    ids = [pages.post("/pages/v1/charges", json={"amount": n}).json["id"] for n in range(5)]
    first = pages.get("/pages/v1/charges", query_string={"limit": 2}).json
    assert [charge["id"] for charge in first["data"]] == ids[:2] and first["has_more"] is True
    after = pages.get("/pages/v1/charges", query_string={"limit": 2, "starting_after": ids[1]}).json
    assert [charge["id"] for charge in after["data"]] == ids[2:4] and after["has_more"] is True
    end = pages.get("/pages/v1/charges", query_string={"limit": 2, "starting_after": ids[3]}).json
    assert [charge["id"] for charge in end["data"]] == ids[4:] and end["has_more"] is False
    rest = pages.get("/pages/v1/charges", query_string={"starting_after": ids[0]}).json  # no page size: all after
    assert [charge["id"] for charge in rest["data"]] == ids[1:] and rest["has_more"] is False
    assert first["object"] == "list"


def test_a_required_link_that_cannot_be_null_keeps_a_valid_value(pages: t.Any) -> None:
    ids = fill(pages, "/pages/v1/logs", 3)
    first = pages.get("/pages/v1/logs", query_string={"limit": 2}).json
    assert first["count"] == 3 and first["previous_page"] is None
    assert parse_qs(urlsplit(first["next"]).query) == {"offset": ["2"], "limit": ["2"]}
    last = pages.get("/pages/v1/logs", query_string={"limit": 2, "offset": 2}).json
    assert [log["id"] for log in last["results"]] == ids[2:]
    assert last["next"]  # required and non-null: the schema leaves no way to say "none", so it stays generated
    assert last["previous_page"] == 1


def test_cursor_tokens_stand_for_positions() -> None:
    positions = range(2000)
    assert [decode_cursor(encode_cursor(n)) for n in positions] == list(positions)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", encode_cursor(n)) for n in positions)  # URL-safe, no padding
    assert all(decode_cursor(text) is None for text in ("", "abc", "cG9zOi0x", "ch_123", "!!"))


# Offsets, cursors and page numbers in one more API: page fields one object deeper (``pagination``),
# next/previous links that keep the request's other parameters, a page-number ``next_page``.
PAGING_SPEC = """
openapi: 3.0.3
info: {title: Paging, version: "1"}
servers: [{url: /v1}]
paths:
  /items:
    get:
      parameters:
        - {name: offset, in: query, schema: {type: integer, minimum: 0}}
        - {name: start, in: query, schema: {type: integer, minimum: 0}}  # the same, by another name
        - {name: limit, in: query, schema: {type: integer, minimum: 1}}
        - {name: page, in: query, schema: {type: integer, minimum: 1}}
        - {name: archived, in: query, schema: {type: boolean}}
        - {name: tag, in: query, schema: {type: array, items: {type: string}}}
      responses:
        "200":
          description: a page, its fields in an object beside the list
          content:
            application/json:
              schema:
                type: object
                required: [items, pagination]
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Item"}}
                  pagination:
                    type: object
                    required: [offset, total, page, pages, has_more, has_previous, next, previous]
                    properties:
                      offset: {type: integer}
                      limit: {type: integer}
                      total: {type: integer}
                      page: {type: integer}
                      pages: {type: integer}
                      has_more: {type: boolean}
                      has_previous: {type: boolean}
                      next: {type: string, nullable: true}
                      previous: {type: string, nullable: true}
    post:
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
  /feed:
    get:
      parameters:
        - {name: page_token, in: query, schema: {type: string}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1}}
      responses:
        "200":
          description: a page handed out by tokens, with links
          content:
            application/json:
              schema:
                type: object
                required: [entries, next_page_token, next_url, prev_url]
                properties:
                  entries: {type: array, items: {$ref: "#/components/schemas/Item"}}
                  next_page_token: {type: string, nullable: true}
                  next_url: {type: string, nullable: true}
                  prev_url: {type: string, nullable: true}
    post:
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
  /tags:
    get:
      parameters:
        - {name: page, in: query, schema: {type: integer, minimum: 1}}
        - {name: per_page, in: query, schema: {type: integer, minimum: 1}}
      responses:
        "200":
          description: a page whose next and previous pages are numbers
          content:
            application/json:
              schema:
                type: object
                required: [tags, next_page, prev_page, total_pages]
                properties:
                  tags: {type: array, items: {$ref: "#/components/schemas/Item"}}
                  next_page: {type: integer, nullable: true}
                  prev_page: {type: integer, nullable: true}
                  total_pages: {type: integer}
    post:
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
  /archive:
    get:
      parameters: [{name: limit, in: query, schema: {type: integer, minimum: 1}}]
      responses:
        "200":
          description: the list two objects deep, its page fields in an object beside it
          content:
            application/json:
              schema:
                type: object
                required: [result]
                properties:
                  result:
                    type: object
                    required: [entries, paging]
                    properties:
                      entries: {type: array, items: {$ref: "#/components/schemas/Item"}}
                      paging:
                        type: object
                        required: [total, has_more]
                        properties: {total: {type: integer}, has_more: {type: boolean}}
    post:
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
  /boards:
    post:
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Board"}}}}
      responses:
        "201": {description: created; the client names the board}
  /boards/{board}:
    get:
      parameters: [{name: board, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: a board, content: {application/json: {schema: {$ref: "#/components/schemas/Board"}}}}
  /boards/{board}/cards:
    parameters: [{name: board, in: path, required: true, schema: {type: string}}]
    get:
      parameters:
        - {name: offset, in: query, schema: {type: integer, minimum: 0}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1}}
      responses:
        "200":
          description: a board's cards, a page at a time
          content:
            application/json:
              schema:
                type: object
                required: [cards, next]
                properties:
                  cards: {type: array, items: {$ref: "#/components/schemas/Item"}}
                  next: {type: string, nullable: true}
    post:
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
  /stream:
    get:
      parameters:
        - {name: cursor, in: query, schema: {type: string}}
        - {name: offset, in: query, schema: {type: integer, minimum: 0}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1}}
      responses:
        "200":
          description: paged by cursor or by offset, as the client likes
          content:
            application/json:
              schema:
                type: object
                required: [entries, next_cursor, next]
                properties:
                  entries: {type: array, items: {$ref: "#/components/schemas/Item"}}
                  next_cursor: {type: string, nullable: true}
                  next: {type: string, nullable: true}
    post:
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
  /notes:
    get:
      parameters: [{name: limit, in: query, schema: {type: integer, minimum: 1}}]
      responses:
        "200":
          description: a first page, and no parameter to ask for the next
          content:
            application/json:
              schema:
                type: object
                required: [notes, next]
                properties:
                  notes: {type: array, items: {$ref: "#/components/schemas/Item"}}
                  next: {type: string, nullable: true}
                  has_more: {type: boolean}
    post:
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}}
components:
  schemas:
    Board:
      type: object
      required: [id]
      properties: {id: {type: string}}
    Item:
      type: object
      required: [title]
      properties: {id: {type: integer}, title: {type: string}}
"""


@pytest.fixture()
def paging(tmp_path: t.Any) -> t.Any:
    spec = tmp_path / "paging.yaml"
    spec.write_text(PAGING_SPEC)
    return create_app(Options(specs=[spec], strict=True), apis=[load_spec(spec)]).test_client()


def query_of(link: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link).query)


def test_an_offset_page_tells_its_page_number_count_and_neighbours(paging: t.Any) -> None:
    ids = fill(paging, "/paging/v1/items", 5)
    middle = paging.get("/paging/v1/items", query_string={"offset": 1, "limit": 2}).json
    assert [item["id"] for item in middle["items"]] == ids[1:3]
    meta = middle["pagination"]
    assert {k: meta[k] for k in ("offset", "limit", "total", "page", "pages", "has_more", "has_previous")} == {
        "offset": 1, "limit": 2, "total": 5, "page": 1, "pages": 3, "has_more": True, "has_previous": True}
    assert query_of(meta["next"]) == {"offset": ["3"], "limit": ["2"]}
    assert query_of(meta["previous"]) == {"offset": ["0"], "limit": ["2"]}  # not before the first record
    assert urlsplit(meta["next"]).path == "/paging/v1/items"

    last = paging.get(meta["next"]).json  # the link leads to the next page
    assert [item["id"] for item in last["items"]] == ids[3:]
    assert {k: last["pagination"][k] for k in ("offset", "page", "has_more", "has_previous", "next")} == {
        "offset": 3, "page": 2, "has_more": False, "has_previous": True, "next": None}
    assert query_of(last["pagination"]["previous"]) == {"offset": ["1"], "limit": ["2"]}

    first = paging.get("/paging/v1/items", query_string={"limit": 2}).json["pagination"]
    assert (first["offset"], first["has_previous"], first["previous"]) == (0, False, None)
    assert query_of(first["next"]) == {"offset": ["2"], "limit": ["2"]}  # the declared offset parameter


def test_without_a_page_size_one_page_holds_everything(paging: t.Any) -> None:
    empty = paging.get("/paging/v1/items").json["pagination"]
    assert (empty["total"], empty["pages"], empty["page"], empty["has_more"]) == (0, 0, 1, False)
    ids = fill(paging, "/paging/v1/items", 3)
    whole = paging.get("/paging/v1/items").json
    assert [item["id"] for item in whole["items"]] == ids
    meta = whole["pagination"]
    assert (meta["total"], meta["pages"], meta["page"], meta["next"], meta["previous"]) == (3, 1, 1, None, None)
    rest = paging.get("/paging/v1/items", query_string={"offset": 2}).json
    assert [item["id"] for item in rest["items"]] == ids[2:]
    assert rest["pagination"]["has_previous"] is True
    assert query_of(rest["pagination"]["previous"]) == {"offset": ["0"]}  # back to the start


def test_links_keep_booleans_and_repeated_parameters_as_sent(paging: t.Any) -> None:
    fill(paging, "/paging/v1/items", 3)
    answer = paging.get("/paging/v1/items?limit=1&archived=false&tag=a&tag=b").json["pagination"]
    assert query_of(answer["next"]) == {"offset": ["1"], "limit": ["1"], "archived": ["false"], "tag": ["a", "b"]}
    also = paging.get("/paging/v1/items?limit=1&archived=true").json["pagination"]
    assert query_of(also["next"])["archived"] == ["true"]


def test_a_page_number_request_gets_page_number_links(paging: t.Any) -> None:
    ids = fill(paging, "/paging/v1/items", 5)
    second = paging.get("/paging/v1/items", query_string={"page": 2, "limit": 2}).json
    assert [item["id"] for item in second["items"]] == ids[2:4]
    meta = second["pagination"]
    assert (meta["page"], meta["offset"], meta["pages"]) == (2, 2, 3)
    assert query_of(meta["next"]) == {"page": ["3"], "limit": ["2"]}
    assert query_of(meta["previous"]) == {"page": ["1"], "limit": ["2"]}


def test_token_links_walk_forward_and_back(paging: t.Any) -> None:
    ids = fill(paging, "/paging/v1/feed", 5)
    first = paging.get("/paging/v1/feed", query_string={"limit": 2}).json
    assert [entry["id"] for entry in first["entries"]] == ids[:2] and first["prev_url"] is None
    assert parse_qs(urlsplit(first["next_url"]).query) == {"limit": ["2"], "page_token": [first["next_page_token"]]}
    second = paging.get(first["next_url"]).json
    assert [entry["id"] for entry in second["entries"]] == ids[2:4]
    back = paging.get(second["prev_url"]).json
    assert [entry["id"] for entry in back["entries"]] == ids[:2]
    last = paging.get(second["next_url"]).json
    assert [entry["id"] for entry in last["entries"]] == ids[4:]
    assert (last["next_page_token"], last["next_url"]) == (None, None)


def test_next_and_previous_pages_as_numbers(paging: t.Any) -> None:
    fill(paging, "/paging/v1/tags", 5)
    first = paging.get("/paging/v1/tags", query_string={"page": 1, "per_page": 2}).json
    assert (first["next_page"], first["prev_page"], first["total_pages"]) == (2, None, 3)
    second = paging.get("/paging/v1/tags", query_string={"page": 2, "per_page": 2}).json
    assert (second["next_page"], second["prev_page"]) == (3, 1)
    last = paging.get("/paging/v1/tags", query_string={"page": 3, "per_page": 2}).json
    assert (last["next_page"], last["prev_page"], len(last["tags"])) == (None, 2, 1)


def test_links_page_by_the_parameter_the_request_used(paging: t.Any) -> None:
    fill(paging, "/paging/v1/items", 5)
    meta = paging.get("/paging/v1/items", query_string={"start": 1, "limit": 2}).json["pagination"]
    assert meta["offset"] == 1
    assert query_of(meta["next"]) == {"start": ["3"], "limit": ["2"]}
    assert query_of(meta["previous"]) == {"start": ["0"], "limit": ["2"]}


def test_no_link_is_made_up_when_the_api_has_no_parameter_to_page_by(paging: t.Any) -> None:
    fill(paging, "/paging/v1/notes", 3)
    answer = paging.get("/paging/v1/notes", query_string={"limit": 2}).json
    assert len(answer["notes"]) == 2 and answer["has_more"] is True
    assert not str(answer["next"]).startswith("/paging/")  # the generated filler (or null), never a link


def test_page_fields_beside_a_list_two_objects_deep(paging: t.Any) -> None:
    ids = fill(paging, "/paging/v1/archive", 3)
    result = paging.get("/paging/v1/archive", query_string={"limit": 2}).json["result"]
    assert [entry["id"] for entry in result["entries"]] == ids[:2]
    assert result["paging"] == {"total": 3, "has_more": True}


def test_a_nested_list_links_to_its_own_parent(paging: t.Any) -> None:
    assert paging.post("/paging/v1/boards", json={"id": "team a"}).status_code == 201
    cards = "/paging/v1/boards/team%20a/cards"
    ids = fill(paging, cards, 3)
    first = paging.get(cards, query_string={"limit": 2}).json
    assert [card["id"] for card in first["cards"]] == ids[:2]
    assert urlsplit(first["next"]).path == cards  # the parent's id quoted as in the request
    assert [card["id"] for card in paging.get(first["next"]).json["cards"]] == ids[2:]


def test_a_client_paging_by_cursor_gets_cursor_links(paging: t.Any) -> None:
    ids = fill(paging, "/paging/v1/stream", 5)
    first = paging.get("/paging/v1/stream", query_string={"limit": 2}).json
    assert query_of(first["next"]) == {"offset": ["2"], "limit": ["2"]}  # no cursor sent: the offset pages
    second = paging.get("/paging/v1/stream", query_string={"limit": 2, "cursor": first["next_cursor"]}).json
    assert [entry["id"] for entry in second["entries"]] == ids[2:4]
    assert query_of(second["next"]) == {"cursor": [second["next_cursor"]], "limit": ["2"]}
    assert [entry["id"] for entry in paging.get(second["next"]).json["entries"]] == ids[4:]
