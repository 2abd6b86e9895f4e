"""Lists page as the request asks and their page fields tell the truth (tests/data/features/pages.yaml).

In process (Flask's test client) and strict: an answer that breaks the spec fails the request.
"""

from __future__ import annotations

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
    assert [decode_cursor(encode_cursor(n)) for n in (0, 3, 1000)] == [0, 3, 1000]
    assert all(decode_cursor(text) is None for text in ("", "abc", "cG9zOi0x", "ch_123", "!!"))
