"""The 400 answer a client gets for a request that breaks its operation, and what strict mode
says about a response that breaks its own: each violation's location, field and message,
on small specs of our own served in this process (so `make mutate` sees engine/validation.py)."""

from __future__ import annotations

import io
import json
import typing as t

import pytest
import yaml
from openapi_core.deserializing.media_types.exceptions import MediaTypeDeserializeError
from openapi_core.validation.request.exceptions import ParameterValidationError
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from mocksrv import Options
from mocksrv import create_app
from mocksrv.engine.behaviour import Behaviour
from mocksrv.engine.fastpath.checks import JsonCheck
from mocksrv.engine.router import Router
from mocksrv.engine.validation import ApiValidators
from mocksrv.engine.validation import _body_violations
from mocksrv.engine.validation import _parameter_violations
from mocksrv.engine.validation import _schema_violation
from mocksrv.engine.validation import check_request
from mocksrv.engine.validation import check_response
from mocksrv.errors import InvalidRequest
from mocksrv.errors import Violation
from mocksrv.exchange import Match
from mocksrv.exchange import MockRequest
from mocksrv.exchange import MockResponse
from mocksrv.openapi.specs import ApiSpec
from mocksrv.openapi.specs import Operation
from mocksrv.openapi.specs import load_spec
from mocksrv.wire.reading import read_request

Errors = list[tuple[str, str, str]]

TREE = {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}}
NO_CONTENT = {"204": {"description": "done"}}


def post(body: dict[str, t.Any]) -> dict[str, t.Any]:
    return {"post": {"requestBody": {"required": True, "content": body}, "responses": NO_CONTENT}}


# 3.0: bodies of every kind that reaches openapi-core's own body reader, and JSON bodies of our own checks
ANSWERS: dict[str, t.Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Answers", "version": "1"},
    "components": {"schemas": {"Tree": TREE}},
    "paths": {
        "/anything": post({"*/*": {"schema": {"type": "string"}}}),
        "/xml": post({"application/xml": {"schema": {"type": "object"}}}),
        "/loose": post({"application/json": {}}),  # JSON with no schema: any JSON document
        "/words": post({"text/plain": {"schema": {"type": "string", "pattern": "^café$"}}}),
        "/trees": post({
            "application/json": {"schema": {"$ref": "#/components/schemas/Tree"}},
            "text/plain": {"schema": {"$ref": "#/components/schemas/Tree"}},
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "properties": {"tree": {"$ref": "#/components/schemas/Tree"}}},
                "encoding": {"tree": {"contentType": "application/json"}}}}),
        "/people": post({"application/json": {"schema": {
            "type": "object",
            "required": ["name", "email"],
            "properties": {
                "name": {"type": "string"},
                "email": {"type": "string", "format": "email"},
                "to": {"type": "array", "items": {"type": "object", "required": ["email"],
                                                  "properties": {"email": {"type": "string", "format": "email"}}}},
                "nick": {"not": {"type": "integer"}},
                # a phone object, or anything that is not an object (the `not` branch says nothing useful)
                "contact": {"anyOf": [
                    {"type": "object", "required": ["phone"],
                     "properties": {"phone": {"type": "string", "pattern": "^[0-9]+$"}}},
                    {"not": {"type": "object"}}]},
                "role": {"oneOf": [{"type": "string", "enum": ["admin"]}, {"type": "integer", "minimum": 1}]},
                # "ABC" fits both branches, which oneOf forbids
                "badge": {"oneOf": [{"type": "string", "minLength": 3}, {"type": "string", "pattern": "^[A-Z]+$"}]},
            },
            "additionalProperties": False}}}),
        "/signups": post({media: {"schema": {
            "type": "object",
            "required": ["name", "age"],
            "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 18},
                           "tags": {"type": "array", "items": {"type": "integer"}},
                           "avatar": {"type": "string", "format": "binary"}},
            "additionalProperties": False}} for media in ("multipart/form-data", "application/x-www-form-urlencoded")}),
    },
}

# 3.1: type lists, numeric exclusive bounds and unevaluatedProperties
ANSWERS31: dict[str, t.Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Answers31", "version": "1"},
    "paths": {
        "/notes": post({"application/json": {"schema": {
            "type": "object",
            "properties": {"title": {"type": ["string"]}, "score": {"type": "number", "exclusiveMaximum": 10}},
            "unevaluatedProperties": False}}}),
        "/blobs": post({"text/plain": {"schema": {"type": ["object", "array", "null"]}}}),
    },
}


def loaded(folder: t.Any, name: str, document: dict[str, t.Any]) -> ApiSpec:
    """An inline spec written to ``folder/name.yaml`` (the file name is the API id) and loaded."""
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return load_spec(path)


