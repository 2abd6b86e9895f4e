"""Parameters as clients send them, on a spec of our own with every style
(tests/data/features/styles.yaml): empty query values, label and matrix path segments."""

from __future__ import annotations

import typing as t

import pytest
import requests

from conftest import DATA
from conftest import MockServer
from conftest import SpecChecker
from mocksrv import Options
from mocksrv import create_app
from mocksrv.openapi.specs import load_spec

STYLES = DATA / "features" / "styles.yaml"


@pytest.fixture(scope="module")
def mock() -> t.Iterator[MockServer]:
    server = MockServer("--specs", str(STYLES), "--strict")
    yield server
    server.stop()


def get(mock: MockServer, path: str, query: str) -> requests.Response:
    return requests.get(mock.url(f"/styles{path}") + "?" + query, timeout=10)


def fields(response: requests.Response) -> list[str]:
    return [error["field"] for error in response.json()["errors"]]


def test_an_empty_string_query_value_is_the_empty_string(mock: MockServer) -> None:
    response = get(mock, "/items/1", "required_word=&word=&after=")
    assert response.status_code == 200, response.text
    SpecChecker(STYLES, mock.base_url).assert_valid(response)


def test_an_empty_value_is_judged_by_the_parameters_schema(mock: MockServer) -> None:
    response = get(mock, "/items/1", "required_word=x&count=&short=&ratio=&flag=")
    assert response.status_code == 400
    assert sorted(fields(response)) == ["count", "flag", "ratio", "short"]


def test_an_empty_value_of_a_non_exploded_array_is_no_list_at_all(mock: MockServer) -> None:
    assert get(mock, "/styled/.a/;matrix=1", "ids=&spaced=&piped=").status_code == 200
    assert get(mock, "/styled/.a/;matrix=1", "ids=1,x").status_code == 400


def test_label_and_matrix_path_segments_are_read_by_their_style(mock: MockServer) -> None:
    assert get(mock, "/styled/.blue/;matrix=2.5", "").status_code == 200
    wrong = get(mock, "/styled/.blue/;matrix=two", "")
    assert wrong.status_code == 400 and fields(wrong) == ["matrix"]


def test_an_explicit_allow_empty_value_false_is_the_specs_word(tmp_path: t.Any) -> None:
    spec = STYLES.read_text().replace(
        "- {name: word, in: query, schema: {type: string}}",
        "- {name: word, in: query, allowEmptyValue: false, schema: {type: string}}")
    (tmp_path / "strict.yaml").write_text(spec)
    server = MockServer("--specs", str(tmp_path / "strict.yaml"), "--strict")
    try:
        refused = requests.get(server.url("/strict/items/1?required_word=x&word="), timeout=10)
        assert refused.status_code == 400 and fields(refused) == ["word"]
        assert requests.get(server.url("/strict/items/1?required_word=&word=x"), timeout=10).status_code == 200
    finally:
        server.stop()


def test_31_type_lists_in_parameters_are_read_by_their_types() -> None:
    """openapi-core failed every request to such an operation ("Expected a string value, got list")."""
    from mocksrv import Options
    from mocksrv import create_app

    client = create_app(Options(specs=[DATA / "features" / "lists31.yaml"], fixtures=None, strict=True)).test_client()

    def post(path: str, **headers: str) -> tuple[int, t.Any]:
        response = client.post(f"/lists31/domains/{path}", headers=headers)
        return response.status_code, response.get_json(silent=True)

    assert post("example.com/verify")[0] == 200
    assert post("example.com/verify?after=3&ref=x", **{"X-Dry-Run": "true"})[0] == 200
    assert post("example.com/verify?ref=12")[0] == 200
    status, body = post("example.com/verify?after=0")
    assert status == 400 and body["message"] == "after must be at least 1"
    status, body = post("example.com/verify?after=soon")
    assert status == 400 and body["message"].startswith("after query parameter has a value that cannot be read")
    status, body = post("example.com/verify", **{"X-Dry-Run": "perhaps"})
    assert status == 400 and "X-Dry-Run" in body["message"]
    # a type list with "null": the text null is the null value
    assert post("example.com/verify?after=null", **{"X-Dry-Run": "null"})[0] == 200


