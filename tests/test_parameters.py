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


DEEP_OBJECTS = """
openapi: 3.0.3
info: {title: Ranges, version: "1"}
paths:
  /charges:
    get:
      parameters:
        - name: created   # a range, or one instant (how payment APIs write list filters)
          in: query
          style: deepObject
          explode: true
          schema:
            anyOf:
              - {type: object, properties: {gt: {type: integer}, lte: {type: integer}}, additionalProperties: false}
              - {type: integer}
        - name: filter    # no `type: object` written, nested one level more
          in: query
          style: deepObject
          schema:
            properties:
              owner: {type: object, properties: {email: {type: string, format: email}, active: {type: boolean}}}
              delay: {anyOf: [{type: string, enum: [minimum]}, {type: integer}]}
              lines: {type: array, items: {type: object, properties: {price: {type: string}, qty: {type: integer}}}}
              codes: {type: array, items: {type: integer}}
              methods: {anyOf: [{type: array, items: {type: string, enum: [card, sepa]}}, {type: string, enum: [""]}]}
              shipping:
                type: object
                required: [address]
                properties: {name: {type: string}, address: {type: object, properties: {city: {type: string}}}}
        - {name: limit, in: query, schema: {type: integer}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
        "400": {description: bad, content: {application/json: {schema: {type: object, properties: {message: {type: string}}}}}}
"""


@pytest.fixture()
def ranges(tmp_path: t.Any) -> t.Any:
    spec = tmp_path / "ranges.yaml"
    spec.write_text(DEEP_OBJECTS)
    return load_spec(spec)


def typed_query(api: t.Any, query: str) -> t.Any:
    """The query parameters as validation hands them on (what filters, behaviours and the store see)."""
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from mocksrv.engine.router import Router
    from mocksrv.engine.validation import ApiValidators
    from mocksrv.engine.validation import check_request
    from mocksrv.wire.reading import read_request

    request = read_request(Request(EnvironBuilder(api.mount + "/charges", query_string=query).get_environ()))
    match = Router([api]).match(request.method, request.path)
    return check_request(match, request, ApiValidators(api)).parameters["query"]


@pytest.mark.parametrize("query, typed", [
    ("", {}),  # every request of the operation was a 400 before: openapi-core cannot read such a schema
    ("limit=3", {"limit": 3}),
    ("created[gt]=5&created[lte]=9", {"created": {"gt": 5, "lte": 9}}),
    ("created=5", {"created": 5}),  # the schema's other branch: one plain value
    ("filter[owner][email]=a@example.com&filter[owner][active]=true",
     {"filter": {"owner": {"email": "a@example.com", "active": True}}}),
    # a key with no value where an object goes: the empty object, as clients write {}
    ("filter[owner]=", {"filter": {"owner": {}}}),
    # …and a required object with nothing in it has no key at all (Stripe's shipping address)
    ("filter[shipping][name]=Ann", {"filter": {"shipping": {"name": "Ann", "address": {}}}}),
    # text an enum of strings does not take is read as the schema's other type
    ("filter[delay]=0&filter[owner][active]=true", {"filter": {"delay": 0, "owner": {"active": True}}}),
    ("filter[delay]=minimum", {"filter": {"delay": "minimum"}}),
    # arrays by index, in index order (qs, Rails and Stripe write them so): objects and values
    ("filter[lines][1][price]=b&filter[lines][0][price]=a&filter[lines][0][qty]=2&filter[codes][0]=7",
     {"filter": {"lines": [{"price": "a", "qty": 2}, {"price": "b"}], "codes": [7]}}),
    # a list or "" (Stripe's way to unset one): no value is the "", a value an item
    ("filter[methods]=&filter[codes]=5", {"filter": {"methods": "", "codes": [5]}}),
    ("filter[methods]=card", {"filter": {"methods": ["card"]}}),
    # a key no property declares, sent twice: a list (any value is allowed there)
    ("filter[tag]=a&filter[tag]=b&filter[owner][active]=false", {"filter": {"tag": ["a", "b"], "owner": {"active": False}}}),
])
def test_a_deep_object_is_read_from_bracketed_keys_whatever_its_schema(ranges: t.Any, query: str,
                                                                      typed: dict[str, t.Any]) -> None:
    assert typed_query(ranges, query) == typed