def routed(api: ApiSpec, path: str, query: str = "", headers: dict[str, str] | None = None) -> tuple[Match, MockRequest]:
    """A GET of ``path`` as the server reads it, and the operation it reaches."""
    environ = EnvironBuilder(api.mount + path, query_string=query, headers=headers or {}).get_environ()
    request = read_request(Request(environ))
    match = Router([api]).match(request.method, request.path)
    assert match is not None
    return match, request


@pytest.fixture()
def client(tmp_path: t.Any) -> t.Any:
    """answers (3.0) and answers31 served in this process, strict."""
    apis = [loaded(tmp_path, "answers", ANSWERS), loaded(tmp_path, "answers31", ANSWERS31)]
    return create_app(Options(specs=[], strict=True), apis=apis).test_client()


def answered(response: t.Any) -> Errors:
    """The violations a 400 answer lists, as (location, field, message)."""
    assert response.status_code == 400, response.text
    errors = [(e["location"], e["field"], e["message"]) for e in response.json["errors"]]
    assert response.json["detail"] == errors[0][2]  # the one message: the first violation's
    return errors


def journaled(client: t.Any) -> Errors:
    """The violations the journal kept for the last request."""
    entry = client.get("/__mocksrv/requests?limit=1").json["requests"][0]
    return [(e["location"], e["field"], e["message"]) for e in entry["errors"]]


# -- bodies openapi-core reads itself (not JSON with a schema, not a form, not JSON text) -------------

DEEP = b"[" * 100_000


@pytest.mark.parametrize("path, raw, content_type, errors", [
    # an empty urlencoded body is a body for mocksrv (the empty form); the `*/*` type takes it, and
    # openapi-core finds no bytes for a required body
    ("/anything", b"", "application/x-www-form-urlencoded", [("body", "", "request body is required")]),
    ("/xml", b"<a>", "application/xml",
     [("body", "", "request body is not valid application/xml: no element found: line 1, column 3")]),
    ("/loose", b"{", "application/json",
     [("body", "", "request body is not valid JSON: Expecting property name enclosed in double quotes: "
                   "line 1 column 2 (char 1)")]),
    ("/loose", b'"\xff"', "application/json", [("body", "", "request body is not valid UTF-8 (invalid start byte "
                                                           "at byte 1)")]),
    ("/loose", DEEP, "application/json", [("body", "", "request body is nested too deeply")]),
    # text is decoded by its charset, and bytes that are not in it become U+FFFD (then the schema judges)
    ("/words", b"cafe", "text/plain", [("body", "", "request body must match the pattern ^café$")]),
    ("/words", b"caf\xff", "text/plain", [("body", "", "request body must match the pattern ^café$")]),
    ("/words", "café".encode(), "text/plain; charset=latin-1",
     [("body", "", "request body must match the pattern ^café$")]),
    ("/words", b"cafe", "text/plain; charset=nope", [("body", "", "request body could not be read: unknown "
                                                                "encoding: nope")]),
])
def test_a_body_openapi_core_reads_is_refused_with_its_reason(client: t.Any, path: str, raw: bytes,
                                                             content_type: str, errors: Errors) -> None:
    response = client.post("/answers" + path, data=raw, content_type=content_type)
    assert answered(response) == errors
    assert journaled(client) == errors


@pytest.mark.parametrize("raw, content_type", [
    ("café".encode("latin-1"), "text/plain; charset=latin-1"),
    ("café".encode(), "text/plain; charset=utf-8"),
    ("café".encode(), "text/plain"),  # UTF-8 unless the Content-Type names another charset
])
def test_a_text_body_is_read_in_its_charset(client: t.Any, raw: bytes, content_type: str) -> None:
    assert client.post("/answers/words", data=raw, content_type=content_type).status_code == 204


@pytest.mark.parametrize("raw", [b"<a>1</a>", b"<?xml version='1.0'?><note><to>Ann</to></note>"])
def test_a_well_formed_xml_body_is_accepted(client: t.Any, raw: bytes) -> None:
    """XML is checked for being XML, as responses are (openapi-core reads it into an Element no schema takes)."""
    assert client.post("/answers/xml", data=raw, content_type="application/xml").status_code == 204


@pytest.mark.parametrize("raw, errors", [
    (b"[[], [[]]]", []),
    (b'[[], ["x"]]', [("body", "[1][0]", "[1][0] must be of type array, got string")]),
    (b"{", [("body", "", "request body is not valid JSON: Expecting property name enclosed in double quotes: "
                         "line 1 column 2 (char 1)")]),
    (b'"\xff"', [("body", "", "request body is not valid UTF-8 (invalid start byte at byte 1)")]),
    (DEEP, [("body", "", "request body is nested too deeply")]),
])
def test_json_text_in_a_text_type_is_read_as_json(client: t.Any, raw: bytes, errors: Errors) -> None:
    """An array schema under text/plain: the only way to write such a body is its JSON text."""
    response = client.post("/answers/trees", data=raw, content_type="text/plain")
    if not errors:
        assert response.status_code == 204, response.text
    else:
        assert answered(response) == errors