def test_a_nullable_parameter_sent_as_null_is_null_and_only_where_the_spec_allows_it() -> None:
    from mocksrv import Options
    from mocksrv import create_app

    client = create_app(Options(specs=[DATA / "features" / "nullable30.yaml"], fixtures=None,
                                strict=True)).test_client()
    assert client.get("/nullable30/events?after=null", headers={"X-Since": "null"}).status_code == 200
    refused = client.get("/nullable30/events?before=null")
    assert refused.status_code == 400
    assert refused.get_json()["message"].startswith("before query parameter has a value that cannot be read")
    assert client.get("/nullable30/events?after=soon").status_code == 400
    # a key sent twice is a list of texts, not the null literal, whichever of its values says null
    twice = client.get("/nullable30/events?after=null&after=soon")
    assert twice.status_code == 400 and "after" in twice.get_json()["message"]


# -- in process (Flask's test client), so `make mutate` sees validation.py's parameter messages --

@pytest.fixture()
def served() -> t.Any:
    specs = [STYLES, DATA / "features" / "forms30.yaml"]
    return create_app(Options(specs=specs, strict=True), apis=[load_spec(spec) for spec in specs]).test_client()


@pytest.mark.parametrize("url, headers, errors", [
    ("/styles/items/1", {}, [("query", "required_word", "required_word query parameter is required")]),
    ("/styles/items/x?required_word=a", {},
     [("path", "simple", "simple path parameter has a value that cannot be read: Failed to cast value to integer "
                         "type: x")]),
    ("/styles/items/1?required_word=a", {"X-Page": "x", "X-Mode": "warp"},
     [("header", "X-Page", "X-Page header has a value that cannot be read: Failed to cast value to integer type: x"),
      ("header", "X-Mode", 'X-Mode must be one of: "fast", "slow"')]),
    ("/styles/items/1?required_word=a&count=-1&flag=maybe", {},
     [("query", "count", "count must be at least 0"),
      ("query", "flag", "flag query parameter has a value that cannot be read: Failed to cast value to boolean "
                        "type: maybe")]),
    ("/forms30/v1/search?ids=1,x", {},
     [("query", "ids", "ids query parameter has a value that cannot be read: Failed to cast value to integer type: x"),
      ("cookie", "session", "session cookie is required")]),
])
def test_in_process_a_bad_parameter_is_named_with_its_place(served: t.Any, url: str, headers: dict[str, str],
                                                           errors: list[tuple[str, str, str]]) -> None:
    response = served.get(url, headers=headers)
    assert response.status_code == 400
    assert [(e["location"], e["field"], e["message"]) for e in response.json["errors"]] == errors


DEEP_ARRAYS = """
openapi: 3.0.3
info: {title: Deep, version: "1"}
paths:
  /things:
    get:
      parameters:
        - {name: expand, in: query, style: deepObject, explode: true, schema: {type: array, items: {type: string}}}
        - {name: ids, in: query, style: deepObject, explode: true, schema: {type: array, items: {type: integer}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
        "400": {description: bad, content: {application/json: {schema: {type: object, properties: {message: {type: string}}}}}}
"""


@pytest.mark.parametrize("query, status", [
    ("", 200),  # every request was a 400 before: openapi-core cannot read a deepObject array
    ("expand[]=customer&expand[]=invoice", 200),
    ("expand[0]=customer&expand[1]=invoice", 200),
    ("ids[]=1&ids[]=2", 200),
    ("ids[0]=1&ids[1]=x", 400),  # each item judged by the items' schema
])
def test_a_deep_object_array_is_read_from_bracketed_keys(tmp_path: t.Any, query: str, status: int) -> None:
    spec = tmp_path / "deep.yaml"
    spec.write_text(DEEP_ARRAYS)
    client = create_app(Options(specs=[spec], strict=True), apis=[load_spec(spec)]).test_client()
    response = client.get("/deep/things?" + query)
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json["message"].startswith("ids query parameter")