@pytest.mark.parametrize("query, message", [
    # the reason comes from the branch of the value's own type, not "must be of type integer"
    ("created[gt]=soon", "created does not match any allowed form (created.gt must be of type integer, got string)"),
    ("created[after]=5", "created does not match any allowed form (created has unknown field(s): after)"),
    ("created=5&created[gt]=1", "created is sent both as a value and as created[key]=value"),
    ("filter=x", "filter is written as filter[key]=value (style deepObject)"),
    ("filter[owner][active]=maybe", "filter.owner.active must be of type boolean, got string"),
])
def test_a_bad_deep_object_is_named_in_the_query(ranges: t.Any, tmp_path: t.Any, query: str, message: str) -> None:
    client = create_app(Options(specs=[], strict=True), apis=[ranges]).test_client()
    response = client.get("/ranges/charges?" + query)
    assert response.status_code == 400, response.text
    assert response.json["message"] == message
    journaled = client.get("/__mocksrv/requests?limit=1").json["requests"][0]
    assert {error["location"] for error in journaled["errors"]} == {"query"}


EMPTIES = """
openapi: 3.0.3
info: {title: Empties, version: "1"}
paths:
  /files:
    put:
      parameters:
        - {name: packages, in: query, required: true, explode: false, schema: {type: array, items: {type: string}}}
        - {name: tags, in: query, explode: false, schema: {type: array, minItems: 2, items: {type: string}}}
        - {name: codes, in: query, explode: false, schema: {type: array, minItems: 1, items: {type: string, minLength: 1}}}
        - {name: names, in: query, explode: false, schema: {type: array, minItems: 1, items: {type: string}}}
        - {name: spec, in: query, content: {application/json: {schema: {type: object}}}}
        - {name: callback, in: query, schema: {type: string, format: uri}}
      requestBody:
        required: true
        content:
          application/octet-stream: {schema: {type: string, format: binary}}
          text/plain: {schema: {type: string, minLength: 1}}
          application/json: {schema: {type: object}}
      responses:
        "204": {description: stored}
        "400": {description: bad, content: {application/json: {schema: {type: object, properties: {message: {type: string}}}}}}
"""


@pytest.mark.parametrize("query, content_type, status, message", [
    # `?packages=` sends the list, empty: a required array is present
    ("packages=", "application/octet-stream", 204, None),
    ("", "application/octet-stream", 400, "packages query parameter is required"),
    # …unless it must hold items: then it is one empty text, judged by the items' schema
    ("packages=&tags=", "application/octet-stream", 400, "tags must have at least 2 items"),
    ("packages=&codes=", "application/octet-stream", 400, "codes[0] must be at least 1 characters long"),
    ("packages=&names=", "application/octet-stream", 204, None),
    # zero bytes of a type of bytes or text are the empty string, judged by its schema
    ("packages=a", "text/plain", 400, "request body must be at least 1 characters long"),
    ("packages=a", "application/json", 400, "request body is required"),  # zero bytes are no JSON document
    ("packages=a", None, 400, "request body is required"),
    ("packages=a&spec=%7Bnope", "application/octet-stream", 400,  # was a 500: openapi-core's error cannot print
     "spec query parameter has a value that cannot be read: Expecting property name enclosed in double quotes: "
     "line 1 column 2 (char 1)"),
    ("packages=a&callback=", "application/octet-stream", 400, "callback is not a valid uri"),
    ("packages=a&callback=example.com/hook", "application/octet-stream", 400, "callback is not a valid uri"),
    ("packages=a&callback=https%3A%2F%2Fexample.com%2Fhook", "application/octet-stream", 204, None),
])
def test_empty_values_are_values(tmp_path: t.Any, query: str, content_type: str | None, status: int,
                                 message: str | None) -> None:
    spec = tmp_path / "empties.yaml"
    spec.write_text(EMPTIES)
    client = create_app(Options(specs=[spec], strict=True), apis=[load_spec(spec)]).test_client()
    response = client.put("/empties/files?" + query, data=b"",
                          headers={"Content-Type": content_type} if content_type else {})
    assert response.status_code == status, response.text
    if message is not None:
        assert response.json["message"] == message