def test_a_31_text_body_of_json_types_is_json_text(client: t.Any) -> None:
    for sent in (b"null", b"[1]", b'{"a": 1}'):
        assert client.post("/answers31/blobs", data=sent, content_type="text/plain").status_code == 204, sent
    refused = client.post("/answers31/blobs", data=b"5", content_type="text/plain")
    assert answered(refused) == [("body", "", "request body must be of type object or array or null, got integer")]


@pytest.mark.parametrize("data, content_type", [
    # parsed, then the schema's recursion runs out of stack: said, never a 500
    ("[" * 600 + '"leaf"' + "]" * 600, "application/json"),
    ("[" * 600 + "]" * 600, "text/plain"),
    ("tree=" + "[" * 600 + "]" * 600, "application/x-www-form-urlencoded"),
])
def test_a_body_too_deep_to_check_is_told_so(client: t.Any, data: str, content_type: str) -> None:
    response = client.post("/answers/trees", data=data, content_type=content_type)
    assert answered(response) == [("body", "", "request body is nested too deeply")]


# -- a JSON body against its schema -----------------------------------------------------------------

PERSON = {"name": "Ann", "email": "ann@example.com"}


@pytest.mark.parametrize("body, errors", [
    # each missing required field is named, in the schema's order
    ({}, [("body", "name", "name field is required"), ("body", "email", "email field is required")]),
    ({"name": "Ann"}, [("body", "email", "email field is required")]),
    ([PERSON], [("body", "", "request body must be of type object, got array")]),
    ({**PERSON, "email": "nope"}, [("body", "email", "email is not a valid email")]),
    ({**PERSON, "to": [{"email": "a@example.com"}, {"email": "b"}, {}]},
     [("body", "to[1].email", "to[1].email is not a valid email"),
      ("body", "to[2].email", "to[2].email field is required")]),
    ({**PERSON, "age": 3, "city": "Oslo"}, [("body", "", "request body has unknown field(s): age, city")]),
    ({**PERSON, "nick": 7}, [("body", "nick", "nick: 7 should not be valid under {'type': 'integer'}")]),
    ({**PERSON, "contact": {"phone": "x"}},
     [("body", "contact", "contact does not match any allowed form (contact.phone must match the pattern "
                          "^[0-9]+$)")]),
    ({**PERSON, "role": "root"},
     [("body", "role", 'role does not match any allowed form (role must be one of: "admin")')]),
    ({**PERSON, "badge": "ABC"},
     [("body", "badge", "badge matches more than one allowed form (oneOf allows exactly one)")]),
    ({**PERSON, "badge": "a"},
     [("body", "badge", "badge does not match any allowed form (badge must be at least 3 characters long)")]),
])
def test_a_json_body_breaking_its_schema_names_each_field(client: t.Any, body: t.Any, errors: Errors) -> None:
    response = client.post("/answers/people", json=body)
    assert answered(response) == errors
    assert journaled(client) == errors


@pytest.mark.parametrize("body, errors", [
    ({"title": None}, [("body", "title", "title must be of type string, got null")]),
    ({"score": 10}, [("body", "score", "score must be less than 10")]),
    ({"score": 9.5, "extra": 1}, [("body", "", "request body has unknown field(s): extra")]),
])
def test_a_31_json_body_breaking_its_schema_names_each_field(client: t.Any, body: t.Any, errors: Errors) -> None:
    assert answered(client.post("/answers31/notes", json=body)) == errors


def test_a_valid_json_body_passes(client: t.Any) -> None:
    assert client.post("/answers/people", json={**PERSON, "contact": 5, "role": 2, "badge": "abc"}).status_code == 204
    assert client.post("/answers31/notes", json={"title": "t", "score": 9.5}).status_code == 204
    assert client.post("/answers/loose", data=json.dumps([1]), content_type="application/json").status_code == 204


# -- parameters -----------------------------------------------------------------------------------

PARAMETERS: dict[str, t.Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Params", "version": "1"},
    "paths": {"/things/{at}": {"get": {
        "parameters": [
            {"name": "at", "in": "path", "required": True, "schema": {"type": "string", "format": "date-time"}},
            {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
            {"name": "days", "in": "query", "explode": False,
             "schema": {"type": "array", "items": {"type": "string", "format": "date-time"}}},
            {"name": "piped", "in": "query", "style": "pipeDelimited", "explode": False,
             "schema": {"type": "array", "items": {"type": "string", "format": "date"}}},
            {"name": "each", "in": "query", "schema": {"type": "array", "items": {"type": "string", "format": "uuid"}}},
            {"name": "X-At", "in": "header", "schema": {"type": "string", "format": "date-time"}},
            {"name": "at_c", "in": "cookie", "schema": {"type": "string", "format": "date-time"}},
            {"name": "expand", "in": "query", "style": "deepObject", "explode": True,
             "schema": {"type": "array", "items": {"type": "integer"}}},
            {"name": "limit", "in": "query", "schema": {"type": "integer"}},
            {"name": "filter", "in": "query", "style": "deepObject",
             "schema": {"type": "object", "properties": {"n": {"type": "integer"}}}},
        ],
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}},
    }}},
}


@pytest.fixture()
def params(tmp_path: t.Any) -> ApiSpec:
    return loaded(tmp_path, "params", PARAMETERS)


def cast_error(name: str, value: str) -> tuple[str, str, str]:
    return ("query", name, f"{name} query parameter has a value that cannot be read: Failed to cast value to "
                           f"integer type: {value}")


@pytest.mark.parametrize("query, errors", [
    ("expand[]=1&expand[]=x", [cast_error("expand", "x")]),  # `name[]` keys are the deepObject array's items
    ("expand[0]=1&expand[1]=x", [cast_error("expand", "x")]),
    ("expand[1x]=x", []),  # not an index: a key of its own, which no parameter declares
    ("expand[]=1&limit[]=x", []),  # brackets belong to deepObject arrays only: `limit[]` is not `limit`
    # a value the deepObject reader could not read is said once, in its words; the others still are
    ("filter=x", [("query", "filter", "filter is written as filter[key]=value (style deepObject)")]),
    ("filter=x&limit=y", [("query", "filter", "filter is written as filter[key]=value (style deepObject)"),
                          cast_error("limit", "y")]),
    ("filter[n]=x", [("query", "filter.n", "filter.n must be of type integer, got string")]),
])
def test_a_bad_query_parameter_is_named(params: t.Any, query: str, errors: Errors) -> None:
    client = create_app(Options(specs=[], strict=True), apis=[params]).test_client()
    response = client.get("/params/things/2024-05-01T10:00:00Z?" + query)
    if not errors:
        assert response.status_code == 200, response.text
    else:
        assert answered(response) == errors
        assert journaled(client) == errors


def typed_parameters(api: ApiSpec, path: str, query: str, headers: dict[str, str]) -> dict[str, t.Any]:
    """The parameters as validation hands them on (what filters, behaviours and the store see)."""
    match, request = routed(api, path, query, headers)
    return check_request(match, request, ApiValidators(api)).parameters


UPPER_1, UPPER_2 = "6F1C3E54-5F1A-4A57-9D38-8F3A2C1B0E7D", "0E3C3E54-5F1A-4A57-9D38-8F3A2C1B0E7D"


@pytest.mark.parametrize("query, headers, typed", [
    # a value with a format stays the text the client wrote (`Z`, upper-case hex), wherever it was sent
    ("since=2024-05-02T00:00:00Z&days=2024-05-03T00:00:00Z,2024-05-04T00:00:00Z&piped=2024-05-05|2024-05-06"
     f"&each={UPPER_1}&each={UPPER_2}",
     {"X-At": "2024-05-07T00:00:00Z", "Cookie": "at_c=2024-05-08T00:00:00Z"},
     {"path": {"at": "2024-05-01T10:00:00Z"},
      "query": {"since": "2024-05-02T00:00:00Z", "days": ["2024-05-03T00:00:00Z", "2024-05-04T00:00:00Z"],
                "piped": ["2024-05-05", "2024-05-06"], "each": [UPPER_1, UPPER_2]},
      "header": {"X-At": "2024-05-07T00:00:00Z"}, "cookie": {"at_c": "2024-05-08T00:00:00Z"}}),
    (f"each={UPPER_1}&limit=3", {},
     {"path": {"at": "2024-05-01T10:00:00Z"}, "query": {"each": [UPPER_1], "limit": 3}, "header": {}, "cookie": {}}),
])
def test_a_parameter_with_a_format_is_handed_on_as_sent(params: t.Any, query: str, headers: dict[str, str],
                                                       typed: dict[str, t.Any]) -> None:
    assert typed_parameters(params, "/things/2024-05-01T10:00:00Z", query, headers) == typed


# -- responses: what strict mode says about an answer that breaks its operation --------------------

REPORT_SCHEMA = {"type": "object", "required": ["n"],
                 "properties": {"n": {"type": "integer"}, "tags": {"type": "array", "uniqueItems": True}},
                 "additionalProperties": False}
RESPONSES: dict[str, t.Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Replies", "version": "1"},
    "paths": {
        "/report": {"get": {"responses": {"200": {
            "description": "a report, as JSON text in any of its types",
            "headers": {"X-Count": {"required": True, "schema": {"type": "integer"}}},
            "content": {"text/plain": {"schema": REPORT_SCHEMA}, "application/json": {"schema": REPORT_SCHEMA},
                        "application/x-ndjson": {"schema": REPORT_SCHEMA}}}}}},
        "/feed": {"get": {"responses": {"200": {
            "description": "a feed", "content": {"application/xml": {"schema": {"type": "object"}}}}}}},
    },
}


@pytest.fixture()
def replies(tmp_path: t.Any) -> ApiSpec:
    return loaded(tmp_path, "replies", RESPONSES)


def response_problems(api: ApiSpec, path: str, status: int, headers: list[tuple[str, str]], body: bytes) -> list[str]:
    """What the response check finds in an answer about to be sent (strict mode's 500 lists them)."""
    match, request = routed(api, path)
    return check_response(match, request, MockResponse(status, headers, body), ApiValidators(api))


TEXT = [("Content-Type", "text/plain"), ("X-Count", "1")]
JSON = [("Content-Type", "application/json"), ("X-Count", "1")]


XML = [("Content-Type", "application/xml")]


@pytest.mark.parametrize("path, status, headers, body, problems", [
    ("/report", 200, TEXT, {"n": 1}, []),
    # a text type holding a JSON object is checked as one
    ("/report", 200, TEXT, {"n": "x"}, ["n: 'x' is not of type 'integer'"]),
    ("/report", 200, [("Content-Type", "text/plain; charset=utf-8"), ("X-Count", "1")], {"n": "x"},
     ["n: 'x' is not of type 'integer'"]),
    ("/report", 200, TEXT, [1], ["body: [1] is not of type 'object'"]),
    ("/report", 200, JSON, {"n": "x"}, ["n: 'x' is not of type 'integer'"]),
    # text that is no JSON object is the string the schema refuses
    ("/report", 200, TEXT, b"{nope", ["body: '{nope' is not of type 'object'"]),
    ("/report", 200, TEXT, b"hello", ["body: 'hello' is not of type 'object'"]),
    ("/report", 200, TEXT, b"5", ["body: '5' is not of type 'object'"]),  # JSON text, but no object or array
    ("/report", 200, TEXT, b"", ["MissingData: Missing response data"]),
    # JSON Lines: the schema describes one record, the first
    ("/report", 200, [("Content-Type", "application/x-ndjson"), ("X-Count", "1")], b'\n{"n": 1}\n{"n": "x"}\n', []),
    ("/report", 200, [("Content-Type", "application/x-ndjson"), ("X-Count", "1")], b'\x1e{"n": "x"}\n{"n": 1}\n',
     ["n: 'x' is not of type 'integer'"]),
    # a type the status does not declare, a status the operation does not declare
    ("/report", 200, [("Content-Type", "text/csv"), ("X-Count", "1")], {"n": "x"},
     ["DataValidationError: Content for the following mimetype not found: text/csv. "
      "Valid mimetypes: ['application/json', 'application/x-ndjson', 'text/plain']"]),
    ("/report", 201, TEXT, {"n": "x"}, ["ResponseNotFound: Unknown response http status: 201"]),
    # headers are told after the body's problems
    ("/report", 200, [("Content-Type", "text/plain")], {"n": "x"},
     ["n: 'x' is not of type 'integer'", "MissingRequiredHeader: Missing required header: X-Count"]),
    ("/report", 200, [("Content-Type", "text/plain"), ("X-Count", "x")], {"n": "x"},
     ["n: 'x' is not of type 'integer'", "HeaderValidationError: Failed to cast value to integer type: x"]),
    # a long value that starts the reason is "the value" (61 characters), a shorter one is quoted (60)
    ("/report", 200, TEXT, {"n": 1, "tags": [1, 1, "a" * 51]}, ["tags: the value has non-unique elements"]),
    ("/report", 200, TEXT, {"n": 1, "tags": [1, 1, "a" * 50]}, [f"tags: [1, 1, '{'a' * 50}'] has non-unique elements"]),
    # a reason is one line of at most 300 characters
    ("/report", 200, TEXT, {"n": 1, "k" * 243: 1},
     [f"body: Additional properties are not allowed ('{'k' * 243}' was unexpected)"]),
    ("/report", 200, TEXT, {"n": 1, "k" * 244: 1},
     [f"body: Additional properties are not allowed ('{'k' * 244}' was unexpecte…"]),
    # XML is checked for being XML (openapi-core reads it into an Element no schema takes)
    ("/feed", 200, XML, b"<a/>", []),
    ("/feed", 200, XML, b"<a>", ["body: not well-formed XML (no element found: line 1, column 3)"]),
    ("/feed", 200, XML, b"{}", ["body: not well-formed XML (not well-formed (invalid token): line 1, column 0)"]),
])
def test_a_response_breaking_its_operation_is_named(replies: t.Any, path: str, status: int,
                                                    headers: list[tuple[str, str]], body: t.Any,
                                                    problems: list[str]) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    assert response_problems(replies, path, status, headers, raw) == problems


# -- what a behaviour's `reword` reads: the failed keyword and the offending value ---------------------

class Echo(Behaviour):
    """Words each violation by its rule and value (an API with texts of its own reads them so)."""

    def reword(self, operation: Operation, violation: Violation) -> str | None:
        return f"{violation.rule} {json.dumps(violation.value)}"


@pytest.mark.parametrize("body, errors", [
    ({"name": "Ann"}, [("email", 'required null')]),
    ({**PERSON, "name": 5}, [("name", "type 5")]),
    ({**PERSON, "age": 3}, [("", 'additionalProperties ["age"]')]),
    ({**PERSON, "email": "nope"}, [("email", 'format "nope"')]),
    ({**PERSON, "role": "root"}, [("role", 'oneOf "root"')]),
    ({**PERSON, "badge": "ABC"}, [("badge", 'oneOf "ABC"')]),  # fits two branches
    ({**PERSON, "contact": {"phone": "x"}}, [("contact", 'anyOf {"phone": "x"}')]),
])
def test_a_behaviour_rewords_by_the_failed_rule_and_value(client: t.Any, body: t.Any,
                                                           errors: list[tuple[str, str]]) -> None:
    client.application.extensions["mocksrv"].pipeline.behaviours["answers"] = Echo()
    response = client.post("/answers/people", json=body)
    assert answered(response) == [("body", field, message) for field, message in errors]


def test_a_behaviour_rewords_a_31_unknown_field_by_its_rule(client: t.Any) -> None:
    client.application.extensions["mocksrv"].pipeline.behaviours["answers31"] = Echo()
    response = client.post("/answers31/notes", json={"extra": 1})
    assert answered(response) == [("body", "", 'unevaluatedProperties ["extra"]')]


# -- forms -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fields, errors", [
    ({"age": "20"}, [("name", "name field is required")]),
    ({"name": "Ann", "age": "x"}, [("age", "age must be of type integer, got string")]),
    ({"name": "Ann", "age": "17"}, [("age", "age must be at least 18")]),
    ({"name": "Ann", "age": "20", "tags": ["1", "x"]}, [("tags[1]", "tags[1] must be of type integer, got string")]),
    ({"name": "Ann", "age": "20", "extra": "1"}, [("", "request body has unknown field(s): extra")]),
    # a field the form reader could not read is said once, in its words; the others still are
    ({"name": "Ann", "age": ["20", "21"]}, [("age", "age field was sent 2 times; it takes one value")]),
    ({"name": ["A", "B"], "age": "x"}, [("name", "name field was sent 2 times; it takes one value"),
                                        ("age", "age must be of type integer, got string")]),
])
@pytest.mark.parametrize("media", ["multipart/form-data", "application/x-www-form-urlencoded"])
def test_a_form_breaking_its_schema_names_each_field(client: t.Any, media: str, fields: dict[str, t.Any],
                                                      errors: list[tuple[str, str]]) -> None:
    data: dict[str, t.Any] = dict(fields)
    if media == "multipart/form-data":  # with a file part: the full check, never the quick one
        data["avatar"] = (io.BytesIO(b"\x89PNG"), "a.png", "image/png")
    response = client.post("/answers/signups", data=data, content_type=media)
    assert answered(response) == [("body", field, message) for field, message in errors]
    assert journaled(client) == [("body", field, message) for field, message in errors]


# -- arrays in the query, by style ------------------------------------------------------------------

ARRAYS: dict[str, t.Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Arrays", "version": "1"},
    "paths": {"/list": {"get": {
        "parameters": [
            {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
            {"name": "ids", "in": "query", "explode": False, "schema": {"type": "array", "items": {"type": "integer"}}},
            {"name": "spaced", "in": "query", "style": "spaceDelimited", "explode": False,
             "schema": {"type": "array", "items": {"type": "string"}}},
            {"name": "piped", "in": "query", "style": "pipeDelimited", "explode": False,
             "schema": {"type": "array", "items": {"type": "string"}}},
            {"name": "q", "in": "query", "schema": {"type": "string"}},
            {"name": "counts", "in": "query", "explode": False,
             "schema": {"type": "array", "minItems": 0, "items": {"type": "integer"}}},
            {"name": "codes", "in": "query", "explode": False,
             "schema": {"type": "array", "minItems": 1, "items": {"type": "integer"}}},
        ],
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}},
    }}},
}


@pytest.fixture()
def arrays(tmp_path: t.Any) -> ApiSpec:
    return loaded(tmp_path, "arrays", ARRAYS)


@pytest.mark.parametrize("query, typed", [
    ("ids=1,2&spaced=a%20b&piped=a|b&tags=x&tags=y",
     {"ids": [1, 2], "spaced": ["a", "b"], "piped": ["a", "b"], "tags": ["x", "y"]}),
    # `?ids=` sends the list, empty, for an array that is not exploded; an exploded one holds ""
    ("ids=&spaced=&piped=&counts=", {"ids": [], "spaced": [], "piped": [], "counts": []}),
    ("tags=", {"tags": [""]}),
    # the query rewritten for those keeps every value of a repeated key
    ("spaced=a%20b&tags=x&tags=y", {"spaced": ["a", "b"], "tags": ["x", "y"]}),
    ("spaced=a%20b&q=x%20y", {"spaced": ["a", "b"], "q": "x y"}),  # only the delimited one is split
    ("ids=&tags=x&tags=y", {"ids": [], "tags": ["x", "y"]}),
])
def test_a_query_array_is_read_by_its_style(arrays: t.Any, query: str, typed: dict[str, t.Any]) -> None:
    assert typed_parameters(arrays, "/list", query, {})["query"] == typed


@pytest.mark.parametrize("query, errors", [
    ("ids=1,x", [cast_error("ids", "x")]),
    # an array that must hold an item: `?codes=` is one empty item (the message ends on its cut line)
    ("codes=", [("query", "codes", "codes query parameter has a value that cannot be read: Failed to cast value to "
                                   "integer type:")]),
])
def test_a_bad_query_array_is_named(arrays: t.Any, query: str, errors: Errors) -> None:
    client = create_app(Options(specs=[], strict=True), apis=[arrays]).test_client()
    assert answered(client.get("/arrays/list?" + query)) == errors


# -- literal nulls, empty bodies ---------------------------------------------------------------------

NULLS: dict[str, t.Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Nulls", "version": "1"},
    "paths": {"/events": {"get": {
        "parameters": [
            {"name": "after", "in": "query", "schema": {"type": "integer", "nullable": True}},
            {"name": "X-Since", "in": "header", "schema": {"type": "string", "format": "date", "nullable": True}},
            {"name": "limit", "in": "query", "schema": {"type": "integer"}},
            {"name": "page", "in": "cookie", "schema": {"type": "integer", "nullable": True}},
            {"name": "X-Tag", "in": "header", "schema": {"type": "string"}},
        ],
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}},
    }}},
}


@pytest.mark.parametrize("fast", [True, False])
def test_a_parameter_sent_as_the_text_null_is_handed_on_as_null(tmp_path: t.Any, fast: bool) -> None:
    api = loaded(tmp_path, "nulls", NULLS)
    match, request = routed(api, "/events", "after=null&limit=2", {"X-Since": "null", "X-Tag": "t",
                                                                    "Cookie": "page=null"})
    typed = check_request(match, request, ApiValidators(api), fast=fast).parameters
    assert typed["query"] == {"after": None, "limit": 2}  # the others as sent
    assert typed["header"] == {"X-Since": None, "X-Tag": "t"}
    assert typed["cookie"] == {"page": None}


def test_no_body_where_one_is_required_is_said_so_whatever_the_declared_types(client: t.Any) -> None:
    required = [("body", "", "request body is required")]
    # no Content-Type at all: not the empty text a */* body would take
    assert answered(client.post("/answers/anything", data=b"")) == required
    # a well-formed document in another encoding is taken, whatever its bytes are in UTF-8
    latin = '<?xml version="1.0" encoding="ISO-8859-1"?><a>caf\u00e9</a>'.encode("latin-1")
    assert client.post("/answers/xml", data=latin, content_type="application/xml").status_code == 204
    # zero bytes of XML are no document (zero bytes of text are the empty string)
    assert answered(client.post("/answers/xml", data=b"", content_type="application/xml")) == required


@pytest.mark.parametrize("fast", [True, False])
def test_label_and_matrix_path_segments_are_handed_on_read_by_their_style(fast: bool) -> None:
    from pathlib import Path

    api = load_spec(Path(__file__).parent / "data" / "features" / "styles.yaml")
    match, request = routed(api, "/styled/.blue/;matrix=2.5")
    assert check_request(match, request, ApiValidators(api), fast=fast).parameters["path"] == {
        "label": "blue", "matrix": 2.5}
    client = create_app(Options(specs=[], strict=True), apis=[api]).test_client()
    assert answered(client.get("/styles/styled/.blue/;matrix=two")) == [
        ("path", "matrix", "matrix path parameter has a value that cannot be read: Failed to cast value to number "
                           "type: two")]


def test_a_body_of_a_type_the_operation_does_not_take_is_415_naming_the_ones_it_does(client: t.Any) -> None:
    accepted = "send one of: application/json, application/x-www-form-urlencoded, text/plain"
    refused = client.post("/answers/trees", data=b"a,b", content_type="text/csv")
    assert refused.status_code == 415
    assert refused.json["detail"] == f"Content-Type text/csv is not accepted here; {accepted}"
    unnamed = client.post("/answers/trees", data=b"[]")  # a body with no Content-Type at all
    assert unnamed.status_code == 415
    assert unnamed.json["detail"] == f"Content-Type no Content-Type header is not accepted here; {accepted}"


class _LaterKind(Exception):
    """An error openapi-core 0.23 never reports; a newer release (setup.cfg allows one) might."""


def test_errors_of_a_kind_not_known_yet_are_still_named_where_they_happened() -> None:
    # every branch above is an error openapi-core 0.23 reports; anything else must still come out
    # as a 400 that says what it was and where, not a 500 or an empty answer
    odd = _LaterKind("something\n   new")
    assert _parameter_violations([odd]) == [Violation("parameters", "", "something new")]
    wrapped = ParameterValidationError("count", "query")
    wrapped.__cause__ = odd
    assert _parameter_violations([wrapped]) == [
        Violation("query", "count", "count query parameter is invalid: something new")]
    about_the_body = _LaterKind("request body error")
    about_the_body.__cause__ = odd  # openapi-core chains the reason, as for the errors it reports today
    assert _body_violations(about_the_body) == [Violation("body", "", "request body is invalid: something new")]
    assert _schema_violation("header", odd, prefix="X-Key") == Violation("header", "X-Key", "something new")
    # a media type's error with no parser error behind it: named as unreadable JSON
    unread = MediaTypeDeserializeError("application/json", b"{")
    in_header = ParameterValidationError("meta", "header")
    in_header.__cause__ = unread
    assert _parameter_violations([in_header]) == [
        Violation("header", "meta", "meta header has a value that cannot be read: not valid JSON")]


BODIES = {
    "openapi": "3.0.3", "info": {"title": "Bodies", "version": "1"},
    "paths": {
        "/upload": {"post": {
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "properties": {"note": {"type": "string"}}}}}},
            "responses": {"204": {"description": "taken"}}}},
        "/nothing": {"post": {
            "requestBody": {"content": {}},
            "responses": {"204": {"description": "taken"}}}},
    },
}


def test_an_empty_form_where_one_is_required_is_a_missing_body(tmp_path: t.Any) -> None:
    # zero bytes of multipart are no form at all (zero bytes of a text type would be the empty string)
    client = create_app(Options(specs=[], strict=True), apis=[loaded(tmp_path, "bodies", BODIES)]).test_client()
    empty = client.post("/bodies/upload", input_stream=io.BytesIO(b""),
                        headers={"Content-Type": "multipart/form-data; boundary=x", "Content-Length": "0"})
    assert answered(empty) == [("body", "", "request body is required")]


def test_a_body_sent_where_the_spec_lists_no_media_type_is_415_saying_so(tmp_path: t.Any) -> None:
    client = create_app(Options(specs=[], strict=True), apis=[loaded(tmp_path, "bodies", BODIES)]).test_client()
    refused = client.post("/bodies/nothing", json={"a": 1})
    assert refused.status_code == 415
    assert refused.json["detail"] == "Content-Type application/json is not accepted here; send one of: no body"


class _Exploding:
    """openapi-core failing on odd input, as its releases have (a bug there must not become a 500)."""

    def unmarshal(self, *request_and_response: t.Any) -> t.Any:
        raise ValueError("odd\n   input")  # answers are one line whatever the error's text


def test_parameters_openapi_core_fails_to_read_are_a_400_naming_the_failure(params: ApiSpec) -> None:
    validators = ApiValidators(params)
    validators.unmarshallers.parameters = _Exploding()
    match, request = routed(params, "/things/2026-03-25T10:00:00Z", "limit=1")
    with pytest.raises(InvalidRequest) as refused:
        check_request(match, request, validators, fast=False)
    assert [(v.location, v.field, v.message) for v in refused.value.violations] == [
        ("parameters", "", "parameters could not be read: odd input")]


def test_a_response_openapi_core_fails_to_check_is_named_as_such(params: ApiSpec) -> None:
    validators = ApiValidators(params)
    validators.unmarshallers.response = _Exploding()
    match, request = routed(params, "/things/2026-03-25T10:00:00Z")
    answer = MockResponse(200, [("Content-Type", "application/json")], b"{}")
    assert check_response(match, request, answer, validators, fast=False) == [
        "response could not be checked: odd input"]


class _RefusingValidator:
    def validate(self, value: t.Any) -> None:
        raise ValueError("odd\n  form")


def test_a_form_the_schema_validator_fails_on_is_a_400_naming_the_failure(tmp_path: t.Any) -> None:
    api = loaded(tmp_path, "bodies", BODIES)
    validators = ApiValidators(api)
    failing = JsonCheck(t.cast(t.Any, _RefusingValidator()), None)
    validators.checks.decoded_body_validator = lambda *_: failing  # type: ignore[method-assign]
    environ = EnvironBuilder(api.mount + "/upload", method="POST", data={"note": "hi"},
                             content_type="multipart/form-data").get_environ()
    request = read_request(Request(environ))
    match = Router([api]).match(request.method, request.path)
    assert match is not None
    with pytest.raises(InvalidRequest) as refused:
        check_request(match, request, validators)
    assert [(v.location, v.field, v.message) for v in refused.value.violations] == [
        ("body", "", "form body could not be checked: odd form")]
